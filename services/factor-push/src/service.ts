import { createHash, timingSafeEqual } from 'node:crypto'
import { BusError, factorEnrolled, factorRemoved, pushDenied, pushPaused, type EventContext } from '@warden/contracts'
import { once } from '@warden/service-kit'
import { contextHash, displayText } from './context-hash.js'
import { isAnswerClaims, isChallengesClaims, isPairClaims, type AnswerClaims } from './device-requests.js'
import type {
  AnswerChallengeRequest, AnswerChallengeResponse, CreatePairingRequest, CreatePairingResponse, DescribePushResponse,
  DeviceChallengesRequest, DeviceChallengesResponse, DeviceRequest, DeviceView, ListDevicesResponse, PushStatusRequest,
  NotifyUserRequest, NotifyUserResponse, PushStatusResponse, RegisterDeviceRequest, RegisterDeviceResponse, RemoveResponse, RenameDeviceRequest,
  StartPushRequest, StartPushResponse,
} from './messages.js'
import type { ChallengeRecord, Device, PushChallenge, PushServiceDeps, VerifiedDeviceToken } from './ports.js'

// Date.toISOString() leaves the RFC 3339 range beyond year 9999 (the limiter's "suspended" lock).
const MAX_TIMESTAMP_MS = Date.parse('9999-12-31T23:59:59.999Z')
const iso = (d: Date): string => d.getTime() > MAX_TIMESTAMP_MS ? '9999-12-31T23:59:59.999Z' : d.toISOString()
const secondsUntil = (until: Date, now: Date): number => Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000))

/** Pairing codes are found by this hash; 128 random bits need no key or slow hash (N §3.1.2.2). */
export const hashPairingCode = (code: string): string => createHash('sha256').update(code, 'utf8').digest('base64url')

function sameText (a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}

function view (d: Device): DeviceView {
  return { deviceId: d.deviceId, name: d.name, platform: d.platform, createdAt: d.createdAt, active: d.active, notifications: d.sealedFcmToken !== undefined }
}

/** The context as the app shows it and hashes it. */
function displayed (c: PushChallenge) {
  return {
    appName: c.context.appName,
    ...(c.context.ip === undefined ? {} : { ip: c.context.ip }),
    ...(c.context.userAgent === undefined ? {} : { userAgent: c.context.userAgent }),
    ...(c.action === undefined ? {} : { action: c.action }),
  }
}

/** How long FCM keeps trying to hand a notice to a device that is offline. */
const NOTICE_TTL_MS = 24 * 3600_000
/** The event context's IP rule: what the sign-in page sent is only passed on when it is an address. */
const EVENT_IP = /^[0-9A-Fa-f:.]{2,45}$/

/** The sign-in's context as an event carries it (the app name is not an application id). */
function eventContext (c: PushChallenge): EventContext {
  return {
    ...(c.context.ip === undefined || !EVENT_IP.test(c.context.ip) ? {} : { ip: c.context.ip }),
    ...(c.context.userAgent === undefined ? {} : { userAgent: c.context.userAgent }),
  }
}

/** The FCM data message: the challenge and its context, as strings. Never the number or the nonce. */
function wakeUp (c: PushChallenge): Record<string, string> {
  return { v: '1', type: 'push.challenge', challengeId: c.challengeId, createdAt: c.createdAt, expiresAt: c.expiresAt, ...displayed(c) }
}

export type PushService = ReturnType<typeof createPushService>

