import type { Clock } from '@warden/service-kit'
import type { ClaimedDelivery, Outbox, Target } from './ports.js'

export interface DispatcherSettings {
  /** Deliveries in flight per target: a slow endpoint holds at most this many, and only its own. */
  readonly concurrencyPerTarget: number
  /** How long a claimed head stays leased: longer than one attempt can take. */
  readonly leaseMs: number
}

export interface Dispatcher {
  /** Claims every due head (within the limits), attempts them all, and waits for them. The number attempted. */
  runOnce: () => Promise<number>
  /** runOnce until nothing is due: for tests, and to drain before a clean stop. */
  runUntilIdle: () => Promise<number>
  /** Polls every `intervalMs` without waiting for slow attempts. */
  start: (intervalMs: number) => void
  /** Stops polling and waits for the attempts in flight. */
  stop: () => Promise<void>
}

/**
 * Moves queued deliveries out. Each (target, user) queue has one head in flight at a time
 * (the outbox leases it), so order per user holds; each target has its own concurrency budget,
 * so a receiver that hangs until the timeout delays only its own deliveries. `deliver` decides
 * what happens to an attempt (service.ts); this only schedules.
 */
export function createDispatcher (deps: {
  outbox: Outbox
  deliver: (d: ClaimedDelivery) => Promise<unknown>
  clock: Clock
  settings: DispatcherSettings
  onError: (err: unknown, target?: Target) => void
}): Dispatcher {
  const inFlight = new Map<Target, number>()
  const running = new Set<Promise<void>>()
  let timer: NodeJS.Timeout | undefined
  let stopped = true

  function track (target: Target, d: ClaimedDelivery): Promise<void> {
    inFlight.set(target, (inFlight.get(target) ?? 0) + 1)
    const p = deps.deliver(d).then(() => undefined, (err: unknown) => { deps.onError(err, target) }).finally(() => {
      inFlight.set(target, (inFlight.get(target) ?? 1) - 1)
      running.delete(p)
    })
    running.add(p)
    return p
  }

  /** Claims and starts what is due; the promises of the attempts started. */
  async function tick (): Promise<Array<Promise<void>>> {
    const started: Array<Promise<void>> = []
    const now = deps.clock.now()
    for (const target of await deps.outbox.targets()) {
      const room = deps.settings.concurrencyPerTarget - (inFlight.get(target) ?? 0)
      if (room < 1) continue
      try {
        const claimed = await deps.outbox.claim(target, now, room, new Date(now.getTime() + deps.settings.leaseMs))
        for (const d of claimed) started.push(track(target, d))
      } catch (err) {
        deps.onError(err, target)
      }
    }
    return started
  }

  const runOnce = async (): Promise<number> => {
    const started = await tick()
    await Promise.all(started)
    return started.length
  }

  const loop = (intervalMs: number): void => {
    timer = setTimeout(() => {
      tick().catch((err: unknown) => { deps.onError(err) }).finally(() => { if (!stopped) loop(intervalMs) })
    }, intervalMs)
    timer.unref()
  }

  return {
    runOnce,
    runUntilIdle: async () => {
      let total = 0
      for (let n = await runOnce(); n > 0; n = await runOnce()) total += n
      return total
    },
    start: (intervalMs) => {
      if (!stopped) return
      stopped = false
      loop(intervalMs)
    },
    stop: async () => {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      await Promise.all([...running])
    },
  }
}
