import { randomBytes } from 'node:crypto'
import type { EventType } from '@warden/contracts'
import { createAttemptGate, createKeyRing, createMemoryAttemptLimiter, createMemoryOutcomeLedger, DEFAULT_ATTEMPT_LIMITS, type AttemptLimits, type EventSink } from '@warden/service-kit'
import { manualClock } from '@warden/testkit'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { createJoseDeviceTokens } from '../src/adapters/jose-device-tokens.js'
import { createKeyRingTokenCipher } from '../src/adapters/key-ring-token-cipher.js'
import { DEFAULT_FATIGUE_LIMITS, type FatigueLimits } from '../src/adapters/redis-fatigue-breaker.js'
import { contextHash } from '../src/context-hash.js'
import { DEVICE_JWT_TYPE } from '../src/device-requests.js'
import type { PendingChallengeView } from '../src/messages.js'
import type {
  AdmitResult, ChallengeRecord, ChallengeState, ChallengeStore, Clock, Device, DeviceStore, FatigueBreaker, PairingCodes,
  PairingGrant, PushServiceDeps, ReplayLedger, SendResult,
} from '../src/ports.js'

export type ManualClock = ReturnType<typeof manualClock>

/** Lets parallel callers interleave, as they would over a network. */
const tick = async (): Promise<void> => { await Promise.resolve() }

export function memoryDeviceStore () {
  const devices = new Map<string, Device>() // by deviceId
  const store: DeviceStore = {
    list: async (userId) => [...devices.values()].filter((d) => d.userId === userId),
    get: async (userId, deviceId) => { const d = devices.get(deviceId); return d?.userId === userId ? d : undefined },
    findOwner: async (deviceId) => devices.get(deviceId)?.userId,
    create: async (d) => { devices.set(d.deviceId, d) },
    update: async (userId, deviceId, change) => {
      const d = devices.get(deviceId)
      if (d?.userId !== userId) return undefined
      const next = change(d)
      devices.set(deviceId, next)
      return next
    },
    remove: async (userId, deviceId) => {
      const d = devices.get(deviceId)
      if (d?.userId !== userId) return undefined
      devices.delete(deviceId)
      return d
    },
    removeAll: async (userId) => {
      const gone = [...devices.values()].filter((d) => d.userId === userId)
      for (const d of gone) devices.delete(d.deviceId)
      return gone
    },
  }
  return { store, devices }
}

export function memoryPairingCodes (): PairingCodes & { codes: Map<string, PairingGrant> } {
  const codes = new Map<string, PairingGrant>()
  return {
    codes,
    put: async (hash, grant) => { codes.set(hash, grant) },
    peek: async (hash) => codes.get(hash),
    take: async (hash) => {
      await tick()
      const g = codes.get(hash)
      codes.delete(hash)
      return g
    },
    revokeAll: async (userId) => { for (const [h, g] of codes) if (g.userId === userId) codes.delete(h) },
  }
}

export function memoryChallengeStore (): ChallengeStore & { records: Map<string, ChallengeRecord> } {
  const records = new Map<string, ChallengeRecord>()
  return {
    records,
    create: async (challenge) => { records.set(challenge.challengeId, { challenge, state: 'pending' }) },
    get: async (id) => records.get(id),
    listOpen: async (userId, now) => [...records.values()].filter((r) => r.challenge.userId === userId && Date.parse(r.challenge.expiresAt) > now.getTime()),
    transition: async (id, from: ChallengeState, to: ChallengeState, by) => {
      await tick()
      const r = records.get(id)
      if (r?.state !== from) return false
      records.set(id, { ...r, state: to, ...(by === undefined ? {} : { decidedBy: by.deviceId, ...(by.notMe === true ? { notMe: true } : {}) }) })
      return true
    },
  }
}

