import type { Amr, FactorName } from '@warden/contracts'
import type { AttemptKey } from './attempt-key.js'
import type { Clock, Log, Metrics } from '@warden/service-kit'
import { decisionOfError, type Audit, type SecondFactorDecision } from './audit.js'
import { fail } from './errors.js'
import type { FactorClient, FactorStatus } from './factor-client.js'
import type { Strategies } from './factors/index.js'
import type { FactorStrategy, MethodContext } from './factors/strategy.js'
import {
  assertActiveChallenge, assertOpen, assertOwner, assertReadable, isForward, markReset, markVerified, newFlow, newFlowId,
  pollWaitMs, recordRejection, withChallenge, type ChallengeFlow, type FlowContext, type SigninFlow, type SigninPurpose,
} from './flows.js'
import { AMR, chooseDefault, offeredMethods, twoFactorState } from './methods.js'
import type { Principal, Tokens } from './plugins/tokens.js'
import { decideSignin } from './policy.js'
import type { FlowStore, PolicyStore, RememberDeviceStore, Revocation, RiskSignals, SigninEventContext, SigninEvents, UserLocks, UserReset } from './ports.js'
import { isCurrent } from './revocation.js'
import type { ChallengeInput, MethodView, SigninStart, SigninView, VerifyAnswer, VerifyInput } from './schemas.js'

/** What the long-poll of a method verified out of band (push) answers: its state, and the tokens once verified. */
export type FollowAnswer = { state: string, reason?: string } | { state: string, token: string, rememberToken?: string }

export interface SigninDeps {
  factors: FactorClient
  flows: FlowStore
  tokens: Tokens
  policies: PolicyStore
  rememberedDevices: RememberDeviceStore
  risk: RiskSignals
  resetUser: UserReset
  /** "Not you?" locks: a locked user gets no second-factor sign-in until an admin reset. */
  userLocks?: UserLocks
  /** The idempotency key of a verify attempt: one per (transaction, method, answer). */
  attemptKey: AttemptKey
  /** How each method is started and verified (src/factors/). */
  strategies: Strategies
  /** The methods a user without 2FA can enroll now, in the order to offer them. */
  enrollable: readonly FactorName[]
  /** Remember tokens issued before the user's last reset or disable are refused. */
  revocation: Revocation
  /** One line per second-factor decision. */
  audit: Audit
  /** verification.rejected, device.remembered, network.seen: fire and forget (never slows or fails a sign-in). */
  events?: SigninEvents
  clock: Clock
  log: Log
  metrics: Metrics
  ttlMs: number
}

export interface StartInput {
  purpose: SigninPurpose
  /** step-up only (the route refuses it otherwise). */
  action?: string
  rememberToken?: string
  context?: FlowContext
  /** The request's own peer address: the IP judged when the client app sends no context.ip. */
  requestIp?: string
  /** The request's User-Agent: the remembered device's label when the client app sends no context.userAgent. */
  requestUserAgent?: string
}

/** The request that carried an answer (verify, a long-poll): for the audit line. */
export interface AnswerRequest { peerIp?: string }

interface Decision { record: (d: Pick<SecondFactorDecision, 'outcome' | 'reason' | 'attemptsLeft'>) => void }

function methodView (s: FactorStatus): MethodView {
  if (!s.available) return { method: s.factor, available: false, items: [] }
  return {
    method: s.factor,
    available: true,
    ...(s.createdAt === undefined ? {} : { createdAt: s.createdAt }),
    ...(s.lockedUntil === undefined ? {} : { lockedUntil: s.lockedUntil }),
    ...(s.lockReason === undefined ? {} : { lockReason: s.lockReason }),
    // An item not verified yet (a phone waiting for its code) cannot be used to sign in.
    items: s.items.filter((item) => item.verified !== false),
  }
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000)

/** Where a transaction's sign-in came from, for its events. */
const contextOf = (flow: SigninFlow): SigninEventContext => ({ clientId: flow.clientId, ip: flow.ip, userAgent: flow.context?.userAgent })

