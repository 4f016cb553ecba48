import { BusError, type EventType } from '@warden/contracts'
import {
  createAttemptGate, createKeyRing, createMemoryAttemptLimiter, createMemoryOutcomeLedger, DEFAULT_ATTEMPT_LIMITS, throttleMs, type AttemptLimits,
} from '@warden/service-kit'
import { manualClock } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import { createArgon2CodeHasher } from '../src/adapters/argon2-code-hasher.js'
import { createKeyRingCodeSealer } from '../src/adapters/key-ring-code-sealer.js'
import { createRandomCodeSource } from '../src/adapters/random-code-source.js'
import { createRandomIds } from '../src/adapters/random-ids.js'
import type { RecordedVerify, RecoveryRecord, RecoveryServiceDeps, RecoveryStore, Revisioned } from '../src/ports.js'

export type ManualClock = ReturnType<typeof manualClock>

/** Argon2id at its cheapest: the real algorithm and comparison, fast enough for a hundred failures. */
export const CHEAP_ARGON2 = { memoryKib: 64, timeCost: 1, parallelism: 1 } as const

/** The in-memory store: a revision per entry, compare-and-set like the real one, yielding like a network call. */
export function memoryRecoveryStore () {
  const entries = new Map<string, Revisioned<RecoveryRecord>>()
  let rev = 0
  const store: RecoveryStore = {
    get: async (userId) => {
      await Promise.resolve()
      const e = entries.get(userId)
      return e === undefined ? undefined : structuredClone(e)
    },
    save: async (userId, record, revision) => {
      await Promise.resolve() // let parallel callers interleave, as over a network
      if (entries.get(userId)?.revision !== revision) return false
      entries.set(userId, { value: structuredClone(record), revision: ++rev })
      return true
    },
    removeAll: async (userId) => entries.delete(userId),
  }
  return { store, entries }
}

export interface EmittedEvent { subject: string, body: Record<string, unknown> }

/** Unit-test dependencies: in-memory ports, the real hasher (cheap parameters), code source and sealer, a manual clock. */
export function fakeDeps (opts: { clock?: ManualClock, limits?: AttemptLimits } = {}) {
  const clock = opts.clock ?? manualClock(new Date('2026-03-01T12:00:00.000Z'))
  const store = memoryRecoveryStore()
  const limits = opts.limits ?? DEFAULT_ATTEMPT_LIMITS
  const limiter = createMemoryAttemptLimiter(clock, limits)
  const verifyOutcomes = createMemoryOutcomeLedger<RecordedVerify>()
  const events: EmittedEvent[] = []
  const sink = {
    emit: async <E extends EventType>(event: E, body: object) => { events.push({ subject: event.subject, body: { ...body } }) },
  }
  const deps: RecoveryServiceDeps = {
    store: store.store,
    hasher: createArgon2CodeHasher(CHEAP_ARGON2),
    codes: createRandomCodeSource(),
    sealer: createKeyRingCodeSealer(createKeyRing(new Map([['t1', randomBytes(32)]]), 't1')),
    gate: createAttemptGate({ factor: 'recovery', limiter, clock, events: sink, suspendedHint: 'code recovery is off until customer support acts' }),
    verifyOutcomes,
    clock,
    events: sink,
    ids: createRandomIds(),
    settings: { retryWindowMs: 5 * 60_000, supportCodeTtlMs: 3_600_000, supportCodeMaxTtlMs: 86_400_000 },
  }
  return { deps, clock, store, limiter, verifyOutcomes, events, limits }
}

export type Fakes = ReturnType<typeof fakeDeps>

/** A store that is down: it fails closed, as the KV adapter does. */
export function unavailableStore (): RecoveryStore {
  const down = async (): Promise<never> => { throw new BusError('UNAVAILABLE', 'the emergency-code store is unavailable', { retryAfterSec: 5 }) }
  return { get: down, save: down, removeAll: down }
}

/** Moves the clock past whatever the user's failures so far impose: the throttle's wait, or a running lock. */
export function waitOut (f: Fakes, userId: string): void {
  const s = f.limiter.state.get(userId)
  if (s === undefined) return
  const now = f.clock.now().getTime()
  if (s.lockedUntil > now) f.clock.advance(s.lockedUntil - now)
  else f.clock.advance(throttleMs(s.count, f.limits))
}

/** A well-formed code that is not the user's (80 random bits: a collision is not a concern). */
export function someOtherCode (): string {
  return createRandomCodeSource().newCode()
}

/** Every string the store, the ledger and the events hold, for "no plaintext anywhere" checks. */
export function everythingKept (f: Fakes): string {
  return JSON.stringify([[...f.store.entries.values()], [...f.verifyOutcomes.entries.values()], f.events])
}
