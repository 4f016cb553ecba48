import { randomBytes } from 'node:crypto'
import type { FactorName } from '@warden/contracts'
import { fail } from './errors.js'

/**
 * A sign-in transaction (Kratos' login flow): a record with an id, an owner, an expiry and a state
 * that only moves forward. It lives in Redis (see adapters/flow-store.ts); every decision about it is a
 * pure function of (transaction, now) below, so tests move time instead of sleeping.
 *
 *   challenge ──challenge(method)──▶ challenge (with `active`: the method started last)
 *       ├──── verify ok / push approved ──▶ verified   (terminal: the transaction is consumed)
 *       ├──── recovery, permanent loss ───▶ reset      (terminal: 2FA was reset; enroll again)
 *       └──── now ≥ expiresAt ────────────▶ (expired: derived from the clock, never stored)
 *
 * `skipped`, `not_required` and `enrollment_required` are answers of POST /v1/signin that never
 * open a transaction.
 */
export type SigninPurpose = 'signin' | 'step-up'

export interface FlowContext { ip?: string, userAgent?: string }

/**
 * What a method keeps about its challenge between requests (push: the challenge the long-poll
 * follows, the device, "remember this device"; sms: the phone). Only its strategy reads it.
 */
export type ChallengeData = Readonly<Record<string, string | number | boolean>>

/** The method started last with POST /v1/signin/{id}/challenge. */
export interface ActiveChallenge {
  readonly method: FactorName
  readonly startedAt: string
  /** When the factor's challenge ends, when it has an end (a sent push or SMS). */
  readonly expiresAt?: string
  readonly data?: ChallengeData
}

interface FlowBase {
  readonly id: string
  /** `sub` of the primary token that started it: nobody else may see or use it. */
  readonly userId: string
  /** `azp` of the primary token: the audience of the MFA token and the key for policies. */
  readonly clientId: string
  readonly purpose: SigninPurpose
  /** step-up only: what the step-up is for; copied into the MFA token. */
  readonly action?: string
  /** The methods offered when the transaction started (enrolled, or unknown because the factor did not answer), in preference order. */
  readonly methods: readonly FactorName[]
  readonly createdAt: string
  readonly expiresAt: string
  /** `auth_time` of the primary token (seconds), when it had one: the password step. */
  readonly primaryAuthTime?: number
  readonly context?: FlowContext
  /** The IP the adaptive policy judged (context.ip, else the request's); recorded as known on success. */
  readonly ip?: string
  /** A valid remembered device presented at start but not spent (challenge anyway): replaced if the user asks to remember again. */
  readonly rememberedDeviceId?: string
  /** Rejected verifications in this transaction (informational: the limits are per user and factor). */
  readonly attempts: number
  /** Optimistic-concurrency revision: every write must name the revision it read. */
  readonly rev: number
}

export interface ChallengeFlow extends FlowBase { readonly state: 'challenge', readonly active?: ActiveChallenge }
export interface VerifiedFlow extends FlowBase { readonly state: 'verified', readonly verifiedAt: string, readonly method: FactorName }
/** A method that resets 2FA when verified (the emergency code, permanent loss) ends here. */
export interface ResetFlow extends FlowBase { readonly state: 'reset', readonly resetAt: string, readonly method: FactorName }
export type SigninFlow = ChallengeFlow | VerifiedFlow | ResetFlow
export type FlowState = SigninFlow['state']

/** The order states move in: a write may only keep the state or move to a later one. */
const RANK: Readonly<Record<FlowState, number>> = { challenge: 0, verified: 1, reset: 1 }
export const TERMINAL: readonly FlowState[] = ['verified', 'reset']

/** True when `next` may replace `prev`: same transaction, next revision, never backwards, never out of a terminal state. */
export function isForward (prev: SigninFlow, next: SigninFlow): boolean {
  if (prev.id !== next.id || prev.userId !== next.userId || next.rev !== prev.rev + 1) return false
  if (TERMINAL.includes(prev.state)) return false
  return RANK[next.state] >= RANK[prev.state]
}

/** `txn_` + 256 random bits, base64url (matches the contracts' FlowId). */
export function newFlowId (): string {
  return `txn_${randomBytes(32).toString('base64url')}`
}

