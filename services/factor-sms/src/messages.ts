// The shapes of factor-sms's bus verbs (warden.sms.v1.*). They become TypeBox contracts in
// packages/contracts once the factor kit is in place; until then the service is typed by these.

/** Why a number cannot be added. Each is its own stable code at the edge. */
export type PhoneRefusal =
  | 'invalid_number' // not a valid international number (a missing or wrong country prefix, mostly)
  | 'premium_rate'
  | 'shared_cost'
  | 'toll_free'
  | 'voip'
  | 'not_mobile' // fixed line, pager, UAN, voicemail, personal number: cannot receive an SMS reliably
  | 'country_not_allowed'

/** `warden.sms.v1.addPhone`: add a phone (unverified) and send it a code. */
export interface AddPhoneRequest {
  userId: string
  /** As typed by the user, with its country prefix. Never logged. */
  number: string
  ip?: string
  locale?: string
  idempotencyKey?: string
}
export type AddPhoneResponse =
  | { result: 'sent', phoneId: string, reference: string, maskedPhone: string, expiresAt: string }
  | { result: 'refused', reason: PhoneRefusal }

/** `warden.sms.v1.verifyPhone`: the code sent to an added phone; makes it usable. */
export interface VerifyPhoneRequest { userId: string, phoneId: string, code: string, idempotencyKey?: string }
export type VerifyPhoneResponse =
  | { result: 'verified', phoneId: string, maskedPhone: string, verifiedAt: string }
  | SmsRejected

/** `warden.sms.v1.removePhone`. */
export interface RemovePhoneRequest { userId: string, phoneId: string }
export interface RemovePhoneResponse { removed: boolean }

/** `warden.sms.v1.challenge`: send (or resend) the sign-in code of a transaction. */
export interface StartSmsRequest {
  userId: string
  flowId: string
  phoneId: string
  ip?: string
  locale?: string
  idempotencyKey?: string
}
export interface StartSmsResponse { reference: string, maskedPhone: string, expiresAt: string }

/** `warden.sms.v1.verify`: the sign-in code of a transaction. */
export interface VerifySmsRequest { userId: string, flowId: string, code: string, idempotencyKey?: string }
export type VerifySmsResponse = { result: 'verified', verifiedAt: string } | SmsRejected

/**
 * A wrong code is an answer. `expired` also covers a code burnt by too many wrong tries or
 * replaced by a resend; `no_challenge` means nothing was sent for this transaction (or its phone
 * was removed since).
 */
export interface SmsRejected {
  result: 'rejected'
  reason: 'invalid_code' | 'expired' | 'no_challenge'
  attemptsLeft?: number
}
