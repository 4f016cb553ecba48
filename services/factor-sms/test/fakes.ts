import { BusError, type EventType } from '@warden/contracts'
import { createAttemptGate, createKeyRing, createMemoryAttemptLimiter, createMemoryOutcomeLedger, DEFAULT_ATTEMPT_LIMITS, type AttemptLimits } from '@warden/service-kit'
import { manualClock } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import { createCryptoRandomness } from '../src/adapters/crypto-randomness.js'
import { createHmacDigests } from '../src/adapters/hmac-digests.js'
import { createKeyRingPhoneCipher } from '../src/adapters/key-ring-phone-cipher.js'
import { createLibphonenumberPhoneNumbers } from '../src/adapters/libphonenumber-phone-numbers.js'
import { DEFAULT_CONVERSION_LIMITS, type ConversionLimits } from '../src/adapters/redis-conversion-breaker.js'
import { DEFAULT_SEND_LIMITS, type SendLimits } from '../src/adapters/redis-send-budget.js'
import type {
  Challenge, ChallengeKey, ChallengeStore, ConversionBreaker, OutgoingSms, PhoneBook, PhoneStore,
  Reservation, SendBudget, SmsSender, SmsServiceDeps, SmsSettings,
} from '../src/ports.js'

export type ManualClock = ReturnType<typeof manualClock>

/** The in-memory phone store: a revision per user, compare-and-set like the real one. */
export function memoryPhoneStore () {
  const books = new Map<string, { value: PhoneBook, revision: number }>()
  let rev = 0
  const store: PhoneStore = {
    get: async (userId) => books.get(userId),
    save: async (userId, book, revision) => {
      await Promise.resolve() // let parallel callers interleave, as over a network
      if (books.get(userId)?.revision !== revision) return false
      books.set(userId, { value: { phones: [...book.phones] }, revision: ++rev })
      return true
    },
    removeAll: async (userId) => { books.delete(userId) },
  }
  return { store, books }
}

/** The Redis challenge store's rules, in memory. */
export function memoryChallengeStore (): ChallengeStore & { all: Map<string, Challenge> } {
  const all = new Map<string, Challenge>()
  const k = (key: ChallengeKey) => `${key.userId}/${key.scope}/${key.id}`
  return {
    all,
    get: async (key) => all.get(k(key)),
    issue: async (key, next, expectSendNo) => {
      if ((all.get(k(key))?.sendNo ?? 0) !== expectSendNo) return false
      all.set(k(key), { ...next })
      return true
    },
    attempt: async (key, maxTries, now) => {
      const c = all.get(k(key))
      if (c === undefined) return { state: 'none' }
      if (c.expiresAt <= now) return { state: 'expired' }
      if (c.tries >= maxTries) return { state: 'burned' }
      const counted = { ...c, tries: c.tries + 1 }
      all.set(k(key), counted)
      return { state: 'counted', challenge: counted }
    },
    consume: async (key, challengeId, sendNo) => {
      const c = all.get(k(key))
      if (c?.challengeId !== challengeId || c.sendNo !== sendNo) return false
      all.delete(k(key))
      return true
    },
    drop: async (key) => { all.delete(k(key)) },
  }
}

/** The Redis budgets' rules (sliding windows, global breaker), in memory. */
export function memorySendBudget (limits: SendLimits = DEFAULT_SEND_LIMITS): SendBudget & { windows: Map<string, Array<{ at: number, id: string }>> } {
  const windows = new Map<string, Array<{ at: number, id: string }>>()
  let globalOpenUntil = 0
  const take = (key: string, now: number, windowMs: number, limit: number, id: string): number | undefined => {
    const live = (windows.get(key) ?? []).filter((e) => e.at > now - windowMs)
    windows.set(key, live)
    if (live.length >= limit) return (live[live.length - limit] as { at: number }).at + windowMs
    live.push({ at: now, id })
    return undefined
  }
  const keys = (r: Reservation) => [
    { budget: 'account' as const, key: `account/${r.userId}`, windowMs: 24 * 3600_000, limit: limits.accountPerDay },
    { budget: 'phone' as const, key: `number/${r.numberHash}`, windowMs: 3600_000, limit: limits.numberPerHour },
    ...(r.ip === undefined ? [] : [{ budget: 'ip' as const, key: `ip/${r.ip}`, windowMs: 3600_000, limit: limits.ipPerHour }]),
  ]
  const release = (r: Reservation): void => {
    for (const key of ['global', ...keys(r).map((w) => w.key)]) windows.set(key, (windows.get(key) ?? []).filter((e) => e.id !== r.sendId))
  }
  return {
    windows,
    reserve: async (r, now) => {
      if (globalOpenUntil > now) return { ok: false, budget: 'global', retryAt: globalOpenUntil }
      if (take('global', now, 3600_000, limits.globalPerHour, r.sendId) !== undefined) {
        globalOpenUntil = now + limits.globalPauseMs
        return { ok: false, budget: 'global', retryAt: globalOpenUntil, opened: true }
      }
      for (const w of keys(r)) {
        const retryAt = take(w.key, now, w.windowMs, w.limit, r.sendId)
        if (retryAt !== undefined) { release(r); return { ok: false, budget: w.budget, retryAt } }
      }
      return { ok: true }
    },
    release: async (r) => { release(r) },
  }
}