/** The Redis breaker's rules in memory, on the injected clock (test/fatigue-rules.ts runs both). */
export function memoryFatigueBreaker (clock: Clock, limits: FatigueLimits = DEFAULT_FATIGUE_LIMITS): FatigueBreaker {
  const open = new Map<string, { challengeId: string, flowId: string, expiresAt: number }>()
  const starts = new Map<string, Array<{ id: string, at: number }>>()
  const denials = new Map<string, number[]>()
  const paused = new Map<string, number>()
  const now = (): number => clock.now().getTime()
  return {
    admit: async (userId, push): Promise<AdmitResult> => {
      const p = paused.get(userId) ?? 0
      if (p > now()) return { admitted: false, reason: 'paused', until: new Date(p) }
      const o = open.get(userId)
      if (o !== undefined && o.expiresAt > now()) return { admitted: false, reason: 'open', challengeId: o.challengeId, flowId: o.flowId, until: new Date(o.expiresAt) }
      const s = (starts.get(userId) ?? []).filter((x) => x.at > now() - limits.windowMs)
      starts.set(userId, s)
      if (s.length >= limits.maxPerWindow) return { admitted: false, reason: 'too_many', retryAt: new Date((s[0]?.at ?? 0) + limits.windowMs) }
      s.push({ id: push.challengeId, at: now() })
      open.set(userId, { challengeId: push.challengeId, flowId: push.flowId, expiresAt: push.expiresAt.getTime() })
      return { admitted: true }
    },
    close: async (userId, challengeId) => { if (open.get(userId)?.challengeId === challengeId) open.delete(userId) },
    cancel: async (userId, challengeId) => {
      if (open.get(userId)?.challengeId === challengeId) open.delete(userId)
      starts.set(userId, (starts.get(userId) ?? []).filter((x) => x.id !== challengeId))
    },
    recordDenial: async (userId, _challengeId, weight) => {
      const d = (denials.get(userId) ?? []).filter((at) => at > now() - limits.denialWindowMs)
      for (let i = 0; i < weight; i++) d.push(now())
      denials.set(userId, d)
      if (d.length >= limits.denialsToPause) {
        paused.set(userId, now() + limits.pauseMs)
        denials.delete(userId)
        return { pausedUntil: new Date(now() + limits.pauseMs) }
      }
      return {}
    },
    pausedUntil: async (userId) => { const p = paused.get(userId) ?? 0; return p > now() ? new Date(p) : undefined },
    clear: async (userId) => { open.delete(userId); starts.delete(userId); denials.delete(userId); paused.delete(userId) },
  }
}

export function memoryReplayLedger (): ReplayLedger & { seen: Set<string> } {
  const seen = new Set<string>()
  return {
    seen,
    claim: async (scope, jti) => {
      const k = `${scope}/${jti}`
      if (seen.has(k)) return false
      seen.add(k)
      return true
    },
  }
}

export interface SentMessage { token: string, data: Record<string, string>, expiresAt: Date, ttlMs: number }

/** An FCM stand-in: records what was sent; answers `results` per token (sent by default). */
export function recordingSender () {
  const sent: SentMessage[] = []
  const results = new Map<string, SendResult>()
  return {
    sent,
    results,
    sender: {
      send: async (msg: SentMessage) => { sent.push({ ...msg, data: { ...msg.data } }); return results.get(msg.token) ?? { status: 'sent' as const } },
    },
  }
}

export interface EmittedEvent { subject: string, body: Record<string, unknown> }

let counter = 0
const seq = (prefix: string): string => `${prefix}_${String(++counter).padStart(16, '0')}${randomBytes(3).toString('hex')}`

export interface FakeOptions {
  clock?: ManualClock
  limits?: AttemptLimits
  fatigue?: FatigueLimits
  /** Without FCM: the apps poll. */
  noSender?: boolean
}

