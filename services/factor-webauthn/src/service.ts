import {
  BusError, credentialFlagged, factorEnrolled, factorRemoved,
  type ConfirmWebauthnRequest, type ConfirmWebauthnResponse, type DescribeResponse, type EnrollWebauthnRequest,
  type EnrollWebauthnResponse, type ListWebauthnResponse, type RemoveWebauthnRequest, type RemoveWebauthnResponse,
  type RenameWebauthnRequest, type RenameWebauthnResponse, type UserRequest, type VerifyWebauthnRequest,
  type VerifyWebauthnResponse, type WebauthnCredential, type WebauthnOptionsRequest, type WebauthnOptionsResponse,
} from '@warden/contracts'
import { once, toTimestamp as iso } from '@warden/service-kit'
import type { CheckFailure, CredentialRecord, Revisioned, WebauthnServiceDeps } from './ports.js'

type VerifyRejectReason = Extract<VerifyWebauthnResponse, { result: 'rejected' }>['reason']
type RegisterRejectReason = Extract<ConfirmWebauthnResponse, { result: 'rejected' }>['reason']

/** WebAuthn L3 §7.1 step 24 (and SECURITY.md §2): longer credential ids are refused. */
export const MAX_CREDENTIAL_ID_BYTES = 1023
export const MAX_NAME_LENGTH = 64
/** Each conflict means another assertion of the same credential was stored: bounded by how many run at once. */
const MAX_COUNTER_RACES = 32

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
const BASE64URL = /^[A-Za-z0-9_-]+$/

/** The credential id an answer names, if it is one we could have issued (base64url, ≤1023 bytes, id = rawId). */
function credentialIdOf (response: object): string | undefined {
  const { id, rawId } = response as { id?: unknown, rawId?: unknown }
  if (typeof id !== 'string' || id !== rawId || !BASE64URL.test(id)) return undefined
  const bytes = Buffer.from(id, 'base64url')
  if (bytes.length === 0 || bytes.length > MAX_CREDENTIAL_ID_BYTES) return undefined
  return id
}

function userHandleOf (response: object): unknown {
  return (response as { response?: { userHandle?: unknown } }).response?.userHandle
}

/** A display name: trimmed, no control characters, 1-64 characters. */
export function cleanName (name: string): string {
  const trimmed = name.trim()
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new BusError('BAD_REQUEST', `a key name is 1 to ${MAX_NAME_LENGTH} printable characters`)
  }
  return trimmed
}

export function view (r: CredentialRecord): WebauthnCredential {
  return {
    id: r.id,
    credentialId: r.credentialId,
    name: r.name,
    createdAt: r.createdAt,
    ...(r.lastUsedAt === undefined ? {} : { lastUsedAt: r.lastUsedAt }),
    synced: r.deviceType === 'multiDevice',
    backedUp: r.backedUp,
    transports: [...r.transports],
    ...(r.suspectedCloneAt === undefined ? {} : { suspectedClone: true as const }),
  }
}

const usable = (r: Revisioned<CredentialRecord>): boolean => r.value.suspectedCloneAt === undefined

type Rejected = Extract<VerifyWebauthnResponse, { result: 'rejected' }>

export type WebauthnService = ReturnType<typeof createWebauthnService>

