// The request/response shapes of factor-webauthn's bus verbs (subjects `warden.webauthn.v1.*`).
// They become TypeBox contracts in packages/contracts/src/factors/webauthn.ts once the factor kit
// lands; until then the service is typed against these. `options` and `verify` keep the shapes the
// gateway already speaks (contracts' messages/factors.ts), plus what the issue needs.

/** Why an assertion was refused; the UI words each one. */
export type VerifyRejectReason =
  | 'invalid_assertion'
  /** No challenge for this transaction: never issued, already used, or issued to another transaction. */
  | 'no_challenge'
  | 'expired'
  /** Not a credential of this user (maybe of nobody): the UI tells the browser (Signal API). */
  | 'unknown_credential'
  | 'user_verification_required'
  /** The credential's counter went backwards: it may have been copied. Remove it and register again. */
  | 'suspected_clone'

export type RegisterRejectReason =
  | 'invalid_response'
  | 'no_challenge'
  | 'expired'
  /** This credential id is registered already (to this user or another). */
  | 'already_registered'
  | 'user_verification_required'
  /** The attestation policy refuses this authenticator. */
  | 'attestation_refused'

/** A credential as the settings page shows it. */
export interface CredentialView {
  /** Warden's id of the credential (`wak_…`): what PATCH/DELETE /v1/me/webauthn/{id} take. */
  id: string
  /** The WebAuthn credential id, base64url: for the browser's Signal API. */
  credentialId: string
  name: string
  createdAt: string
  lastUsedAt?: string
  /** `true` for a passkey that may be synced to other devices (BE=1), `false` for a device-bound key. */
  synced: boolean
  backedUp: boolean
  transports: string[]
  suspectedClone?: true
}

/** `warden.webauthn.v1.registration-options` */
export interface RegistrationOptionsRequest {
  userId: string
  /** Shown by the authenticator to tell accounts apart; the userId when absent. */
  userName?: string
  userVerification?: 'required' | 'preferred'
}
export interface RegistrationOptionsResponse { options: object, expiresAt: string }

/** `warden.webauthn.v1.register` */
export interface RegisterRequest { userId: string, response: object, name: string }
export type RegisterResponse =
  | { result: 'registered', credential: CredentialView }
  | { result: 'rejected', reason: RegisterRejectReason }

/** `warden.webauthn.v1.options` (sign-in and step-up) */
export interface OptionsRequest {
  userId: string
  flowId: string
  /** `required` for a step-up that asks for it; the configured policy otherwise. */
  userVerification?: 'required' | 'preferred'
}
export interface OptionsResponse { options: object, expiresAt: string }

/** `warden.webauthn.v1.verify` */
export interface VerifyRequest { userId: string, flowId: string, response: object, idempotencyKey?: string }
export type VerifyResponse =
  | {
    result: 'verified'
    verifiedAt: string
    /** Warden's id of the credential used. */
    id: string
    credentialId: string
    userVerified: boolean
    /** RFC 8176: `hwk` for a device-bound key, `swk` for a synced passkey. */
    amr: 'hwk' | 'swk'
  }
  | { result: 'rejected', reason: VerifyRejectReason, attemptsLeft?: number }

/** `warden.webauthn.v1.list` */
export interface ListRequest { userId: string }
export interface ListResponse {
  /** For the Signal API (signalAllAcceptedCredentials). */
  rpId: string
  /** The user's WebAuthn user handle, base64url, once they have one. */
  userHandle?: string
  credentials: CredentialView[]
}

/** `warden.webauthn.v1.rename` */
export interface RenameRequest { userId: string, id: string, name: string }
export interface RenameResponse { credential: CredentialView }

/** `warden.webauthn.v1.remove` */
export interface RemoveRequest { userId: string, id: string }
export interface RemoveResponse {
  removed: true
  /** The removed credential's WebAuthn id, for signalUnknownCredential. */
  credentialId: string
}
