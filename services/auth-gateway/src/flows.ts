import { randomBytes } from 'node:crypto'
import type { FactorName } from '@warden/contracts'
import { fail } from './errors.js'

/**
 * A sign-in transaction (Kratos' login flow): a record with an id, an owner, an expiry and a state
 * that only moves forward. It lives in Redis (see plugins/flow-store.ts); every decision about it
 * is a pure function of (transaction, now) below, so tests move time instead of sleeping.
 *
 *   challenge ──verify ok──▶ verified   (terminal: the transaction is consumed)
 *       └──── now ≥ expiresAt ────▶ (expired: derived from the clock, never stored)
 *
 * The next states (enrollment_required, a started push/SMS challenge per method) extend the union.
 */
export type SigninPurpose = 'signin' | 'step-up'

export interface FlowContext { ip?: string, userAgent?: string }

interface FlowBase {
  readonly id: string
  /** `sub` of the primary token that started it: nobody else may see or use it. */
  readonly userId: string
  /** `azp` of the primary token: the audience of the MFA token and the key for policies. */
  readonly clientId: string
  readonly purpose: SigninPurpose
  readonly action?: string
  /** The methods offered when the transaction started, in preference order. */
  readonly methods: readonly FactorName[]
  readonly createdAt: string
  readonly expiresAt: string
  /** `auth_time` of the primary token (seconds), when it had one: the password step. */
  readonly primaryAuthTime?: number
  readonly context?: FlowContext
  /** Rejected verifications in this transaction (informational: the limits are per user and factor). */
  readonly attempts: number
  /** Optimistic-concurrency revision: every write must name the revision it read. */
  readonly rev: number
}

export interface ChallengeFlow extends FlowBase { readonly state: 'challenge' }
export interface VerifiedFlow extends FlowBase { readonly state: 'verified', readonly verifiedAt: string, readonly method: FactorName }
export type SigninFlow = ChallengeFlow | VerifiedFlow
export type FlowState = SigninFlow['state']

/** `txn_` + 256 random bits, base64url (matches the contracts' FlowId). */
export function newFlowId (): string {
  return `txn_${randomBytes(32).toString('base64url')}`
}

export function newFlow (init: {
  id: string, userId: string, clientId: string, purpose: SigninPurpose, action?: string | undefined,
  methods: readonly FactorName[], now: Date, ttlMs: number, primaryAuthTime?: number | undefined, context?: FlowContext | undefined,
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

/** Readable: any state, unless expired. */
export function assertReadable (flow: SigninFlow, now: Date): SigninFlow {
  if (isExpired(flow, now)) throw fail('FLOW_EXPIRED', 'the sign-in transaction expired: start a new one')
  return flow
}

/** Can take a verification with `method`: still open, not expired, and the method was offered. */
export function assertCanVerify (flow: SigninFlow, method: FactorName, now: Date): ChallengeFlow {
  if (flow.state === 'verified') throw fail('CONFLICT', 'the sign-in transaction is already completed')
  assertReadable(flow, now)
  if (!flow.methods.includes(method)) throw fail('CONFLICT', 'this method is not offered in this sign-in transaction')
  return flow
}

/** challenge → verified. The only transition today; there is no way back. */
export function markVerified (flow: ChallengeFlow, method: FactorName, now: Date): VerifiedFlow {
  return { ...flow, state: 'verified', method, verifiedAt: now.toISOString(), rev: flow.rev + 1 }
}

export function recordRejection (flow: ChallengeFlow): ChallengeFlow {
  return { ...flow, attempts: flow.attempts + 1, rev: flow.rev + 1 }
}

/** How long Redis keeps the record: its life, plus a while to answer FLOW_EXPIRED rather than NOT_FOUND. */
export function retentionMs (flow: SigninFlow, now: Date, graceMs: number): number {
  return Math.max(1, Date.parse(flow.expiresAt) - now.getTime() + graceMs)
}