export function createPushService (deps: PushServiceDeps) {
  const { clock, settings } = deps

  const unauthenticated = (why: string): BusError => new BusError('UNAUTHENTICATED', `the device request is not acceptable: ${why}`)

  /**
   * The checks every device-signed request passes, in this order: a JWT at all, the request kind
   * it was made for, a live device (for pairing: the key in its header), the signature, `iat`
   * within the skew, then its `jti` spent (last, so forgeries cannot burn an app's ids).
   */
  async function checkTime (claims: Readonly<Record<string, unknown>>): Promise<void> {
    const iat = claims.iat
    if (typeof iat !== 'number') throw unauthenticated('no iat')
    if (Math.abs(clock.now().getTime() - iat * 1000) > settings.maxTokenSkewMs) throw unauthenticated('iat is too far from the server clock')
  }

  async function spend (scope: string, claims: Readonly<Record<string, unknown>>): Promise<void> {
    const jti = claims.jti as string
    // Kept for twice the skew: past that, the iat check refuses the token anyway.
    if (!await deps.replay.claim(scope, jti, 2 * settings.maxTokenSkewMs + 1000)) throw unauthenticated('the token was used before')
  }

  async function authenticateDevice (jwt: string, req: 'challenges' | 'answer'): Promise<{ device: Device, verified: VerifiedDeviceToken }> {
    const peeked = deps.tokens.peek(jwt)
    if (peeked === undefined) throw unauthenticated('not a signed JWT')
    if (peeked.req !== req) throw unauthenticated(`not made for this request (${req})`)
    const deviceId = peeked.sub
    if (typeof deviceId !== 'string') throw unauthenticated('no device (sub)')
    const owner = await deps.devices.findOwner(deviceId)
    const device = owner === undefined ? undefined : await deps.devices.get(owner, deviceId)
    // A removed device and an unknown one look alike; a deactivated one is gone as far as FCM knows.
    if (device === undefined || !device.active) throw unauthenticated('unknown device')
    const verified = await deps.tokens.verify(jwt, device.publicKeyJwk)
    if (verified === undefined) throw unauthenticated('bad signature')
    const ok = req === 'challenges' ? isChallengesClaims(verified.claims) : isAnswerClaims(verified.claims)
    // A malformed token is an invalid token (RFC 6750 invalid_token): 401, like a bad signature.
    if (!ok) throw unauthenticated(`the ${req} claims do not match their schema`)
    await checkTime(verified.claims)
    await spend(`dev:${device.deviceId}`, verified.claims)
    return { device, verified }
  }

  async function expire (rec: ChallengeRecord): Promise<void> {
    if (await deps.challenges.transition(rec.challenge.challengeId, 'pending', 'expired')) {
      await deps.fatigue.close(rec.challenge.userId, rec.challenge.challengeId)
    }
  }

  /** Sends the wake-up to every target with a token; deactivates the ones FCM says are gone. */
  async function deliver (c: PushChallenge, targets: Device[]): Promise<{ reachable: number, quotaExceeded: boolean, unregistered: number }> {
    let reachable = 0
    let quotaExceeded = false
    let unregistered = 0
    const now = clock.now()
    const expiresAt = new Date(c.expiresAt)
    const ttlMs = Math.max(0, expiresAt.getTime() - now.getTime())
    await Promise.all(targets.map(async (d) => {
      // Without a token (or without FCM at all) the app polls: it is reachable that way.
      if (d.sealedFcmToken === undefined || deps.sender === undefined) { reachable++; return }
      const token = deps.cipher.open(d.sealedFcmToken, d.deviceId)
      const res = await deps.sender.send({ token, data: wakeUp(c), expiresAt, ttlMs })
      if (res.status === 'sent') reachable++
      else if (res.status === 'quota_exceeded') quotaExceeded = true
      else if (res.status === 'unregistered') {
        unregistered++
        const { sealedFcmToken: _gone, ...rest } = d
        await deps.devices.update(d.userId, d.deviceId, () => ({ ...rest, active: false, deactivatedAt: iso(now) }))
      }
    }))
    return { reachable, quotaExceeded, unregistered }
  }

  async function answerDeny (rec: ChallengeRecord, device: Device, claims: AnswerClaims): Promise<AnswerChallengeResponse> {
    const { challengeId, userId } = rec.challenge
    const notMe = claims.notMe === true
    if (!await deps.challenges.transition(challengeId, 'pending', 'denied', { deviceId: device.deviceId, notMe })) {
      return { result: 'rejected', reason: 'already_answered' }
    }
    await deps.fatigue.close(userId, challengeId)
    // The audit trail and the user's feed ("It wasn't me" is what support looks for); after the state change, never failing it.
    await deps.events.emit(pushDenied, { userId, deviceId: device.deviceId, notMe, context: eventContext(rec.challenge) })
    const { pausedUntil } = await deps.fatigue.recordDenial(userId, challengeId, notMe ? settings.notMeWeight : 1)
    if (pausedUntil !== undefined) await deps.events.emit(pushPaused, { userId, pausedUntil: iso(pausedUntil), notMe })
    return { result: 'denied' }
  }

  async function answerApprove (rec: ChallengeRecord, device: Device, claims: AnswerClaims): Promise<AnswerChallengeResponse> {
    const { challengeId, userId } = rec.challenge
    if (claims.number === undefined) throw unauthenticated('an approval carries the number the user typed')
    // Counted before the number is compared (SECURITY.md §1.1); while locked even the right one is refused.
    await deps.gate.admit(userId)
    const right = sameText(String(claims.number), String(rec.challenge.number))
    if (!right) {
      // A wrong number ends the challenge: the user was looking at another sign-in, or guessing.
      if (!await deps.challenges.transition(challengeId, 'pending', 'failed', { deviceId: device.deviceId })) {
        return { result: 'rejected', reason: 'already_answered' }
      }
      await deps.fatigue.close(userId, challengeId)
      const { attemptsLeft } = await deps.gate.fail(userId)
      return { result: 'rejected', reason: 'wrong_number', attemptsLeft }
    }
    if (!await deps.challenges.transition(challengeId, 'pending', 'approved', { deviceId: device.deviceId })) {
      return { result: 'rejected', reason: 'already_answered' }
    }
    await deps.fatigue.close(userId, challengeId)
    await deps.gate.succeed(userId)
    return { result: 'approved' }
  }

  return {
    async describe (req: { userId: string }): Promise<DescribePushResponse> {
      const active = (await deps.devices.list(req.userId)).filter((d) => d.active)
      if (active.length === 0) return { factor: 'push', enrolled: false, items: [] }
      const [locked, pausedUntil] = await Promise.all([deps.gate.lockedUntil(req.userId), deps.fatigue.pausedUntil(req.userId)])
      const lockedUntil = locked === undefined ? undefined : new Date(locked)
      const until = [lockedUntil, pausedUntil].filter((d): d is Date => d !== undefined).sort((a, b) => b.getTime() - a.getTime())[0]
      const reason = pausedUntil !== undefined ? 'paused_after_denials' : lockedUntil !== undefined ? 'too_many_wrong_numbers' : undefined
      const first = [...active].sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0] as Device
      return {
        factor: 'push',
        enrolled: true,
        createdAt: first.createdAt,
        ...(until === undefined ? {} : { lockedUntil: iso(until) }),
        ...(reason === undefined ? {} : { lockReason: reason }),
        items: active.map((d) => ({ id: d.deviceId, label: d.name, createdAt: d.createdAt })),
      }
    },

    /** A pairing code for the signed-in user (the gateway asks for step-up first once 2FA is on). */
    async createPairing (req: CreatePairingRequest): Promise<CreatePairingResponse> {
      const now = clock.now()
      const pairingCode = deps.random.pairingCode()
      const expiresAt = iso(new Date(now.getTime() + settings.pairingTtlMs))
      await deps.pairing.put(hashPairingCode(pairingCode), { userId: req.userId, expiresAt }, settings.pairingTtlMs)
      return { pairingCode, expiresAt }
    },

    /** The app pairs: a JWT signed by its new key (in the header), carrying the code and the device's name. */
    async registerDevice (req: RegisterDeviceRequest): Promise<RegisterDeviceResponse> {
      const peeked = deps.tokens.peek(req.jwt)
      if (peeked === undefined) throw unauthenticated('not a signed JWT')
      if (peeked.req !== 'pair') throw unauthenticated('not made for this request (pair)')
      const verified = await deps.tokens.verify(req.jwt, 'embedded')
      if (verified === undefined) throw unauthenticated('bad signature or no P-256 public key in the header')
      const claims = verified.claims
      if (!isPairClaims(claims)) throw unauthenticated('the pair claims do not match their schema')
      await checkTime(claims)
      const thumbprint = await deps.tokens.thumbprint(verified.jwk)
      await spend(`key:${thumbprint}`, claims)

      const now = clock.now()
      const codeHash = hashPairingCode(claims.pairingCode)
      const grant = await deps.pairing.peek(codeHash)
      if (grant === undefined) throw new BusError('NOT_FOUND', 'unknown or already used pairing code')
      if (now.getTime() >= Date.parse(grant.expiresAt)) throw new BusError('ENROLLMENT_EXPIRED', 'the pairing code expired: make a new one')
      const existing = await deps.devices.list(grant.userId)
      if (existing.some((d) => d.keyThumbprint === thumbprint)) throw new BusError('CONFLICT', 'this key is already paired')
      if (existing.length >= settings.maxDevices) throw new BusError('LIMIT_REACHED', `at most ${settings.maxDevices} devices: remove one first`)
      // Single use: of several parallel pairings with one code, exactly one takes it.
      const taken = await deps.pairing.take(codeHash)
      if (taken === undefined || taken.userId !== grant.userId) throw new BusError('NOT_FOUND', 'unknown or already used pairing code')

      const deviceId = deps.random.deviceId()
      await deps.devices.create({
        deviceId,
        userId: taken.userId,
        name: displayText(claims.name) || 'Authenticator',
        platform: claims.platform,
        publicKeyJwk: verified.jwk,
        keyThumbprint: thumbprint,
        ...(claims.fcmToken === undefined ? {} : { sealedFcmToken: deps.cipher.seal(claims.fcmToken, deviceId) }),
        createdAt: iso(now),
        active: true,
      })
      await deps.events.emit(factorEnrolled, { userId: taken.userId, factor: 'push', itemId: deviceId })
      return { deviceId }
    },

    async listDevices (req: { userId: string }): Promise<ListDevicesResponse> {
      const devices = await deps.devices.list(req.userId)
      return { devices: devices.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(view) }
    },

    async renameDevice (req: RenameDeviceRequest): Promise<DeviceView> {
      const name = displayText(req.name)
      if (name === '') throw new BusError('BAD_REQUEST', 'the name is empty')
      const d = await deps.devices.update(req.userId, req.deviceId, (d) => ({ ...d, name }))
      if (d === undefined) throw new BusError('NOT_FOUND', 'no such device')
      return view(d)
    },

    async removeDevice (req: DeviceRequest): Promise<RemoveResponse> {
      const removed = await deps.devices.remove(req.userId, req.deviceId)
      if (removed !== undefined) await deps.events.emit(factorRemoved, { userId: req.userId, factor: 'push', itemId: removed.deviceId })
      return { removed: removed !== undefined }
    },

    /** Removes every device (the user turns push off, or an admin does). */
    async remove (req: { userId: string }): Promise<RemoveResponse> {
      const removed = await deps.devices.removeAll(req.userId)
      await deps.pairing.revokeAll(req.userId)
      for (const d of removed) await deps.events.emit(factorRemoved, { userId: req.userId, factor: 'push', itemId: d.deviceId })
      return { removed: removed.length > 0 }
    },

    /** `user.reset`: forget everything about the user (idempotent: events arrive at least once). */
    async reset (userId: string): Promise<void> {
      await deps.pairing.revokeAll(userId)
      await deps.devices.removeAll(userId)
      await deps.fatigue.clear(userId)
      await deps.gate.clear(userId)
    },

    /** Starts a push: number matching always on; the fatigue breaker decides whether it may go out. */
    async start (req: StartPushRequest): Promise<StartPushResponse> {
      const now = clock.now()
      const active = (await deps.devices.list(req.userId)).filter((d) => d.active)
      if (active.length === 0) throw new BusError('NOT_ENROLLED', 'no authenticator app is paired')
      const targets = req.deviceId === undefined ? active : active.filter((d) => d.deviceId === req.deviceId)
      if (targets.length === 0) throw new BusError('NOT_FOUND', 'no such device')
      const lockedUntil = await deps.gate.lockedUntil(req.userId)
      if (lockedUntil !== undefined) throw new BusError('FACTOR_LOCKED', 'too many wrong numbers: push is locked for now', { retryAfterSec: secondsUntil(new Date(lockedUntil), now) })

      const challengeId = deps.random.challengeId()
      const expiresAt = new Date(now.getTime() + settings.challengeTtlMs)
      const admit = await deps.fatigue.admit(req.userId, { challengeId, flowId: req.flowId, expiresAt })
      if (!admit.admitted) {
        if (admit.reason === 'paused') {
          throw new BusError('FACTOR_LOCKED', 'push is paused after repeated denials: use another way', { retryAfterSec: secondsUntil(admit.until, now) })
        }
        if (admit.reason === 'open') {
          // The same sign-in asking again (a reload) sees its own push, not a second one.
          const open = admit.flowId === req.flowId ? await deps.challenges.get(admit.challengeId) : undefined
          if (open !== undefined && open.state === 'pending' && open.challenge.userId === req.userId && Date.parse(open.challenge.expiresAt) > now.getTime()) {
            return { challengeId: open.challenge.challengeId, expiresAt: open.challenge.expiresAt, numberToMatch: open.challenge.number }
          }
          throw new BusError('RATE_LIMITED', 'a push is already waiting for an answer', { retryAfterSec: secondsUntil(admit.until, now) })
        }
        throw new BusError('RATE_LIMITED', 'too many pushes: wait, or use another way', { retryAfterSec: secondsUntil(admit.retryAt, now) })
      }

      const challenge: PushChallenge = {
        challengeId,
        userId: req.userId,
        flowId: req.flowId,
        deviceIds: targets.map((d) => d.deviceId),
        number: deps.random.number(),
        nonce: deps.random.nonce(),
        context: {
          appName: displayText(req.context.appName) || 'Unknown application',
          ...(req.context.ip === undefined ? {} : { ip: displayText(req.context.ip) }),
          ...(req.context.userAgent === undefined ? {} : { userAgent: displayText(req.context.userAgent) }),
        },
        ...(req.action === undefined ? {} : { action: displayText(req.action) }),
        createdAt: iso(now),
        expiresAt: iso(expiresAt),
      }
      try {
        await deps.challenges.create(challenge, settings.challengeRetainMs)
      } catch (err) {
        await deps.fatigue.cancel(req.userId, challengeId).catch(() => undefined)
        throw err
      }
      const sent = await deliver(challenge, targets)
      if (sent.reachable === 0) {
        // Nobody can see it: do not hold the user's one open push, and offer the other methods.
        await deps.challenges.transition(challengeId, 'pending', 'cancelled')
        await deps.fatigue.cancel(req.userId, challengeId)
        if (sent.unregistered === targets.length) throw new BusError('NOT_ENROLLED', 'the authenticator app is no longer installed: pair it again')
        throw new BusError('PROVIDER_UNAVAILABLE', 'push notifications cannot be sent right now: use another way', { retryAfterSec: 60 })
      }
      return { challengeId, expiresAt: challenge.expiresAt, numberToMatch: challenge.number }
    },

    /**
     * The sign-in screen's long-poll: answers as soon as the challenge leaves pending, or after
     * `waitMs`. `approved` is reported once (the caller completes the sign-in on it).
     */
    async status (req: PushStatusRequest): Promise<PushStatusResponse> {
      const rounds = Math.ceil(req.waitMs / settings.pollIntervalMs)
      for (let round = 0; ; round++) {
        const rec = await deps.challenges.get(req.challengeId)
        if (rec === undefined || rec.challenge.userId !== req.userId || rec.challenge.flowId !== req.flowId) {
          throw new BusError('NOT_FOUND', 'no such push challenge')
        }
        switch (rec.state) {
          case 'approved':
            if (await deps.challenges.transition(rec.challenge.challengeId, 'approved', 'reported')) {
              return { state: 'approved', ...(rec.challenge.action === undefined ? {} : { action: rec.challenge.action }) }
            }
            throw new BusError('CONFLICT', 'the approval was already reported')
          case 'reported':
            throw new BusError('CONFLICT', 'the approval was already reported')
          case 'denied':
            return { state: 'denied', reason: rec.notMe === true ? 'not_me' : 'denied' }
          case 'failed':
            return { state: 'denied', reason: 'wrong_number' }
          case 'expired':
          case 'cancelled':
            return { state: 'expired' }
          case 'pending':
            if (clock.now().getTime() >= Date.parse(rec.challenge.expiresAt)) {
              await expire(rec)
              continue
            }
            if (round >= rounds) return { state: 'pending' }
            await deps.pause(settings.pollIntervalMs)
        }
      }
    },

    /** The app's signed poll: the challenges waiting for this device, with their context, never the number. */
    async deviceChallenges (req: DeviceChallengesRequest): Promise<DeviceChallengesResponse> {
      const { device } = await authenticateDevice(req.jwt, 'challenges')
      if (device.deviceId !== req.deviceId) throw unauthenticated('signed by another device')
      const now = clock.now()
      const open = await deps.challenges.listOpen(device.userId, now)
      const challenges = open
        .filter((r) => r.state === 'pending' && r.challenge.deviceIds.includes(device.deviceId) && Date.parse(r.challenge.expiresAt) > now.getTime())
        .sort((a, b) => a.challenge.createdAt.localeCompare(b.challenge.createdAt))
        .map((r) => ({
          challengeId: r.challenge.challengeId,
          nonce: r.challenge.nonce,
          createdAt: r.challenge.createdAt,
          expiresAt: r.challenge.expiresAt,
          context: displayed(r.challenge),
        }))
      return { challenges }
    },

    /** The app's signed answer. The first valid answer wins; everything else is refused. */
    /**
     * A notice about the user's own account (the notifier's security notifications), not a sign-in
     * request: an FCM data message to every active device that has a token. A device that only
     * polls asks for challenges, never for notices, so it is not counted. A retry with the same
     * idempotency key answers the first count and sends nothing; when no device took it because
     * FCM failed, the caller gets PROVIDER_UNAVAILABLE and retries.
     */
    async notify (req: NotifyUserRequest): Promise<NotifyUserResponse> {
      return once({ ledger: deps.notices, scope: req.userId, key: req.idempotencyKey, fingerprint: 'notify' }, async () => {
        const sender = deps.sender
        const devices = (await deps.devices.list(req.userId)).filter((d) => d.active && d.sealedFcmToken !== undefined)
        if (sender === undefined || devices.length === 0) return { reached: 0 }
        const now = clock.now()
        const data = { v: '1', type: 'push.notice', text: req.text, ...(req.link === undefined ? {} : { link: req.link }) }
        const results = await Promise.all(devices.map(async (d) => {
          const res = await sender.send({ token: deps.cipher.open(d.sealedFcmToken as string, d.deviceId), data, expiresAt: new Date(now.getTime() + NOTICE_TTL_MS), ttlMs: NOTICE_TTL_MS })
          if (res.status === 'unregistered') {
            const { sealedFcmToken: _gone, ...rest } = d
            await deps.devices.update(d.userId, d.deviceId, () => ({ ...rest, active: false, deactivatedAt: iso(now) }))
          }
          return res.status
        }))
        const reached = results.filter((r) => r === 'sent').length
        if (reached === 0 && results.some((r) => r === 'failed' || r === 'quota_exceeded')) {
          throw new BusError('PROVIDER_UNAVAILABLE', 'the push provider did not take the notice: try again later', { retryAfterSec: 60 })
        }
        return { reached }
      })
    },

    async answer (req: AnswerChallengeRequest): Promise<AnswerChallengeResponse> {
      const { device, verified } = await authenticateDevice(req.jwt, 'answer')
      const claims = verified.claims as AnswerClaims
      if (claims.challengeId !== req.challengeId) throw unauthenticated('the token answers another challenge')
      const rec = await deps.challenges.get(req.challengeId)
      // Another user's challenge, or one this device was not asked: as if it did not exist.
      if (rec === undefined || rec.challenge.userId !== device.userId || !rec.challenge.deviceIds.includes(device.deviceId)) {
        throw new BusError('NOT_FOUND', 'no such push challenge')
      }
      const c = rec.challenge
      if (rec.state === 'expired' || rec.state === 'cancelled') return { result: 'rejected', reason: 'expired' }
      if (rec.state !== 'pending') return { result: 'rejected', reason: 'already_answered' }
      if (clock.now().getTime() >= Date.parse(c.expiresAt)) {
        await expire(rec)
        return { result: 'rejected', reason: 'expired' }
      }
      // Transaction binding: the answer must be about this issuance of the challenge, as displayed.
      const expectedHash = contextHash({ challengeId: c.challengeId, createdAt: c.createdAt, ...displayed(c) })
      if (!sameText(claims.nonce, c.nonce) || !sameText(claims.contextHash, expectedHash)) {
        return { result: 'rejected', reason: 'context_mismatch' }
      }
      return claims.decision === 'deny' ? answerDeny(rec, device, claims) : answerApprove(rec, device, claims)
    },
  }
}
