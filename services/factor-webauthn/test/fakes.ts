import { BusError, type EventType } from '@warden/contracts'
import { createAttemptGate, createMemoryAttemptLimiter, createMemoryOutcomeLedger, DEFAULT_ATTEMPT_LIMITS, type AttemptLimits, type EventSink } from '@warden/service-kit'
import { manualClock } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import { createRandomIds } from '../src/adapters/random-ids.js'
import { createSimpleWebauthnCeremony } from '../src/adapters/simplewebauthn-ceremony.js'
import type {
  AttestationPolicy, ChallengeSlot, ChallengeStore, CredentialRecord, CredentialStore, PendingChallenge, Revisioned,
  WebauthnServiceDeps, WebauthnSettings,
} from '../src/ports.js'

export type ManualClock = ReturnType<typeof manualClock>

/** Lets parallel callers interleave between a read and a write, as they would over a network. */
const hop = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

/** The in-memory credential store: revisions per key and a global index, with the real one's compare-and-set rules. */
export function memoryCredentialStore () {
  const records = new Map<string, Map<string, Revisioned<CredentialRecord>>>()
  const index = new Map<string, string>()
  const handles = new Map<string, string>()
  let rev = 0
  const of = (userId: string) => {
    let m = records.get(userId)
    if (m === undefined) { m = new Map(); records.set(userId, m) }
    return m
  }
  const store: CredentialStore = {
    userHandle: async (userId) => {
      let h = handles.get(userId)
      if (h === undefined) { h = randomBytes(32).toString('base64url'); handles.set(userId, h) }
      return h
    },
    findUserHandle: async (userId) => handles.get(userId),
    list: async (userId) => [...of(userId).values()],
    get: async (userId, id) => of(userId).get(id),
    add: async (userId, record) => {
      await hop()
      if (index.has(record.id)) return false
      index.set(record.id, userId)
      of(userId).set(record.id, { value: record, revision: ++rev })
      return true
    },
    update: async (userId, record, revision) => {
      await hop()
      const current = of(userId).get(record.id)
      if (current?.revision !== revision) return false
      of(userId).set(record.id, { value: record, revision: ++rev })
      return true
    },
    remove: async (userId, id) => {
      const current = of(userId).get(id)
      if (current === undefined) return undefined
      of(userId).delete(id)
      if (index.get(id) === userId) index.delete(id)
      return current.value
    },
    removeAll: async (userId) => {
      const ids = [...of(userId).keys()]
      for (const id of ids) await store.remove(userId, id)
      handles.delete(userId)
      return ids
    },
  }
  return { store, records, index, handles }
}

const slotKey = (slot: ChallengeSlot): string => slot.kind === 'registration' ? `${slot.userId}/registration` : `${slot.userId}/txn/${slot.flowId}`

/** Challenges in memory: take() is a read-and-delete, like GETDEL. The TTL is recorded, not enforced (the service checks expiresAt). */
export function memoryChallengeStore (): ChallengeStore & { slots: Map<string, { challenge: PendingChallenge, ttlMs: number }> } {
  const slots = new Map<string, { challenge: PendingChallenge, ttlMs: number }>()
  return {
    slots,
    put: async (slot, challenge, ttlMs) => { slots.set(slotKey(slot), { challenge, ttlMs }) },
    take: async (slot) => {
      const v = slots.get(slotKey(slot))
      slots.delete(slotKey(slot))
      return v?.challenge
    },
    forget: async (userId) => { slots.delete(slotKey({ kind: 'registration', userId })) },
  }
}

export const RP_ID = 'localhost'
export const ORIGIN = 'http://localhost:8080'

export interface EmittedEvent { subject: string, body: Record<string, unknown> }

export interface FakeOptions {
  clock?: ManualClock
  limits?: AttemptLimits
  rp?: { rpId: string, origins: string[] }
  userVerification?: 'required' | 'preferred'
  attestation?: AttestationPolicy
  maxCredentials?: number
}

/** Unit-test dependencies: in-memory stores, the real (pure) ceremony and ids, a manual clock. */
export function fakeDeps (opts: FakeOptions = {}) {
  const clock = opts.clock ?? manualClock(new Date('2026-03-01T12:00:00.000Z'))
  const credentials = memoryCredentialStore()
  const challenges = memoryChallengeStore()
  const limits = opts.limits ?? DEFAULT_ATTEMPT_LIMITS
  const limiter = createMemoryAttemptLimiter(clock, limits)
  const events: EmittedEvent[] = []
  const sink: EventSink = {
    emit: async <E extends EventType>(event: E, body: object) => { events.push({ subject: event.subject, body: { ...body } }) },
  }
  const settings: WebauthnSettings = {
    rp: { rpId: opts.rp?.rpId ?? RP_ID, rpName: 'Warden test', origins: opts.rp?.origins ?? [ORIGIN] },
    userVerification: opts.userVerification ?? 'preferred',
    attestation: opts.attestation ?? { conveyance: 'none' },
    challengeTtlMs: 300_000,
    maxCredentials: opts.maxCredentials ?? 10,
  }
  const deps: WebauthnServiceDeps = {
    credentials: credentials.store,
    challenges,
    ceremony: createSimpleWebauthnCeremony(),
    attempts: createAttemptGate({ factor: 'webauthn', limiter, clock, events: sink, suspendedHint: 'register a security key again' }),
    verifyOutcomes: createMemoryOutcomeLedger(),
    clock,
    events: sink,
    ids: createRandomIds(),
    settings,
  }
  return { deps, clock, credentials, challenges, limiter, events }
}

/** A challenge store that is down: it fails closed, as the Redis adapter does. */
export function unavailableChallenges (): ChallengeStore {
  const down = async (): Promise<never> => { throw new BusError('UNAVAILABLE', 'the challenge store is unavailable', { retryAfterSec: 5 }) }
  return { put: down, take: down, forget: down }
}