/** Unit-test dependencies: in-memory ports, the real jose verifier and cipher, a manual clock. */
export function fakeDeps (opts: FakeOptions = {}) {
  const clock = opts.clock ?? manualClock(new Date('2026-03-01T12:00:00.000Z'))
  const devices = memoryDeviceStore()
  const pairing = memoryPairingCodes()
  const challenges = memoryChallengeStore()
  const limiter = createMemoryAttemptLimiter(clock, opts.limits ?? DEFAULT_ATTEMPT_LIMITS)
  const replay = memoryReplayLedger()
  const fcm = recordingSender()
  const events: EmittedEvent[] = []
  const sink: EventSink = { emit: async <E extends EventType>(event: E, body: object) => { events.push({ subject: event.subject, body: { ...body } }) } }
  const numbers: number[] = []
  const deps: PushServiceDeps = {
    devices: devices.store,
    pairing,
    challenges,
    fatigue: memoryFatigueBreaker(clock, opts.fatigue),
    gate: createAttemptGate({ factor: 'push', limiter, clock, events: sink }),
    replay,
    tokens: createJoseDeviceTokens({ clock }),
    ...(opts.noSender === true ? {} : { sender: fcm.sender }),
    cipher: createKeyRingTokenCipher(createKeyRing(new Map([['t1', randomBytes(32)]]), 't1')),
    random: {
      deviceId: () => seq('dev'),
      challengeId: () => seq('pch'),
      pairingCode: () => randomBytes(16).toString('base64url'),
      nonce: () => randomBytes(16).toString('base64url'),
      number: () => numbers.shift() ?? 42,
    },
    notices: createMemoryOutcomeLedger(),
    events: sink,
    clock,
    pause: async (ms) => { clock.advance(ms) },
    settings: {
      challengeTtlMs: 120_000,
      challengeRetainMs: 600_000,
      pairingTtlMs: 600_000,
      maxDevices: 10,
      maxTokenSkewMs: 60_000,
      notMeWeight: 2,
      pollIntervalMs: 250,
    },
  }
  return { deps, clock, devices, pairing, challenges, limiter, replay, fcm, events, numbers }
}

/** An authenticator app in a test: a P-256 key, and the device-signed requests it makes. */
export class TestDevice {
  deviceId = ''
  private constructor (readonly privateKey: CryptoKey, readonly publicJwk: JWK, private readonly clock: Clock) {}

  static async create (clock: Clock): Promise<TestDevice> {
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    return new TestDevice(privateKey, await exportJWK(publicKey), clock)
  }

  /** A device JWT with `claims`, signed now (or `iatOffsetSec` away), with a fresh jti unless given. */
  async sign (claims: Record<string, unknown>, opts: { key?: CryptoKey, header?: Record<string, unknown>, iatOffsetSec?: number, jti?: string, alg?: string } = {}): Promise<string> {
    const iat = Math.floor(this.clock.now().getTime() / 1000) + (opts.iatOffsetSec ?? 0)
    return new SignJWT({ iat, jti: opts.jti ?? randomBytes(16).toString('base64url'), ...claims })
      .setProtectedHeader({ alg: opts.alg ?? 'ES256', typ: DEVICE_JWT_TYPE, ...opts.header })
      .sign(opts.key ?? this.privateKey)
  }

  pairJwt (pairingCode: string, extra: Record<string, unknown> = {}, opts: Parameters<TestDevice['sign']>[1] = {}): Promise<string> {
    return this.sign({ req: 'pair', pairingCode, name: 'Test phone', platform: 'android', ...extra }, { ...opts, header: { jwk: this.publicJwk, ...opts.header } })
  }

  challengesJwt (opts: Parameters<TestDevice['sign']>[1] = {}): Promise<string> {
    return this.sign({ req: 'challenges', sub: this.deviceId }, opts)
  }

  /** An answer over what the app displayed (`shown`), as a real app computes it. */
  answerJwt (shown: PendingChallengeView, answer: { decision: 'approve' | 'deny', number?: number, notMe?: boolean }, opts: Parameters<TestDevice['sign']>[1] = {}): Promise<string> {
    const hash = contextHash({ challengeId: shown.challengeId, createdAt: shown.createdAt, ...shown.context })
    return this.sign({ req: 'answer', sub: this.deviceId, challengeId: shown.challengeId, nonce: shown.nonce, contextHash: hash, ...answer }, opts)
  }
}
