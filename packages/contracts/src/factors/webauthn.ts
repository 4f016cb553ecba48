import { Type } from 'typebox'
import { defineEndpoint, defineEvent } from '../endpoint.js'
import { EventEnvelope, FlowId, IdempotencyKey, Timestamp, UserId, UserRequest, VerifyRejected } from '../messages/common.js'
import { defineFactor } from './define.js'

// Security keys and passkeys (factor-webauthn), by the WebAuthn Level 3 ceremonies. A new verb of
// this factor goes here, and in `endpoints`. `enroll`/`confirm` are registration (as for TOTP:
// start, then prove), `options`/`verify` are a sign-in or step-up, `list`/`rename`/`remove` the
// settings page.

/** WebAuthn JSON (options or a response), checked in depth by @simplewebauthn/server in the service. */
const WebauthnJson = Type.Object({}, { additionalProperties: true, maxProperties: 20, description: 'WebAuthn JSON (L3 §5.1.8 and §5.4.5 JSON forms)' })

/** Warden's id of a credential: `wak_` + SHA-256 of the raw credential id, base64url. Short, whatever the credential id's length. */
export const CredentialHandle = Type.String({ pattern: '^wak_[A-Za-z0-9_-]{43}$', description: 'Warden\'s id of a security key or passkey' })

/** The WebAuthn credential id, base64url (≤1023 bytes raw, WebAuthn L3 §7.1). */
export const CredentialId = Type.String({ minLength: 1, maxLength: 1364, pattern: '^[A-Za-z0-9_-]+$', description: 'WebAuthn credential id, base64url' })

/** A name the user gives a key: 1 to 64 characters, no control characters, not blank. */
export const KeyName = Type.String({
  minLength: 1,
  maxLength: 64,
  // No control characters, and no space at either end (so never blank).
  pattern: '^[^\\s\\u0000-\\u001f\\u007f]([^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f])?$',
  description: 'The key\'s name, e.g. "YubiKey 5" or "MacBook passkey"',
})

const UserVerification = Type.Union([Type.Literal('required'), Type.Literal('preferred')], {
  description: 'required: the authenticator must verify the user (PIN, biometrics). preferred: as the configured policy says',
})

/** A security key or passkey as the settings page shows it. */
export const WebauthnCredential = Type.Object({
  id: CredentialHandle,
  credentialId: CredentialId,
  name: KeyName,
  createdAt: Timestamp,
  lastUsedAt: Type.Optional(Timestamp),
  synced: Type.Boolean({ description: 'A passkey that may be synced to other devices (BE=1); false for a device-bound key' }),
  backedUp: Type.Boolean({ description: 'BS: backed up, as last reported' }),
  transports: Type.Array(Type.String({ maxLength: 20 }), { maxItems: 8 }),
  suspectedClone: Type.Optional(Type.Literal(true, { description: 'Its signature counter went backwards: it may have been copied, and is refused until removed' })),
}, { additionalProperties: false })
export type WebauthnCredential = Type.Static<typeof WebauthnCredential>

// ---- registration -------------------------------------------------------------------------------

export const EnrollWebauthnRequest = Type.Object({
  userId: UserId,
  userName: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Shown by the authenticator to tell accounts apart; the userId by default' })),
  userVerification: Type.Optional(UserVerification),
}, { additionalProperties: false })
export type EnrollWebauthnRequest = Type.Static<typeof EnrollWebauthnRequest>

export const EnrollWebauthnResponse = Type.Object({
  options: WebauthnJson,
  expiresAt: Timestamp,
}, { additionalProperties: false, description: 'PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create()' })
export type EnrollWebauthnResponse = Type.Static<typeof EnrollWebauthnResponse>

export const enrollWebauthn = defineEndpoint({
  subject: 'warden.webauthn.v1.enroll',
  summary: 'Creation options for a new key: a 32-byte challenge (single use, 300 s), excludeCredentials, residentKey preferred',
  request: EnrollWebauthnRequest,
  response: EnrollWebauthnResponse,
  errors: ['BAD_REQUEST', 'LIMIT_REACHED', 'UNAVAILABLE', 'INTERNAL'],
})