export function createWebauthnService (deps: WebauthnServiceDeps) {
  const { clock, settings, credentials, challenges, ceremony } = deps
  const { rp } = settings

  const uvFor = (asked: 'required' | 'preferred' | undefined): 'required' | 'preferred' =>
    asked === 'required' || settings.userVerification === 'required' ? 'required' : 'preferred'

  const expiry = (now: Date): string => iso(new Date(now.getTime() + settings.challengeTtlMs))

  async function rejectSignIn (userId: string, reason: VerifyRejectReason): Promise<Rejected> {
    const { attemptsLeft } = await deps.attempts.fail(userId)
    return { result: 'rejected', reason, attemptsLeft }
  }

  const assertionReason = (why: CheckFailure): VerifyRejectReason =>
    why === 'user_verification' ? 'user_verification_required' : 'invalid_assertion'

  const registrationReason = (why: CheckFailure): RegisterRejectReason =>
    why === 'user_verification' ? 'user_verification_required' : 'invalid_response'

  /** Marks the credential as possibly copied (a CAS loop: a concurrent counter update must not undo the mark). */
  async function flagClone (userId: string, id: string, at: string): Promise<void> {
    for (let i = 0; i < MAX_COUNTER_RACES; i++) {
      const current = await credentials.get(userId, id)
      if (current === undefined || current.value.suspectedCloneAt !== undefined) return
      if (await credentials.update(userId, { ...current.value, suspectedCloneAt: at }, current.revision)) return
    }
    throw new BusError('UNAVAILABLE', 'the credential is being updated: try again', { retryAfterSec: 1 })
  }

  return {
    async describe (req: UserRequest): Promise<DescribeResponse> {
      const records = await credentials.list(req.userId)
      if (records.length === 0) return { factor: 'webauthn', enrolled: false, items: [] }
      const lockedUntil = await deps.attempts.lockedUntil(req.userId)
      const sorted = records.map((r) => r.value).sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      return {
        factor: 'webauthn',
        enrolled: true,
        createdAt: sorted[0]?.createdAt ?? iso(clock.now()),
        ...(lockedUntil === undefined ? {} : { lockedUntil }),
        items: sorted.map((r) => ({ id: r.id, label: r.name, createdAt: r.createdAt })),
      }
    },

    async enroll (req: EnrollWebauthnRequest): Promise<EnrollWebauthnResponse> {
      const now = clock.now()
      const existing = await credentials.list(req.userId)
      if (existing.length >= settings.maxCredentials) {
        throw new BusError('LIMIT_REACHED', `at most ${settings.maxCredentials} security keys and passkeys: remove one first`)
      }
      const userHandle = await credentials.userHandle(req.userId)
      const userVerification = uvFor(req.userVerification)
      const challenge = deps.ids.challenge()
      const options = await ceremony.registrationOptions(rp, {
        challenge,
        userHandle,
        userName: req.userName ?? req.userId,
        // Every key of the user, flagged ones too: the authenticator says "already registered" instead of making a second credential.
        exclude: existing.map((r) => ({ credentialId: r.value.credentialId, transports: r.value.transports })),
        userVerification,
        attestation: settings.attestation,
        timeoutMs: settings.challengeTtlMs,
      })
      const expiresAt = expiry(now)
      // One registration at a time per user: a new one replaces the challenge of the last.
      await challenges.put({ kind: 'registration', userId: req.userId }, { challenge: b64u(challenge), userVerification, expiresAt }, settings.challengeTtlMs)
      return { options, expiresAt }
    },

    async confirm (req: ConfirmWebauthnRequest): Promise<ConfirmWebauthnResponse> {
      const name = cleanName(req.name)
      // Single use, whatever comes next.
      const pending = await challenges.take({ kind: 'registration', userId: req.userId })
      if (pending === undefined) return { result: 'rejected', reason: 'no_challenge' }
      const now = clock.now()
      if (now.getTime() >= Date.parse(pending.expiresAt)) return { result: 'rejected', reason: 'expired' }
      const check = await ceremony.verifyRegistration(rp, {
        response: req.response,
        challenge: pending.challenge,
        requireUserVerification: pending.userVerification === 'required',
      })
      if (!check.ok) return { result: 'rejected', reason: registrationReason(check.why) }
      const rawId = Buffer.from(check.credentialId, 'base64url')
      if (rawId.length > MAX_CREDENTIAL_ID_BYTES) return { result: 'rejected', reason: 'invalid_response' }
      const policy = settings.attestation
      if (policy.conveyance === 'direct' && (!check.attested || (policy.aaguids !== undefined && !policy.aaguids.includes(check.aaguid)))) {
        return { result: 'rejected', reason: 'attestation_refused' }
      }
      if ((await credentials.list(req.userId)).length >= settings.maxCredentials) {
        throw new BusError('LIMIT_REACHED', `at most ${settings.maxCredentials} security keys and passkeys: remove one first`)
      }
      const record: CredentialRecord = {
        id: deps.ids.credentialHandle(check.credentialId),
        credentialId: check.credentialId,
        publicKey: check.publicKey,
        counter: check.counter,
        transports: check.transports,
        deviceType: check.deviceType,
        backedUp: check.backedUp,
        name,
        createdAt: iso(now),
        aaguid: check.aaguid,
        fmt: check.fmt,
      }
      // The global index decides: one credential id, one owner, even between racing registrations.
      if (!await credentials.add(req.userId, record)) return { result: 'rejected', reason: 'already_registered' }
      // A new key is a success with this factor: lifts a suspension (a running lock stays).
      await deps.attempts.succeed(req.userId)
      await deps.events.emit(factorEnrolled, { userId: req.userId, factor: 'webauthn', itemId: record.id })
      return { result: 'registered', credential: view(record) }
    },

    async options (req: WebauthnOptionsRequest): Promise<WebauthnOptionsResponse> {
      const now = clock.now()
      const records = (await credentials.list(req.userId)).filter(usable)
      if (records.length === 0) throw new BusError('NOT_ENROLLED', 'no usable security key or passkey for this user')
      const userVerification = uvFor(req.userVerification)
      const challenge = deps.ids.challenge()
      const options = await ceremony.authenticationOptions(rp, {
        challenge,
        allow: records.map((r) => ({ credentialId: r.value.credentialId, transports: r.value.transports })),
        userVerification,
        timeoutMs: settings.challengeTtlMs,
      })
      const expiresAt = expiry(now)
      await challenges.put({ kind: 'authentication', userId: req.userId, flowId: req.flowId }, { challenge: b64u(challenge), userVerification, expiresAt }, settings.challengeTtlMs)
      return { options, expiresAt }
    },

    /**
     * One assertion for the transaction's challenge. The challenge is taken first, so it is spent
     * by this attempt whatever its outcome. A retry with the same idempotency key (after a lost
     * reply) gets the first outcome.
     */
    async verify (req: VerifyWebauthnRequest): Promise<VerifyWebauthnResponse> {
      return once({ ledger: deps.verifyOutcomes, scope: req.userId, key: req.idempotencyKey, fingerprint: req.flowId }, async (): Promise<VerifyWebauthnResponse> => {
        const pending = await challenges.take({ kind: 'authentication', userId: req.userId, flowId: req.flowId })
        if (pending === undefined) {
          if ((await credentials.list(req.userId)).length === 0) throw new BusError('NOT_ENROLLED', 'no security key or passkey for this user')
          return { result: 'rejected', reason: 'no_challenge' }
        }
        const now = clock.now()
        if (now.getTime() >= Date.parse(pending.expiresAt)) return { result: 'rejected', reason: 'expired' }
        await deps.attempts.admit(req.userId)

        const credentialId = credentialIdOf(req.response)
        if (credentialId === undefined) return rejectSignIn(req.userId, 'invalid_assertion')
        const id = deps.ids.credentialHandle(credentialId)
        // Looked up among this user's credentials only: another user's key is as unknown as a made-up one.
        const found = await credentials.get(req.userId, id)
        if (found === undefined) return rejectSignIn(req.userId, 'unknown_credential')
        if (found.value.suspectedCloneAt !== undefined) return rejectSignIn(req.userId, 'suspected_clone')
        const handle = userHandleOf(req.response)
        if (handle !== undefined && handle !== null && handle !== await credentials.findUserHandle(req.userId)) {
          return rejectSignIn(req.userId, 'invalid_assertion')
        }

        const check = await ceremony.verifyAssertion(rp, {
          response: req.response,
          challenge: pending.challenge,
          requireUserVerification: pending.userVerification === 'required',
          publicKey: found.value.publicKey,
          credentialId: found.value.credentialId,
        })
        if (!check.ok) return rejectSignIn(req.userId, assertionReason(check.why))
        // BE is fixed when a credential is made (L3 §6.1.3): a change means another authenticator.
        if (check.deviceType !== found.value.deviceType) return rejectSignIn(req.userId, 'invalid_assertion')

        // L3 §7.2 step 22. The signature is already verified, so only the key's holder can move the
        // counter; stored with compare-and-set, so parallel assertions leave the highest one.
        let current = found
        for (let race = 0; race < MAX_COUNTER_RACES; race++) {
          const stored = current.value.counter
          if ((check.counter > 0 || stored > 0) && check.counter <= stored) {
            if (race > 0) {
              // Overtaken by a higher counter while in flight: not after it, so no sign of a copy. Still refused.
              return rejectSignIn(req.userId, 'invalid_assertion')
            }
            await flagClone(req.userId, id, iso(now))
            await deps.events.emit(credentialFlagged, { userId: req.userId, factor: 'webauthn', itemId: id, reason: 'counter_regression', storedCounter: stored, reportedCounter: check.counter })
            return rejectSignIn(req.userId, 'suspected_clone')
          }
          // Raised even on a credential flagged meanwhile, so the stored counter is always the highest authentic one.
          const next: CredentialRecord = { ...current.value, counter: check.counter, backedUp: check.backedUp, lastUsedAt: iso(now) }
          if (await credentials.update(req.userId, next, current.revision)) {
            if (next.suspectedCloneAt !== undefined) return rejectSignIn(req.userId, 'suspected_clone')
            await deps.attempts.succeed(req.userId)
            return {
              result: 'verified',
              verifiedAt: iso(now),
              id,
              credentialId,
              userVerified: check.userVerified,
              amr: found.value.deviceType === 'multiDevice' ? 'swk' : 'hwk',
            }
          }
          const reloaded = await credentials.get(req.userId, id)
          if (reloaded === undefined) return rejectSignIn(req.userId, 'unknown_credential')
          current = reloaded
        }
        throw new BusError('UNAVAILABLE', 'the credential is being updated: try again', { retryAfterSec: 1 })
      })
    },

    async list (req: UserRequest): Promise<ListWebauthnResponse> {
      const [records, userHandle] = await Promise.all([credentials.list(req.userId), credentials.findUserHandle(req.userId)])
      return {
        rpId: rp.rpId,
        ...(userHandle === undefined ? {} : { userHandle }),
        credentials: records.map((r) => view(r.value)).sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
      }
    },

    async rename (req: RenameWebauthnRequest): Promise<RenameWebauthnResponse> {
      const name = cleanName(req.name)
      for (let race = 0; race < MAX_COUNTER_RACES; race++) {
        const current = await credentials.get(req.userId, req.id)
        if (current === undefined) throw new BusError('NOT_FOUND', 'no such security key')
        const next = { ...current.value, name }
        if (await credentials.update(req.userId, next, current.revision)) return { credential: view(next) }
      }
      throw new BusError('UNAVAILABLE', 'the credential is being updated: try again', { retryAfterSec: 1 })
    },

    async remove (req: RemoveWebauthnRequest): Promise<RemoveWebauthnResponse> {
      const removed = await credentials.remove(req.userId, req.id)
      if (removed === undefined) throw new BusError('NOT_FOUND', 'no such security key')
      await deps.events.emit(factorRemoved, { userId: req.userId, factor: 'webauthn', itemId: removed.id })
      return { removed: true, credentialId: removed.credentialId }
    },

    /** `user.reset`: forget everything about the user (idempotent: events arrive at least once). */
    async reset (userId: string): Promise<void> {
      await credentials.removeAll(userId)
      await challenges.forget(userId)
      await deps.attempts.clear(userId)
    },
  }
}
