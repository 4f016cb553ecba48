import type { ConfirmSmsResponse, EnrollSmsResponse, NotifyUserResponse, StartSmsResponse, VerifySmsResponse } from '@warden/contracts'
import type { AttemptGate, Clock, EventSink, Metrics, OutcomeLedger } from '@warden/service-kit'

export type { AttemptGate, Clock, EventSink, Metrics, OutcomeLedger }

/** Why a number cannot be added; each is its own error code (PHONE_*) at the edge. */
export type PhoneRefusal =
  | 'invalid_number' // not a valid international number (a missing or wrong country prefix, mostly)
  | 'premium_rate'
  | 'shared_cost'
  | 'toll_free'
  | 'voip'
  | 'not_mobile' // fixed line, pager, UAN, voicemail, personal number: cannot take an SMS reliably
  | 'country_not_allowed'

// ---- phones -----------------------------------------------------------------------------------

/** A number that passed classification: an SMS-capable mobile line in an allowed region. */
export interface ClassifiedNumber {
  /** E.164, e.g. +4791234567. Secret at rest: sealed before it is stored. */
  readonly e164: string
  /** ISO 3166 region (NO, GB, US …), for the allow-list. */
  readonly region: string
  /** The country calling code without '+', e.g. '47': the conversion breaker's unit. */
  readonly callingCode: string
  /** What everyone sees: the calling code and the last 2 digits, e.g. "+47 •• •• •• 67". */
  readonly masked: string
}

/** Parses, classifies and masks numbers (libphonenumber metadata). Pure. */
export interface PhoneNumbers {
  /** A number typed with its country prefix; refused with the reason a user can act on. */
  classify: (input: string) => { ok: true, number: ClassifiedNumber } | { ok: false, reason: Exclude<PhoneRefusal, 'country_not_allowed'> }
}

/** One phone of a user. The number itself is only held sealed (PhoneCipher). */
export interface PhoneRecord {
  /** `phn_…`: the handle the UI and the sign-in use. */
  readonly phoneId: string
  readonly sealedNumber: string
  /** Keyed hash of the E.164 number (Digests.numberHash): duplicates and per-number budgets. */
  readonly numberHash: string
  readonly masked: string
  readonly region: string
  readonly callingCode: string
  /** Usable for sign-in only once a code sent to it was entered. */
  readonly verified: boolean
  readonly createdAt: string
  readonly verifiedAt?: string
  /** Unverified only: when its slot is freed if no code was entered. */
  readonly expiresAt?: string
}

/** All phones of one user, in one record so "at most 3" is one compare-and-set. */
export interface PhoneBook { readonly phones: readonly PhoneRecord[] }

export interface Revisioned<T> { readonly value: T, readonly revision: number }

/**
 * Durable phone data. Infrastructure failures surface as BusError UNAVAILABLE (fail closed).
 */
export interface PhoneStore {
  get: (userId: string) => Promise<Revisioned<PhoneBook> | undefined>
  /**
   * Writes the book if it is still at `revision` (undefined: if the user has none yet). False if
   * somebody else wrote first: reload and decide again.
   */
  save: (userId: string, book: PhoneBook, revision: number | undefined) => Promise<boolean>
  /** Forgets every phone of the user (`user.reset`). */
  removeAll: (userId: string) => Promise<void>
}

/** Seals numbers at rest, bound to their user and phone (AAD) so a sealed number cannot move. */
export interface PhoneCipher {
  seal: (e164: string, userId: string, phoneId: string) => string
  open: (sealed: string, userId: string, phoneId: string) => string
}

/** Keyed hashes (HMAC-SHA-256 with server keys): nothing in them can be reversed or brute-forced offline. */
export interface Digests {
  /** Of an E.164 number: the same number always gives the same hash. */
  numberHash: (e164: string) => string
  /** Of a code, bound to the challenge it was sent for: the only form a code is stored in. */
  codeMac: (challengeId: string, code: string) => string
  /** Whether `code` is the one whose MAC is `mac`, in constant time. */
  codeMatches: (mac: string, challengeId: string, code: string) => boolean
}

// ---- challenges -------------------------------------------------------------------------------

/** Where a challenge belongs: a sign-in transaction, or the verification of an added phone. */
export interface ChallengeKey { readonly userId: string, readonly scope: 'signin' | 'phone', readonly id: string }

/** The live state of a challenge. The code exists only as `codeMac`. */
export interface Challenge {
  /** `sch_…`: bound into the code's MAC and the provider's client reference. */
  readonly challengeId: string
  /** 4 digits shown by the UI and written into the SMS; independent of the code. */
  readonly reference: string
  readonly phoneId: string
  readonly callingCode: string
  /** 1 for the first SMS, then 2, 3 … per resend. */
  readonly sendNo: number
  readonly codeMac: string
  /** When the current code was sent (ms, injected clock). */
  readonly sentAt: number
  /** When the current code stops working (ms). */
  readonly expiresAt: number
  /** Tries spent on the current code. */
  readonly tries: number
}

export type Attempt =
  | { state: 'none' }
  | { state: 'expired' }
  /** The code's tries are spent: it can no longer match. */
  | { state: 'burned' }
  /** One try was counted; compare the code against `challenge.codeMac`. */
  | { state: 'counted', challenge: Challenge }