/** Sign-in after the password: the use cases behind /v1/signin. Routes only translate HTTP. */
export function createSigninService (deps: SigninDeps) {
  const { factors, flows, tokens, clock, log, metrics } = deps
  const strategyOf = (method: FactorName): FactorStrategy => deps.strategies[method] as FactorStrategy

  /**
   * Reads, changes and writes back one transaction (compare-and-set on `rev`); retries on the
   * record as it now is when a parallel write got in first, while it is still open. Every write
   * moves it forward (checked). Undefined when it is no longer open.
   */
  async function update<T extends SigninFlow> (flow: SigninFlow, change: (f: ChallengeFlow) => T): Promise<T | undefined> {
    let current: SigninFlow | undefined = flow
    for (let i = 0; i < 5 && current !== undefined && current.state === 'challenge'; i++) {
      const next = change(current)
      if (!isForward(current, next)) throw new Error('a sign-in transaction may only move forward')
      if (await flows.replace(next, current.rev)) return next
      current = await flows.load(flow.id)
    }
    return undefined
  }

  /**
   * The audit line of one answer on this transaction (audit.ts): the first decision recorded is
   * the one written; a failure after it (a store down while recording it) is not a second one.
   */
  function decisionOn (flow: ChallengeFlow, factor: FactorName, request: AnswerRequest): Decision {
    let recorded = false
    return {
      record (d) {
        if (recorded) return
        recorded = true
        if (d.outcome === 'rejected') deps.events?.rejected({ userId: flow.userId, factor, reason: d.reason ?? 'rejected', context: contextOf(flow) })
        deps.audit.secondFactor({
          userId: flow.userId, transactionId: flow.id, factor, purpose: flow.purpose, clientId: flow.clientId,
          ...(request.peerIp === undefined ? {} : { ip: request.peerIp }),
          ...d,
        })
      },
    }
  }

  /** Runs the judging of one answer; an error it ends in is that answer's audit line (unless one was written). */
  async function judged<T> (decision: Decision, judge: () => Promise<T>): Promise<T> {
    try {
      return await judge()
    } catch (err) {
      decision.record(decisionOfError(err))
      throw err
    }
  }

  /** A rejected attempt: counted for the adaptive policy and in the transaction. */
  async function reject (flow: ChallengeFlow, method: FactorName): Promise<void> {
    metrics.inc('signin_verify_total', { method, result: 'rejected' })
    // Not best effort: a failure that is not recorded could let the next adaptive sign-in skip.
    await deps.risk.recordFailure(flow.userId)
    await update(flow, recordRejection)
  }

  /**
   * After a verified factor (a code, an assertion or an approved push): the transaction is
   * consumed (exactly one winner), the network becomes known, and the MFA token is signed.
   * A step-up's token lives no longer than the application's stepUpMaxAgeSec (read before the
   * transaction is consumed: a store that is down leaves it open for the retry).
   * A remember token is issued when asked, never for a step-up, never when the policy says 0 days.
   */
  async function complete (flow: ChallengeFlow, method: FactorName, rememberDevice: boolean, decision: Decision, amr: readonly Amr[] = AMR[method]): Promise<{ token: string, rememberToken?: string }> {
    const stepUpMaxAgeSec = flow.purpose === 'step-up' ? (await deps.policies.get(flow.clientId)).stepUpMaxAgeSec : undefined
    const now = clock.now()
    const done = await update(flow, (f) => markVerified(assertOpen(f, now), method, now))
    if (done === undefined) throw fail('CONFLICT', 'the sign-in transaction is already completed')
    metrics.inc('signin_verify_total', { method, result: 'verified' })
    decision.record({ outcome: 'verified' })
    // Recorded, announced and signed at once: the network write and the "new network?" check go to
    // Redis in one pipelined write, and the token is signed while they travel (one round trip less
    // on every verified sign-in). Answered only once the network is recorded, as before.
    const recorded = deps.risk.recordSuccess(flow.userId, flow.ip).catch((err: unknown) => {
      // Best effort: a network not recorded only makes the next adaptive sign-in ask again.
      log.warn({ err, flowId: flow.id }, 'could not record the sign-in network')
    })
    deps.events?.signedIn({ userId: flow.userId, context: contextOf(flow) })
    const signed = tokens.signMfa({
      sub: flow.userId,
      aud: flow.clientId,
      amr: [...amr, 'mfa'],
      acr: 'aal2',
      authTime: seconds(now),
      ...(flow.action === undefined ? {} : { action: flow.action }),
    }, stepUpMaxAgeSec === undefined ? {} : { maxTtlSec: stepUpMaxAgeSec })
    const [token] = await Promise.all([signed, recorded])
    if (!rememberDevice || flow.purpose !== 'signin') return { token }
    try {
      const policy = await deps.policies.get(flow.clientId)
      if (policy.rememberDays <= 0) return { token }
      // The device presented at the start (valid, but asked anyway) is replaced, not duplicated.
      if (flow.rememberedDeviceId !== undefined) await deps.rememberedDevices.revoke(flow.userId, flow.rememberedDeviceId)
      const issued = await deps.rememberedDevices.issue(flow.userId, { label: flow.context?.userAgent ?? 'Unknown device', days: policy.rememberDays })
      metrics.inc('remembered_devices_issued_total', {})
      deps.events?.remembered({ userId: flow.userId, deviceId: issued.device.id, context: contextOf(flow) })
      return { token, rememberToken: issued.token }
    } catch (err) {
      // The transaction is consumed: hand out the MFA token; the device is just not remembered.
      log.warn({ err, flowId: flow.id }, 'could not remember the device')
      return { token }
    }
  }

  return {
    async start (principal: Principal, input: StartInput): Promise<SigninStart> {
      const now = clock.now()
      const { sub, clientId } = principal
      const ip = input.context?.ip ?? input.requestIp
      if (await deps.userLocks?.lockedBy(sub) !== undefined) {
        throw fail('FORBIDDEN', 'your second factor is locked after a "Not you?" report: contact support')
      }
      const [statuses, policy] = await Promise.all([factors.describeAll(sub), deps.policies.get(clientId)])
      const state = twoFactorState(statuses)
      if (state === 'unknown') {
        // Fail closed: a factor that did not answer may be the one the user has.
        metrics.inc('signin_total', { status: 'unavailable' })
        throw fail('UNAVAILABLE', 'cannot tell which factors the user has right now', { retryAfterSec: 5 })
      }
      const has2fa = state === 'enrolled'
      // A remembered device is only looked at (never spent) until the decision says skip; one
      // remembered before the user's last reset or disable is not remembered at all.
      let device = input.purpose === 'signin' && has2fa && input.rememberToken !== undefined
        ? await deps.rememberedDevices.peek(sub, input.rememberToken, policy.rememberDays)
        : undefined
      if (device !== undefined && !isCurrent(Date.parse(device.createdAt), await deps.revocation.validAfter(sub))) device = undefined
      const signals = device !== undefined && policy.mode === 'adaptive'
        ? await deps.risk.assess(sub, ip)
        : { knownNetwork: false, firstSignin: true, recentFailures: false }
      let decision = decideSignin({ purpose: input.purpose, policy, has2fa, rememberedDevice: device !== undefined, ...signals })
      const authTime = principal.authTime ?? seconds(now)

      if (decision.status === 'skipped') {
        const used = await deps.rememberedDevices.use(sub, input.rememberToken as string, policy.rememberDays)
        if (used !== undefined) {
          metrics.inc('signin_total', { status: 'skipped' })
          deps.events?.signedIn({ userId: sub, context: { clientId, ip, userAgent: input.context?.userAgent ?? input.requestUserAgent } })
          log.info({ deviceId: used.device.id, clientId }, 'second factor skipped: remembered device')
          const token = await tokens.signMfa({ sub, aud: clientId, amr: [], acr: 'aal1', authTime, remembered: true })
          return { status: 'skipped', token, rememberToken: used.token }
        }
        // A parallel sign-in spent the token first: this one asks.
        decision = { status: 'challenge', why: 'device_not_remembered' }
      }
      if (decision.status === 'not_required') {
        metrics.inc('signin_total', { status: 'not_required' })
        deps.events?.signedIn({ userId: sub, context: { clientId, ip, userAgent: input.context?.userAgent ?? input.requestUserAgent } })
        const token = await tokens.signMfa({ sub, aud: clientId, amr: [], acr: 'aal1', authTime })
        return { status: 'not_required', token }
      }
      if (decision.status === 'enrollment_required') {
        metrics.inc('signin_total', { status: 'enrollment_required' })
        // Issued as of the facts it rests on ("no factor", read at `now`): a first factor
        // confirmed since then revokes it.
        const enrollmentToken = await tokens.signEnrollment({ sub, aud: clientId, amr: [], authTime }, { issuedAt: now })
        const steps = deps.enrollable.filter((m) => statuses.some((s) => s.factor === m && s.available))
        return { status: 'enrollment_required', steps: steps.length > 0 ? steps : [...deps.enrollable], enrollmentToken }
      }

      const offered = offeredMethods(statuses)
      const userAgent = input.context?.userAgent ?? input.requestUserAgent?.slice(0, 512)
      const flow = newFlow({
        id: newFlowId(),
        userId: sub,
        clientId,
        purpose: input.purpose,
        action: input.action,
        methods: offered.map((s) => s.factor),
        now,
        ttlMs: deps.ttlMs,
        primaryAuthTime: principal.authTime,
        context: {
          ...(input.context?.ip === undefined ? {} : { ip: input.context.ip }),
          ...(userAgent === undefined ? {} : { userAgent }),
        },
        ip,
        rememberedDeviceId: device?.id,
      })
      await flows.create(flow)
      const defaultMethod = chooseDefault(statuses, now)
      metrics.inc('signin_total', { status: 'challenge' })
      log.info({ flowId: flow.id, methods: flow.methods, purpose: flow.purpose, why: decision.why }, 'sign-in transaction started')
      return {
        status: 'challenge',
        transactionId: flow.id,
        expiresAt: flow.expiresAt,
        methods: offered.map(methodView),
        ...(defaultMethod === undefined ? {} : { defaultMethod }),
      }
    },

    /** "Try another way": the state, and every method the user has, asked afresh (locks change). */
    async get (principal: Principal, id: string): Promise<SigninView> {
      const flow = assertReadable(assertOwner(await flows.load(id), principal.sub), clock.now())
      const base = {
        transactionId: flow.id,
        purpose: flow.purpose,
        ...(flow.action === undefined ? {} : { action: flow.action }),
        expiresAt: flow.expiresAt,
      }
      if (flow.state !== 'challenge') return { ...base, status: flow.state, methods: [] }
      const statuses = await factors.describeAll(flow.userId)
      const defaultMethod = chooseDefault(statuses, clock.now())
      const a = flow.active
      return {
        ...base,
        status: 'challenge',
        methods: offeredMethods(statuses).map(methodView),
        ...(defaultMethod === undefined ? {} : { defaultMethod }),
        ...(a === undefined
          ? {}
          : {
              activeChallenge: {
                method: a.method,
                ...strategyOf(a.method).activeView?.(a.data ?? {}),
                ...(a.expiresAt === undefined ? {} : { expiresAt: a.expiresAt }),
              },
            }),
      }
    },

    /** Starts a method (sends the push or the SMS, makes WebAuthn options) and records it as the active one. */
    async challenge (principal: Principal, id: string, input: ChallengeInput): Promise<Record<string, unknown>> {
      const flow = assertOpen(assertOwner(await flows.load(id), principal.sub), clock.now())
      const strategy = strategyOf(input.method)
      const ctx: MethodContext = { flow, factors, now: clock.now() }
      // Nothing to send (the user reads the code from the app, or from where the emergency code is kept): {}.
      const started = strategy.challenge.start === undefined ? { answer: {} } : await strategy.challenge.start(ctx, input)
      const now = clock.now()
      const active = {
        method: input.method,
        startedAt: ctx.now.toISOString(),
        ...(started.expiresAt === undefined ? {} : { expiresAt: started.expiresAt }),
        ...(started.data === undefined ? {} : { data: started.data }),
      }
      const done = await update(flow, (f) => withChallenge(assertOpen(f, now), active))
      if (done === undefined) throw fail('CONFLICT', 'the sign-in transaction is already completed')
      metrics.inc('signin_challenge_total', { method: input.method })
      log.info({ flowId: flow.id, method: input.method }, 'method started')
      return started.answer
    },

    /**
     * The long-poll of a method verified out of band (push): `ref` names the transaction's active
     * challenge (else 404); waits up to `waitSec` (never past the transaction's end) for the answer.
     * Verified consumes the transaction like a code does; rejected counts as a failure.
     */
    async follow (principal: Principal, id: string, method: FactorName, ref: string, waitSec: number, request: AnswerRequest = {}): Promise<FollowAnswer> {
      const now = clock.now()
      const step = strategyOf(method).follow
      if (step === undefined) throw fail('NOT_FOUND', 'no such challenge in this sign-in transaction')
      const flow = assertActiveChallenge(assertOwner(await flows.load(id), principal.sub), method, (data) => step.isActive(data, ref), now)
      const data = flow.active.data ?? {}
      const outcome = await step.poll({ flow, factors, now, data, waitMs: pollWaitMs(flow, waitSec, now) })
      if (outcome.result === 'open') return { state: outcome.state }
      const decision = decisionOn(flow, method, request)
      return judged(decision, async () => {
        if (outcome.result === 'rejected') {
          decision.record({ outcome: 'rejected', reason: outcome.reason ?? outcome.state })
          await reject(flow, method)
          return outcome.reason === undefined ? { state: outcome.state } : { state: outcome.state, reason: outcome.reason }
        }
        const done = await complete(flow, method, outcome.rememberDevice, decision)
        return { state: outcome.state, ...done }
      })
    },

    /** Every answer the factor judged writes one audit line; refusals before that (404, 410) are not decisions. */
    async verify (principal: Principal, id: string, input: VerifyInput, request: AnswerRequest = {}): Promise<VerifyAnswer> {
      const flow = assertOpen(assertOwner(await flows.load(id), principal.sub), clock.now())
      const step = strategyOf(input.method).verify
      // The REST schema only lets through methods that have a verify step.
      if (step === undefined) throw fail('BAD_REQUEST', 'this method is not verified here')
      const decision = decisionOn(flow, input.method, request)
      return judged(decision, async () => {
        // If the reply is lost, a retry of the same answer (the gateway's, or the user's) carries the
        // same key and is answered from the factor's record, not tried a second time (SECURITY.md §3).
        const idempotencyKey = deps.attemptKey(flow.id, input.method, step.attemptAnswer(input))
        const outcome = await step.check({ flow, factors, now: clock.now(), idempotencyKey }, input)
        if (outcome.result === 'rejected') {
          decision.record({ outcome: 'rejected', reason: outcome.reason, ...(outcome.attemptsLeft === undefined ? {} : { attemptsLeft: outcome.attemptsLeft }) })
          await reject(flow, input.method)
          const { result: _, ...why } = outcome
          return { status: 'rejected', ...why }
        }
        if (outcome.result === 'reset') {
          // Permanent loss: the emergency code was spent; 2FA is reset and the user enrolls again.
          const now = clock.now()
          const done = await update(flow, (f) => markReset(assertOpen(f, now), input.method, now))
          if (done === undefined) throw fail('CONFLICT', 'the sign-in transaction is already completed')
          metrics.inc('signin_verify_total', { method: input.method, result: 'reset' })
          decision.record({ outcome: 'reset', reason: 'permanent_recovery' })
          const { eventId, validAfter } = await deps.resetUser(flow.userId, outcome.reason)
          log.info({ flowId: flow.id, eventId }, '2FA reset with a verified factor')
          // Issued after the reset's cutoff, even within its millisecond (ties revoke: revocation.ts).
          const issuedAt = new Date(Math.max(clock.now().getTime(), validAfter + 1))
          const enrollmentToken = await tokens.signEnrollment({ sub: flow.userId, aud: flow.clientId, amr: [...AMR[input.method], 'mfa'], authTime: seconds(now) }, { issuedAt })
          return { status: 'reset', enrollmentToken }
        }
        const done = await complete(flow, input.method, input.rememberDevice === true, decision, outcome.amr)
        return { status: 'verified', ...done, ...outcome.answer }
      })
    },
  }
}

export type SigninService = ReturnType<typeof createSigninService>
