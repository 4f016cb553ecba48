import type { FactorName } from '@warden/contracts'
import type { Clock, Log, Metrics } from '@warden/service-kit'
import { fail } from './errors.js'
import type { FactorClient, FactorStatus } from './factors.js'
import type { FlowStore } from './flow-store.js'
import {
  assertCanVerify, assertOwner, assertReadable, markVerified, newFlow, newFlowId, recordRejection,
  type ChallengeFlow, type FlowContext, type SigninFlow, type SigninPurpose,
} from './flows.js'
import { chooseDefault, STRATEGIES, twoFactorState, type VerifyInput } from './methods.js'
import type { Principal, Tokens } from './plugins/tokens.js'
import type { MethodView, SigninStart, SigninView, VerifyAnswer } from './schemas.js'

export interface SigninDeps {
  factors: FactorClient
  flows: FlowStore
  tokens: Tokens
  clock: Clock
  log: Log
  metrics: Metrics
  ttlMs: number
}

export interface StartInput { purpose?: SigninPurpose, action?: string, context?: FlowContext }

function methodView (s: FactorStatus): MethodView {
  if (!s.available) return { method: s.factor, available: false, items: [] }
  return {
    method: s.factor,
    available: true,
    ...(s.lockedUntil === undefined ? {} : { lockedUntil: s.lockedUntil }),
    items: s.items,
  }
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000)

/** Sign-in after the password: the use cases behind /v1/signin. Routes only translate HTTP. */
export function createSigninService (deps: SigninDeps) {
  const { factors, flows, tokens, clock } = deps

  /** Reads, changes and writes back one transaction; retries when a parallel write got in first. */
  async function update<T extends SigninFlow> (flow: ChallengeFlow, change: (f: ChallengeFlow) => T): Promise<T | undefined> {
    let current: SigninFlow | undefined = flow
    for (let i = 0; i < 3 && current !== undefined && current.state === 'challenge'; i++) {
      const next = change(current)
      if (await flows.replace(next, current.rev)) return next
      current = await flows.load(flow.id)
    }
    return undefined
  }

  return {
    async start (principal: Principal, input: StartInput): Promise<SigninStart> {
      const now = clock.now()
      const statuses = await factors.describeAll(principal.sub)
      const state = twoFactorState(statuses)
      if (state === 'unknown') {
        // Fail closed: a factor that did not answer may be the one the user has.
        deps.metrics.inc('signin_total', { status: 'unavailable' })
        throw fail('UNAVAILABLE', 'cannot tell which factors the user has right now', { retryAfterSec: 5 })
      }
      if (state === 'none') {
        // The next issue adds policies (enrollment_required); for now no factor means no challenge.
        deps.metrics.inc('signin_total', { status: 'not_required' })
        const token = await tokens.signMfa({
          sub: principal.sub, aud: principal.clientId, amr: [], acr: 'aal1',
          authTime: principal.authTime ?? seconds(now),
          ...(input.action === undefined ? {} : { action: input.action }),
        })
        return { status: 'not_required', token }
      }
      const enrolled = statuses.filter((s) => s.available && s.enrolled)
      const flow = newFlow({
        id: newFlowId(),
        userId: principal.sub,
        clientId: principal.clientId,
        purpose: input.purpose ?? 'signin',
        action: input.action,
        methods: enrolled.map((s) => s.factor),
        now,
        ttlMs: deps.ttlMs,
        primaryAuthTime: principal.authTime,
        context: input.context,
      })
      await flows.create(flow)
      deps.metrics.inc('signin_total', { status: 'challenge' })
      deps.log.info({ flowId: flow.id, methods: flow.methods }, 'sign-in transaction started')
      return {
        status: 'challenge',
        transactionId: flow.id,
        expiresAt: flow.expiresAt,
        methods: enrolled.map(methodView),
        defaultMethod: chooseDefault(enrolled, now) as FactorName,
      }
    },

    async get (principal: Principal, id: string): Promise<SigninView> {
      const flow = assertReadable(assertOwner(await flows.load(id), principal.sub), clock.now())
      const base = {
        transactionId: flow.id,
        purpose: flow.purpose,
        ...(flow.action === undefined ? {} : { action: flow.action }),
        expiresAt: flow.expiresAt,
      }
      if (flow.state === 'verified') return { ...base, status: 'verified', methods: [] }
      // Fresh answers (locks change), for the methods this transaction offers ("Try another way").
      const statuses = await factors.describeAll(flow.userId, flow.methods)
      const offered = statuses.filter((s) => !s.available || s.enrolled)
      const defaultMethod = chooseDefault(offered, clock.now())
      return {
        ...base,
        status: 'challenge',
        methods: offered.map(methodView),
        ...(defaultMethod === undefined ? {} : { defaultMethod }),
      }
    },

    async verify (principal: Principal, id: string, input: VerifyInput & { method: FactorName }): Promise<VerifyAnswer> {
      const flow = assertCanVerify(assertOwner(await flows.load(id), principal.sub), input.method, clock.now())
      const strategy = STRATEGIES[input.method]
      if (strategy === undefined) throw fail('CONFLICT', 'this method cannot be verified yet')
      const outcome = await strategy.verify(factors, flow, input)
      if (outcome.result === 'rejected') {
        await update(flow, recordRejection)
        deps.metrics.inc('signin_verify_total', { method: input.method, result: 'rejected' })
        return outcome.attemptsLeft === undefined
          ? { status: 'rejected', reason: outcome.reason }
          : { status: 'rejected', reason: outcome.reason, attemptsLeft: outcome.attemptsLeft }
      }
      const now = clock.now()
      // Exactly one verification consumes the transaction; a parallel one that also passed loses here.
      const done = await update(flow, (f) => markVerified(f, input.method, now))
      if (done === undefined) throw fail('CONFLICT', 'the sign-in transaction is already completed')
      deps.metrics.inc('signin_verify_total', { method: input.method, result: 'verified' })
      deps.log.info({ flowId: flow.id, method: input.method }, 'second factor verified')
      const token = await tokens.signMfa({
        sub: flow.userId,
        aud: flow.clientId,
        amr: [...strategy.amr, 'mfa'],
        acr: 'aal2',
        authTime: seconds(now),
        ...(flow.action === undefined ? {} : { action: flow.action }),
      })
      return { status: 'verified', token }
    },
  }
}

export type SigninService = ReturnType<typeof createSigninService>