/** Challenges in Redis, by key. Every method fails closed (UNAVAILABLE). */
export interface ChallengeStore {
  get: (key: ChallengeKey) => Promise<Challenge | undefined>
  /**
   * Writes `next` (a new code) only if the challenge is still at send number `expectSendNo` (0:
   * absent): the first of parallel resends wins, the others get false. The old code stops
   * working at once.
   */
  issue: (key: ChallengeKey, next: Challenge, expectSendNo: number) => Promise<boolean>
  /** Atomically counts a try on the current code, unless it is absent, expired or burnt. */
  attempt: (key: ChallengeKey, maxTries: number, now: number) => Promise<Attempt>
  /** Removes the challenge if its code is still `challengeId`/`sendNo`: true for exactly one caller. */
  consume: (key: ChallengeKey, challengeId: string, sendNo: number) => Promise<boolean>
  drop: (key: ChallengeKey) => Promise<void>
}

// ---- pumping defence --------------------------------------------------------------------------

export type Budget = 'account' | 'phone' | 'ip' | 'global'

export interface Reservation {
  /** Names this one SMS in every counter it was taken from, so it can be given back. */
  readonly sendId: string
  readonly userId: string
  readonly numberHash: string
  readonly ip?: string
}

export type ReserveResult =
  | { ok: true }
  /** `opened`: this refusal opened the global breaker (tell somebody once). */
  | { ok: false, budget: Budget, retryAt: number, opened?: boolean }

/**
 * The sending budgets (sliding windows on the injected clock) and the global breaker. Fails
 * closed: no budget state, no SMS.
 */
export interface SendBudget {
  /** Takes one SMS from every budget, or from none. */
  reserve: (r: Reservation, now: number) => Promise<ReserveResult>
  /** Gives a reservation back (the SMS was not sent after all). */
  release: (r: Reservation) => Promise<void>
}

export type BreakerState =
  | { open: false }
  /** `opened`: this check opened it; the share of verified codes that tripped it. */
  | { open: true, until: number, opened?: { sent: number, verified: number } }

/** Sent versus verified codes per calling code: a prefix that stops converting stops receiving. */
export interface ConversionBreaker {
  /** Judges the calling code now (and opens its breaker if its conversion fell too low). */
  check: (callingCode: string, now: number) => Promise<BreakerState>
  recordSent: (callingCode: string, sendId: string, sentAt: number) => Promise<void>
  /** `sentAt` of the SMS whose code was entered, so it is judged with the sends of its time. */
  recordVerified: (callingCode: string, sendId: string, sentAt: number) => Promise<void>
}

// ---- delivery ---------------------------------------------------------------------------------

export interface OutgoingSms {
  /** E.164. */
  readonly to: string
  readonly text: string
  /** `challengeId-sendNo`: the provider's client reference, and the idempotency key of this SMS. */
  readonly clientRef: string
  /** Retries end before this (the code's expiry). */
  readonly deadline: Date
}

/**
 * The SMS provider. Resolves when the provider accepted the message (accepted is not
 * delivered); otherwise throws BusError PROVIDER_UNAVAILABLE. Never logs the number or text.
 */
export interface SmsSender {
  send: (sms: OutgoingSms) => Promise<{ messageId: string }>
}

// ---- the rest ---------------------------------------------------------------------------------

export interface Randomness {
  /** Six digits from crypto.randomInt. */
  code: () => string
  /** Four digits from crypto.randomInt, drawn apart from the code. */
  reference: () => string
  challengeId: () => string
  phoneId: () => string
  /**
   * The same event id for the same `key`: requests that each notice one breaker opening publish
   * it once, as the stream drops duplicate Nats-Msg-Ids.
   */
  eventId: (key: string) => string
}

export interface SmsSettings {
  readonly appName: string
  readonly originHost: string
  readonly defaultLocale: string
  readonly codeTtlMs: number
  readonly maxTries: number
  readonly resendCooldownMs: number
  readonly maxSends: number
  readonly maxPhones: number
  readonly phoneVerifyTtlMs: number
  /** Regions numbers may be in; undefined: all. */
  readonly allowedRegions: ReadonlySet<string> | undefined
}

export interface SmsServiceDeps {
  readonly phones: PhoneStore
  readonly numbers: PhoneNumbers
  readonly cipher: PhoneCipher
  readonly digests: Digests
  readonly challenges: ChallengeStore
  readonly budget: SendBudget
  readonly conversion: ConversionBreaker
  readonly sender: SmsSender
  /** Sign-in attempts per user. */
  readonly gate: AttemptGate
  /** Codes typed to verify an added phone, counted apart so they never lock sign-in. */
  readonly confirmGate: AttemptGate
  /** By (challengeId, send number): a retried request never sends one SMS twice. */
  readonly deliveries: OutcomeLedger<{ messageId: string }>
  readonly startOutcomes: OutcomeLedger<StartSmsResponse>
  readonly addOutcomes: OutcomeLedger<EnrollSmsResponse>
  readonly verifyOutcomes: OutcomeLedger<VerifySmsResponse>
  readonly confirmOutcomes: OutcomeLedger<ConfirmSmsResponse>
  /** Notices by idempotency key (the notifier's event id): a retried notice is not sent twice. */
  readonly noticeOutcomes: OutcomeLedger<NotifyUserResponse>
  readonly random: Randomness
  readonly clock: Clock
  /** factor.enrolled / removed / locked, and smsbreaker.opened. */
  readonly events: EventSink
  readonly metrics: Pick<Metrics, 'inc'>
  readonly settings: SmsSettings
}