export function newFlow (init: {
  id: string, userId: string, clientId: string, purpose: SigninPurpose, action?: string | undefined,
  methods: readonly FactorName[], now: Date, ttlMs: number, primaryAuthTime?: number | undefined, context?: FlowContext | undefined,
  ip?: string | undefined, rememberedDeviceId?: string | undefined,
}): ChallengeFlow {
  return {
    id: init.id,
    state: 'challenge',
    userId: init.userId,
    clientId: init.clientId,
    purpose: init.purpose,
    ...(init.action === undefined ? {} : { action: init.action }),
    methods: [...init.methods],
    createdAt: init.now.toISOString(),
    expiresAt: new Date(init.now.getTime() + init.ttlMs).toISOString(),
    ...(init.primaryAuthTime === undefined ? {} : { primaryAuthTime: init.primaryAuthTime }),
    ...(init.context === undefined ? {} : { context: init.context }),
    ...(init.ip === undefined ? {} : { ip: init.ip }),
    ...(init.rememberedDeviceId === undefined ? {} : { rememberedDeviceId: init.rememberedDeviceId }),
    attempts: 0,
    rev: 0,
  }
}

export function isExpired (flow: SigninFlow, now: Date): boolean {
  return now.getTime() >= Date.parse(flow.expiresAt)
}

/**
 * A transaction as its caller may see it. Another user's transaction is "not found", the same
 * answer as an unknown id, so ids cannot be probed across accounts.
 */
export function assertOwner (flow: SigninFlow | undefined, userId: string): SigninFlow {
  if (flow === undefined || flow.userId !== userId) throw fail('NOT_FOUND', 'no such sign-in transaction')
  return flow
}

/** Readable: any state, unless expired (410 FLOW_EXPIRED, a stable code). */
export function assertReadable (flow: SigninFlow, now: Date): SigninFlow {
  if (isExpired(flow, now)) throw fail('FLOW_EXPIRED', 'the sign-in transaction expired: start a new one')
  return flow
}

/**
 * Still open: not completed (409 CONFLICT) and not expired (410 FLOW_EXPIRED). Whether the user
 * has the method is the factor service's call (409 NOT_ENROLLED), not the transaction's: a factor
 * enrolled or answering again since the start is usable.
 */
export function assertOpen (flow: SigninFlow, now: Date): ChallengeFlow {
  if (flow.state !== 'challenge') throw fail('CONFLICT', 'the sign-in transaction is already completed')
  assertReadable(flow, now)
  return flow
}

/**
 * The active challenge of this open transaction, when it is of `method` and `isIt` recognises it
 * (push: the challenge id in the URL): else 404 (or 409/410 as assertOpen).
 */
export function assertActiveChallenge (
  flow: SigninFlow, method: FactorName, isIt: (data: ChallengeData) => boolean, now: Date,
): ChallengeFlow & { active: ActiveChallenge } {
  const open = assertOpen(flow, now)
  if (open.active === undefined || open.active.method !== method || !isIt(open.active.data ?? {})) {
    throw fail('NOT_FOUND', 'no such challenge in this sign-in transaction')
  }
  return open as ChallengeFlow & { active: ActiveChallenge }
}

/** challenge → challenge: `active` becomes the method just started (the previous one is forgotten). */
export function withChallenge (flow: ChallengeFlow, active: ActiveChallenge): ChallengeFlow {
  return { ...flow, active, rev: flow.rev + 1 }
}

/** challenge → verified. There is no way back. */
export function markVerified (flow: ChallengeFlow, method: FactorName, now: Date): VerifiedFlow {
  const { active: _active, ...rest } = flow
  return { ...rest, state: 'verified', method, verifiedAt: now.toISOString(), rev: flow.rev + 1 }
}

/** challenge → reset (an emergency code, "I have permanently lost access"). There is no way back. */
export function markReset (flow: ChallengeFlow, method: FactorName, now: Date): ResetFlow {
  const { active: _active, ...rest } = flow
  return { ...rest, state: 'reset', method, resetAt: now.toISOString(), rev: flow.rev + 1 }
}

export function recordRejection (flow: ChallengeFlow): ChallengeFlow {
  return { ...flow, attempts: flow.attempts + 1, rev: flow.rev + 1 }
}

/** How long a long-poll (push) may wait: what was asked, but never past the transaction's end. */
export function pollWaitMs (flow: SigninFlow, waitSec: number, now: Date): number {
  return Math.max(0, Math.min(waitSec * 1000, Date.parse(flow.expiresAt) - now.getTime()))
}

/** How long Redis keeps the record: its life, plus a while to answer FLOW_EXPIRED rather than NOT_FOUND. */
export function retentionMs (flow: SigninFlow, now: Date, graceMs: number): number {
  return Math.max(1, Date.parse(flow.expiresAt) - now.getTime() + graceMs)
}
