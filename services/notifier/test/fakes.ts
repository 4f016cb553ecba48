import { randomBytes } from 'node:crypto'
import { createKeyRing, derivedEventId } from '@warden/service-kit'
import { manualClock } from '@warden/testkit'
import { addressPolicy } from '../src/address-policy.js'
import { createHmacReportLinks } from '../src/adapters/hmac-report-links.js'
import { createKeyRingCipher } from '../src/adapters/key-ring-cipher.js'
import type {
  ActivityStore, ClaimedDelivery, DeliveryFailure, DeliveryFailureLog, NotifierDeps, NotifierSettings, Outbox, OutboxItem,
  SecurityEvent, SendResult, Target, UserMessage, Webhook, WebhookStore,
} from '../src/ports.js'

export type ManualClock = ReturnType<typeof manualClock>

const newerFirst = (a: SecurityEvent, b: SecurityEvent): number =>
  Date.parse(b.occurredAt) - Date.parse(a.occurredAt) || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0)

export function memoryActivityStore (): ActivityStore & { all: SecurityEvent[] } {
  const all: SecurityEvent[] = []
  return {
    all,
    record: async (e) => {
      if (all.some((x) => x.userId === e.userId && x.eventId === e.eventId)) return false
      all.push(e)
      return true
    },
    query: async (q) => all.filter((e) => e.userId === q.userId &&
      (q.types === undefined || q.types.includes(e.type)) &&
      (q.since === undefined || Date.parse(e.occurredAt) >= Date.parse(q.since)) &&
      (q.until === undefined || Date.parse(e.occurredAt) < Date.parse(q.until)) &&
      (q.after === undefined || newerFirst(e, { ...e, ...q.after }) > 0)).sort(newerFirst).slice(0, q.limit),
    prune: async (before) => {
      const kept = all.filter((e) => Date.parse(e.occurredAt) >= before.getTime())
      const gone = all.length - kept.length
      all.splice(0, all.length, ...kept)
      return gone
    },
  }
}

export function memoryWebhookStore (): WebhookStore & { map: Map<string, { value: Webhook, revision: number }> } {
  const map = new Map<string, { value: Webhook, revision: number }>()
  let rev = 0
  return {
    map,
    get: async (id) => map.get(id),
    save: async (w, revision) => {
      await Promise.resolve() // parallel writers interleave, as over a network
      if (map.get(w.id)?.revision !== revision) return false
      map.set(w.id, { value: w, revision: ++rev })
      return true
    },
    delete: async (id) => map.delete(id),
    list: async () => [...map.values()].map((e) => e.value),
  }
}

/** The Redis outbox's rules in memory: FIFO per (target, user), due times, leases, once per event id. */
export function memoryOutbox (): Outbox & { queues: Map<string, OutboxItem[]>, due: Map<Target, Map<string, number>> } {
  const seen = new Set<string>()
  const queues = new Map<string, OutboxItem[]>()
  const due = new Map<Target, Map<string, number>>()
  const qk = (target: Target, userId: string) => `${target}\u0000${userId}`
  const dueOf = (target: Target) => { let d = due.get(target); if (d === undefined) { d = new Map(); due.set(target, d) } return d }
  return {
    queues,
    due,
    enqueue: async (event, targets, now) => {
      if (targets.length === 0 || seen.has(event.eventId)) return false
      seen.add(event.eventId)
      for (const t of targets) {
        const q = queues.get(qk(t, event.userId)) ?? []
        q.push({ event, enqueuedAt: now.toISOString(), attempts: 0 })
        queues.set(qk(t, event.userId), q)
        if (q.length === 1) dueOf(t).set(event.userId, now.getTime())
      }
      return true
    },
    targets: async () => [...due.entries()].filter(([, d]) => d.size > 0).map(([t]) => t),
    claim: async (target, now, max, leaseUntil) => {
      const out: ClaimedDelivery[] = []
      const entries = [...dueOf(target).entries()].filter(([, at]) => at <= now.getTime()).sort((a, b) => a[1] - b[1])
      for (const [userId] of entries.slice(0, max)) {
        const head = queues.get(qk(target, userId))?.[0]
        if (head === undefined) { dueOf(target).delete(userId); continue }
        dueOf(target).set(userId, leaseUntil.getTime())
        out.push({ target, userId, item: head })
      }
      return out
    },
    complete: async (d, now) => {
      const q = queues.get(qk(d.target, d.userId)) ?? []
      if (q[0]?.event.eventId === d.item.event.eventId) q.shift()
      if (q.length > 0) dueOf(d.target).set(d.userId, now.getTime())
      else dueOf(d.target).delete(d.userId)
    },
    retry: async (d, item, retryAt) => {
      const q = queues.get(qk(d.target, d.userId)) ?? []
      if (q[0]?.event.eventId === d.item.event.eventId) q[0] = item
      if (q.length > 0) dueOf(d.target).set(d.userId, retryAt.getTime())
    },
    purge: async (target) => {
      for (const userId of dueOf(target).keys()) queues.delete(qk(target, userId))
      due.delete(target)
    },
  }
}

