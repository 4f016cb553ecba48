import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FactorDefinition, FactorName, PayloadOf, userReset } from '@warden/contracts'
import type { Log } from '@warden/service-kit'
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { Type } from 'typebox'
import type { FactorClient } from '../factor-client.js'
import type { ChallengeData, ChallengeFlow } from '../flows.js'
import type { SigninService } from '../signin.js'

/**
 * One strategy per factor (Kratos' strategies): everything the gateway does that depends on the
 * method lives in src/factors/<name>.ts behind this interface, and nowhere else. The sign-in and
 * self-service use cases, the REST unions and the routes are generic over the registry
 * (./index.ts).
 */

/** What a strategy gets when it starts or verifies a method of one open transaction. */
export interface MethodContext {
  readonly flow: ChallengeFlow
  readonly factors: FactorClient
  readonly now: Date
}

/** What a started method answers, and what the transaction keeps of it as its active challenge. */
export interface Started {
  readonly answer: Readonly<Record<string, unknown>>
  /** When the factor's challenge ends (a sent push or SMS). */
  readonly expiresAt?: string
  /** Only this strategy reads it back (a push's challenge id, the phone an SMS went to). */
  readonly data?: ChallengeData
}

export type RejectReason =
  | 'invalid_code' | 'replayed' | 'clock_skew' | 'expired' | 'no_challenge' | 'invalid_assertion' | 'unknown_credential'

export type ResetReason = PayloadOf<typeof userReset>['reason']

/** How a verify attempt ended, at the factor service. */
export type VerifyOutcome =
  /** Verified; `answer` adds method-specific fields to the REST answer (the emergency code's `newRecoveryCode`). */
  | { readonly result: 'verified', readonly answer?: Readonly<Record<string, string>> }
  /** Verified, and the user's 2FA is to be reset (the emergency code, permanent loss): they enroll again. */
  | { readonly result: 'reset', readonly reason: ResetReason }
  | { readonly result: 'rejected', readonly reason: RejectReason, readonly attemptsLeft?: number, readonly offsetSec?: number }

/** A method whose result arrives out of band (push: the user answers in the app) and is followed by a long-poll. */
export type FollowOutcome =
  /** Not decided yet, or nothing to decide any more (`state` is passed on: pending, expired). */
  | { readonly result: 'open', readonly state: string }
  | { readonly result: 'rejected', readonly state: string }
  /** `rememberDevice`: asked when the challenge was started (the long-poll has no body). */
  | { readonly result: 'verified', readonly state: string, readonly rememberDevice: boolean }

/**
 * The one way a strategy's self-service route binds or removes a factor of the user (factor-changes.ts):
 * wrap the factor service call in it, so every factor revokes alike. Binding the user's first factor
 * (the route was let through by an enrollment token, or by nothing because the user has no 2FA)
 * revokes every token issued before it; every binding and every removal revokes the user's
 * remembered devices. `req` is the route's request, after its `stepUp` / `enrollStepUp` preHandler.
 */
export interface FactorChangeHooks {
  /** `confirm` asks the factor service; `isBound` tells from its answer whether a factor is now bound (a wrong code is not). */
  bind<R> (req: FastifyRequest, factor: FactorName, confirm: () => Promise<R>, isBound: (result: R) => boolean): Promise<R>
  /** `remove` asks the factor service; the devices are revoked whatever it answers (a retry after a lost reply must revoke too). */
  remove<R> (req: FastifyRequest, factor: FactorName, remove: () => Promise<R>): Promise<R>
}

/** What a strategy's own routes may use. */
export interface RouteContext {
  readonly factors: FactorClient
  readonly signin: SigninService
  readonly log: Log
  /** preHandler of a change to the user's factors: a fresh MFA token once the user has 2FA. */
  readonly stepUp: preHandlerAsyncHookHandler
  /** preHandler of a route that adds a factor: an enrollment token also does. */
  readonly enrollStepUp: preHandlerAsyncHookHandler
  /** Every route that binds or removes a factor wraps its factor service call in these. */
  readonly factorChanges: FactorChangeHooks
}