/** The Redis conversion breaker's rules, in memory. */
export function memoryConversionBreaker (limits: ConversionLimits = DEFAULT_CONVERSION_LIMITS): ConversionBreaker {
  const sent = new Map<string, Map<string, number>>()
  const verified = new Map<string, Map<string, number>>()
  const openUntil = new Map<string, number>()
  const of = (m: Map<string, Map<string, number>>, cc: string) => { let s = m.get(cc); if (s === undefined) { s = new Map(); m.set(cc, s) } return s }
  const count = (s: Map<string, number>, from: number, to: number) => [...s.values()].filter((at) => at >= from && at <= to).length
  return {
    check: async (cc, now) => {
      const until = openUntil.get(cc) ?? 0
      if (until > now) return { open: true, until }
      const from = now - limits.windowMs
      const to = now - limits.graceMs
      const s = count(of(sent, cc), from, to)
      if (s < limits.minSent) return { open: false }
      const v = count(of(verified, cc), from, to)
      if (v >= s * limits.minRatio) return { open: false }
      openUntil.set(cc, now + limits.pauseMs)
      return { open: true, until: now + limits.pauseMs, opened: { sent: s, verified: v } }
    },
    recordSent: async (cc, id, at) => { of(sent, cc).set(id, at) },
    recordVerified: async (cc, id, at) => { of(verified, cc).set(id, at) },
  }
}

/** Records every SMS; `failWith` makes the next sends fail like the Vonage adapter does. */
export function recordingSender (): SmsSender & { sent: OutgoingSms[], failWith: (err: BusError | undefined) => void } {
  const sent: OutgoingSms[] = []
  let failure: BusError | undefined
  return {
    sent,
    failWith: (err) => { failure = err },
    send: async (sms) => {
      if (failure !== undefined) throw failure
      sent.push(sms)
      return { messageId: `msg-${sent.length}` }
    },
  }
}

export interface EmittedEvent { subject: string, body: Record<string, unknown> }

/** The code and the reference written in an SMS text. */
export function codeOf (sms: OutgoingSms | undefined): string {
  const m = /#(\d{6})$/.exec(sms?.text ?? '')
  if (m === null) throw new Error('no code in the SMS')
  return m[1] as string
}

/** A six-digit code other than `code`. */
export function wrongCode (code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0')
}

export const DEFAULT_SETTINGS: SmsSettings = {
  appName: 'Warden',
  originHost: 'warden.example',
  defaultLocale: 'en',
  codeTtlMs: 300_000,
  maxTries: 5,
  resendCooldownMs: 30_000,
  maxSends: 3,
  maxPhones: 3,
  phoneVerifyTtlMs: 900_000,
  allowedRegions: new Set(['NO', 'SE', 'GB', 'US', 'DE', 'FR', 'CH', 'ES', 'DK']),
}

/** Unit-test dependencies: in-memory ports, the real pure adapters, a manual clock. */
export function fakeDeps (opts: {
  clock?: ManualClock, settings?: Partial<SmsSettings>, sendLimits?: Partial<SendLimits>,
  conversionLimits?: Partial<ConversionLimits>, attemptLimits?: AttemptLimits,
} = {}) {
  const clock = opts.clock ?? manualClock(new Date('2026-03-01T12:00:00.000Z'))
  const phones = memoryPhoneStore()
  const challenges = memoryChallengeStore()
  const budget = memorySendBudget({ ...DEFAULT_SEND_LIMITS, ...opts.sendLimits })
  const conversion = memoryConversionBreaker({ ...DEFAULT_CONVERSION_LIMITS, ...opts.conversionLimits })
  const sender = recordingSender()
  const limits = opts.attemptLimits ?? DEFAULT_ATTEMPT_LIMITS
  const limiter = createMemoryAttemptLimiter(clock, limits)
  const confirmLimiter = createMemoryAttemptLimiter(clock, limits)
  const events: EmittedEvent[] = []
  const metrics = new Map<string, number>()
  const random = createCryptoRandomness()
  const eventSink = {
    emit: async <E extends EventType>(event: E, body: object) => { events.push({ subject: event.subject, body: { ...body } }) },
  }
  const deps: SmsServiceDeps = {
    phones: phones.store,
    numbers: createLibphonenumberPhoneNumbers(),
    cipher: createKeyRingPhoneCipher(createKeyRing(new Map([['t1', randomBytes(32)]]), 't1')),
    digests: createHmacDigests(randomBytes(32)),
    challenges,
    budget,
    conversion,
    sender,
    gate: createAttemptGate({ factor: 'sms', limiter, clock, events: eventSink, suspendedHint: 'add your phone again' }),
    confirmGate: createAttemptGate({ factor: 'sms', limiter: confirmLimiter, clock }),
    deliveries: createMemoryOutcomeLedger(),
    noticeOutcomes: createMemoryOutcomeLedger(),
    startOutcomes: createMemoryOutcomeLedger(),
    addOutcomes: createMemoryOutcomeLedger(),
    verifyOutcomes: createMemoryOutcomeLedger(),
    confirmOutcomes: createMemoryOutcomeLedger(),
    random,
    clock,
    events: eventSink,
    metrics: { inc: (name, labels = {}, by = 1) => { const k = `${name}${JSON.stringify(labels)}`; metrics.set(k, (metrics.get(k) ?? 0) + by) } },
    settings: { ...DEFAULT_SETTINGS, ...opts.settings },
  }
  /** The breaker announcements among the events. */
  const alerts = (): Array<Record<string, unknown>> => events.filter((e) => e.subject === 'warden.events.v1.smsbreaker.opened').map((e) => e.body)
  return { deps, clock, phones, challenges, budget, sender, limiter, confirmLimiter, events, alerts, metrics }
}

/** A challenge store that is down: it fails closed, as the Redis adapter does. */
export function unavailableChallenges (): ChallengeStore {
  const down = async (): Promise<never> => { throw new BusError('UNAVAILABLE', 'the challenge store is unavailable', { retryAfterSec: 5 }) }
  return { get: down, issue: down, attempt: down, consume: down, drop: down }
}