export function memoryFailureLog (): DeliveryFailureLog & { all: DeliveryFailure[] } {
  const all: DeliveryFailure[] = []
  return {
    all,
    record: async (f) => { all.push(f) },
    list: async (target, limit) => all.filter((f) => f.target === target).reverse().slice(0, limit),
  }
}

export interface SentWebhook { url: string, headers: Record<string, string>, body: string }

/** A sender that records what it was asked to post and answers what the test says. */
export function recordingSender (answer: (req: SentWebhook) => SendResult | Promise<SendResult> = () => ({ ok: true, status: 200 })) {
  const sent: SentWebhook[] = []
  return {
    sent,
    sender: { post: async (req: SentWebhook) => { sent.push({ ...req, headers: { ...req.headers } }); return answer(req) } },
  }
}

/** The user-notification port's recording fake: how many push devices and phones each user has. */
export function recordingNotifier (opts: { devices?: Record<string, number>, phones?: Record<string, number>, fail?: () => boolean } = {}) {
  const sent: Array<{ channel: 'push' | 'sms', message: UserMessage }> = []
  const send = (channel: 'push' | 'sms', table: Record<string, number> | undefined) => async (message: UserMessage): Promise<number> => {
    if (opts.fail?.() === true) throw new Error('provider down')
    const n = table?.[message.userId] ?? 0
    if (n > 0) sent.push({ channel, message })
    return n
  }
  return { sent, notifier: { push: send('push', opts.devices), sms: send('sms', opts.phones) } }
}

export const DEFAULT_SETTINGS: NotifierSettings = {
  addressPolicy: addressPolicy({ demoMode: false }),
  retryBaseDelayMs: 5_000,
  retryFactor: 4,
  retryMaxDelayMs: 4 * 3600_000,
  retryForMs: 26 * 3600_000,
  secretOverlapMs: 24 * 3600_000,
  reportLinkTtlMs: 7 * 86_400_000,
  activityRetentionMs: 400 * 86_400_000,
}

/** Unit-test dependencies: in-memory ports, the real (pure) cipher, links and signer, a manual clock. */
export function fakeDeps (opts: { clock?: ManualClock, settings?: Partial<NotifierSettings>, notifier?: ReturnType<typeof recordingNotifier>, answer?: Parameters<typeof recordingSender>[0] } = {}) {
  const clock = opts.clock ?? manualClock(new Date('2026-03-01T12:00:00.000Z'))
  const activity = memoryActivityStore()
  const webhooks = memoryWebhookStore()
  const outbox = memoryOutbox()
  const failures = memoryFailureLog()
  const http = recordingSender(opts.answer)
  const users = opts.notifier ?? recordingNotifier()
  const reports: Array<{ eventId: string, userId: string, reportedEventId: string }> = []
  const links = createHmacReportLinks({ key: randomBytes(32), baseUrl: 'https://warden.example/' })
  const deps: NotifierDeps = {
    activity, webhooks, outbox, failures,
    sender: http.sender,
    notifier: users.notifier,
    links,
    events: { reported: async (b) => { reports.push({ ...b, eventId: derivedEventId(`reported:${b.reportedEventId}`) }) } },
    cipher: createKeyRingCipher(createKeyRing(new Map([['k1', randomBytes(32)]]), 'k1')),
    clock,
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    settings: { ...DEFAULT_SETTINGS, ...opts.settings },
  }
  return { deps, clock, activity, webhooks, outbox, failures, http, users, reports, links }
}

let counter = 0
/** A fresh, valid event id. */
export function eventId (): string {
  return `evt_${String(++counter).padStart(6, '0')}${randomBytes(8).toString('hex')}`
}