export const ConfirmWebauthnRequest = Type.Object({
  userId: UserId,
  response: WebauthnJson,
  name: KeyName,
}, { additionalProperties: false })
export type ConfirmWebauthnRequest = Type.Static<typeof ConfirmWebauthnRequest>

export const ConfirmWebauthnResponse = Type.Union([
  Type.Object({ result: Type.Literal('registered'), credential: WebauthnCredential }, { additionalProperties: false }),
  VerifyRejected(['invalid_response', 'no_challenge', 'expired', 'already_registered', 'user_verification_required', 'attestation_refused'] as const),
])
export type ConfirmWebauthnResponse = Type.Static<typeof ConfirmWebauthnResponse>

export const confirmWebauthn = defineEndpoint({
  subject: 'warden.webauthn.v1.confirm',
  summary: 'Register a key from its RegistrationResponseJSON; a credential id registered to anyone is refused',
  request: ConfirmWebauthnRequest,
  response: ConfirmWebauthnResponse,
  errors: ['BAD_REQUEST', 'LIMIT_REACHED', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- sign-in and step-up ------------------------------------------------------------------------

export const WebauthnOptionsRequest = Type.Object({
  userId: UserId,
  flowId: FlowId,
  userVerification: Type.Optional(UserVerification),
}, { additionalProperties: false })
export type WebauthnOptionsRequest = Type.Static<typeof WebauthnOptionsRequest>

export const WebauthnOptionsResponse = Type.Object({
  options: WebauthnJson,
  expiresAt: Timestamp,
}, { additionalProperties: false, description: 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get()' })
export type WebauthnOptionsResponse = Type.Static<typeof WebauthnOptionsResponse>

export const webauthnOptions = defineEndpoint({
  subject: 'warden.webauthn.v1.options',
  summary: 'Request options for this transaction: a fresh 32-byte challenge bound to it (single use, 300 s), the user\'s usable keys',
  request: WebauthnOptionsRequest,
  response: WebauthnOptionsResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'UNAVAILABLE', 'INTERNAL'],
})

export const VerifyWebauthnRequest = Type.Object({
  userId: UserId,
  flowId: FlowId,
  response: WebauthnJson,
  idempotencyKey: Type.Optional(IdempotencyKey),
}, { additionalProperties: false })
export type VerifyWebauthnRequest = Type.Static<typeof VerifyWebauthnRequest>

export const VerifyWebauthnResponse = Type.Union([
  Type.Object({
    result: Type.Literal('verified'),
    verifiedAt: Timestamp,
    id: CredentialHandle,
    credentialId: CredentialId,
    userVerified: Type.Boolean(),
    amr: Type.Union([Type.Literal('hwk'), Type.Literal('swk')], { description: 'RFC 8176: hwk for a device-bound key, swk for a synced passkey' }),
  }, { additionalProperties: false }),
  VerifyRejected(['invalid_assertion', 'no_challenge', 'expired', 'unknown_credential', 'user_verification_required', 'suspected_clone'] as const),
])
export type VerifyWebauthnResponse = Type.Static<typeof VerifyWebauthnResponse>

export const verifyWebauthn = defineEndpoint({
  subject: 'warden.webauthn.v1.verify',
  summary: 'Check an assertion against this transaction\'s challenge (spent by the first attempt), the exact origins and RP ID, and the credential\'s owner and counter',
  request: VerifyWebauthnRequest,
  response: VerifyWebauthnResponse,
  errors: ['BAD_REQUEST', 'NOT_ENROLLED', 'FACTOR_LOCKED', 'RATE_LIMITED', 'CONFLICT', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- the settings page --------------------------------------------------------------------------

export const ListWebauthnResponse = Type.Object({
  rpId: Type.String({ maxLength: 253, description: 'For the browser\'s Signal API' }),
  userHandle: Type.Optional(Type.String({ maxLength: 100, pattern: '^[A-Za-z0-9_-]+$', description: 'The user\'s WebAuthn user handle, base64url (signalAllAcceptedCredentials)' })),
  credentials: Type.Array(WebauthnCredential, { maxItems: 50 }),
}, { additionalProperties: false })
export type ListWebauthnResponse = Type.Static<typeof ListWebauthnResponse>

export const listWebauthn = defineEndpoint({
  subject: 'warden.webauthn.v1.list',
  summary: 'The user\'s keys: name, created, last used, synced or device-bound',
  request: UserRequest,
  response: ListWebauthnResponse,
  errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})

export const RenameWebauthnRequest = Type.Object({ userId: UserId, id: CredentialHandle, name: KeyName }, { additionalProperties: false })
export type RenameWebauthnRequest = Type.Static<typeof RenameWebauthnRequest>
export const RenameWebauthnResponse = Type.Object({ credential: WebauthnCredential }, { additionalProperties: false })
export type RenameWebauthnResponse = Type.Static<typeof RenameWebauthnResponse>

export const renameWebauthn = defineEndpoint({
  subject: 'warden.webauthn.v1.rename',
  summary: 'Rename one of the user\'s keys',
  request: RenameWebauthnRequest,
  response: RenameWebauthnResponse,
  errors: ['BAD_REQUEST', 'NOT_FOUND', 'UNAVAILABLE', 'INTERNAL'],
})

export const RemoveWebauthnRequest = Type.Object({ userId: UserId, id: CredentialHandle }, { additionalProperties: false })
export type RemoveWebauthnRequest = Type.Static<typeof RemoveWebauthnRequest>
export const RemoveWebauthnResponse = Type.Object({
  removed: Type.Literal(true),
  credentialId: Type.String({ maxLength: 1364, description: 'The removed key\'s WebAuthn id, for the browser\'s signalUnknownCredential' }),
}, { additionalProperties: false })
export type RemoveWebauthnResponse = Type.Static<typeof RemoveWebauthnResponse>

export const removeWebauthn = defineEndpoint({
  subject: 'warden.webauthn.v1.remove',
  summary: 'Remove one of the user\'s keys; its credential id may then be registered again',
  request: RemoveWebauthnRequest,
  response: RemoveWebauthnResponse,
  errors: ['BAD_REQUEST', 'NOT_FOUND', 'UNAVAILABLE', 'INTERNAL'],
})

// ---- events ---------------------------------------------------------------------------------------

/**
 * An authentic assertion whose signature counter did not increase (WebAuthn L3 §7.2 step 22): the
 * key may have been copied. It is refused from then on; the user is told to remove it.
 */
export const credentialFlagged = defineEvent({
  subject: 'warden.events.v1.credential.flagged',
  summary: 'A security key\'s signature counter went backwards: it may have been cloned, and is refused until removed',
  payload: Type.Object({
    ...EventEnvelope,
    factor: Type.Literal('webauthn'),
    itemId: CredentialHandle,
    reason: Type.Literal('counter_regression', { description: 'WebAuthn L3 §7.2 step 22: a possibly cloned authenticator' }),
    storedCounter: Type.Integer({ minimum: 0, maximum: 4294967295 }),
    reportedCounter: Type.Integer({ minimum: 0, maximum: 4294967295 }),
  }, { additionalProperties: false }),
})

export const webauthn = defineFactor({
  name: 'webauthn',
  service: 'factor-webauthn',
  // Each verified attempt says which: hwk for a device-bound key, swk for a synced passkey (the
  // verify answer's `amr`). hwk when it does not say.
  amr: ['hwk'],
  fallback: false,
  describe: 'Security keys and passkeys of the user',
  endpoints: {
    enroll: enrollWebauthn,
    confirm: confirmWebauthn,
    options: webauthnOptions,
    verify: verifyWebauthn,
    list: listWebauthn,
    rename: renameWebauthn,
    remove: removeWebauthn,
  },
})