/** Routes a strategy adds; app.ts registers them behind the primary-token check, under a prefix. */
export type FactorRoutes = (ctx: RouteContext) => FastifyPluginAsyncTypebox

export interface FactorStrategy<
  N extends FactorName = FactorName,
  CB extends Type.TObject = Type.TObject,
  VB extends Type.TObject = Type.TObject,
> {
  /** The factor, from contracts: name, amr, fallback, its endpoints. */
  readonly factor: FactorDefinition<N>

  /** POST /v1/signin/{id}/challenge with `method: <name>`. */
  readonly challenge: {
    /** The body, `method` included, with its title and examples (one member of the REST union). */
    readonly body: CB
    /** The answer (one member of the answer union; methods with nothing to send share NothingToSend). */
    readonly answer: Type.TSchema
    /** Sends the push or the SMS, makes options. Absent: nothing to send, the answer is {}. */
    start? (ctx: MethodContext, input: Type.Static<CB>): Promise<Started>
  }

  /** POST /v1/signin/{id}/verify with `method: <name>`. Absent: the method is verified otherwise (push: its long-poll). */
  readonly verify?: {
    readonly body: VB
    /** The user's answer, spelled for the idempotency key: the same answer gives the same key. */
    attemptAnswer (input: Type.Static<VB>): string
    /** Asks the factor service; `idempotencyKey` lets a retry after a lost reply be answered from its record. */
    check (ctx: MethodContext & { readonly idempotencyKey: string }, input: Type.Static<VB>): Promise<VerifyOutcome>
  }

  /** For a method verified out of band: recognises its active challenge, and asks the factor whether it was answered. */
  readonly follow?: {
    isActive: (data: ChallengeData, ref: string) => boolean
    poll: (ctx: MethodContext & { readonly data: ChallengeData, readonly waitMs: number }) => Promise<FollowOutcome>
  }

  /** What `GET /v1/signin/{id}` shows of the active challenge besides its method and end (push: the challenge id to follow). */
  activeView?: (data: ChallengeData) => { challengeId?: string }

  /** Extra sign-in routes, under /v1/signin (push: the long-poll). */
  readonly signinRoutes?: FactorRoutes
  /** The factor's self-service routes, under /v1/me/<name>. A factor with them is offered by `enrollment_required`. */
  readonly selfService?: FactorRoutes
}

// Handlers are methods, not function properties: a strategy with its own body types then still
// fits the registry's FactorStrategy (method parameters are checked both ways).

/**
 * Declares a strategy, keeping its body types for its own handlers (and for the REST unions'
 * types). A strategy without `verify` has `never` for its verify body.
 */
export function defineStrategy<N extends FactorName, CB extends Type.TObject, VB extends Type.TObject = never> (
  s: FactorStrategy<N, CB, VB>,
): FactorStrategy<N, CB, VB> {
  return s
}

/** A rejected verify, with what the factor said (only the fields it sent). */
export function rejected (reason: RejectReason, attemptsLeft: number | undefined, offsetSec?: number): VerifyOutcome {
  return {
    result: 'rejected',
    reason,
    ...(attemptsLeft === undefined ? {} : { attemptsLeft }),
    ...(offsetSec === undefined ? {} : { offsetSec }),
  }
}

/** The challenge body a strategy takes (its member of the REST union). */
export type ChallengeInputOf<S> = S extends FactorStrategy<FactorName, infer CB, Type.TObject> ? Type.Static<CB> : never
/** The verify body a strategy takes; never for a method not verified through POST /verify. */
export type VerifyInputOf<S> = S extends FactorStrategy<FactorName, Type.TObject, infer VB> ? ([VB] extends [never] ? never : Type.Static<VB>) : never
