import type { NatsConnection } from '@nats-io/transport-node'
import { BusError, DESCRIBE_ENDPOINTS, FACTORS, describeFactors, type AnyEndpoint, type DescribeResponse, type FactorName, type RequestOf, type ResponseOf } from '@warden/contracts'
import { isFault, request, scatter } from '@warden/contracts/nats'
import type { Log, Metrics } from '@warden/service-kit'
import { fromFactor } from './errors.js'

/** What the gateway knows about one factor of one user: its describe answer, or that it did not answer. */
export type FactorStatus =
  | (DescribeResponse & { available: true })
  | { factor: FactorName, available: false }

/** Every factor, in the order methods are preferred (contracts' FACTORS). */
const FACTOR_NAMES: readonly FactorName[] = FACTORS.map((f) => f.name)

export interface CallOptions { extraTimeoutMs?: number, retryOnTimeout?: boolean }

export interface FactorClient {
  /**
   * One call to a factor service, with FACTOR_TIMEOUT_MS (plus `extraTimeoutMs` for a long-poll
   * that may legitimately wait that long); its errors as the edge sees them. `retryOnTimeout`
   * sends the same body once more after a TIMEOUT: only for bodies with an idempotency key, whose
   * retry the factor answers from its record of the first attempt (half the deadline: it is quick).
   */
  call: <E extends AnyEndpoint>(endpoint: E, body: RequestOf<E>, opts?: CallOptions) => Promise<ResponseOf<E>>
  /**
   * Asks the factors' describe (all, or `only` those) with DESCRIBE_TIMEOUT_MS: one scatter request
   * that every factor service answers, back as soon as each factor asked has answered. A factor
   * that does not answer (down, slow, or broken) is `available: false`; the others keep working.
   * One factor alone is a plain request to its own describe.
   */
  describeAll: (userId: string, only?: readonly FactorName[]) => Promise<FactorStatus[]>
}

export function createFactorClient (deps: { nc: NatsConnection, timeoutMs: number, describeTimeoutMs: number, log: Log, metrics: Metrics }): FactorClient {
  const { nc, log, metrics } = deps

  async function attempt<E extends AnyEndpoint> (endpoint: E, body: RequestOf<E>, timeoutMs: number): Promise<ResponseOf<E>> {
    try {
      const res = await request(nc, endpoint, body, { timeoutMs })
      metrics.inc('factor_calls_total', { subject: endpoint.subject, outcome: 'ok' })
      return res
    } catch (err) {
      metrics.inc('factor_calls_total', { subject: endpoint.subject, outcome: BusError.is(err) ? err.code : 'INTERNAL' })
      throw err
    }
  }

  async function call<E extends AnyEndpoint> (endpoint: E, body: RequestOf<E>, opts: CallOptions = {}): Promise<ResponseOf<E>> {
    const timeoutMs = deps.timeoutMs + (opts.extraTimeoutMs ?? 0)
    try {
      return await attempt(endpoint, body, timeoutMs)
    } catch (err) {
      if (opts.retryOnTimeout !== true || !BusError.is(err) || err.code !== 'TIMEOUT') throw fromFactor(err)
      log.warn({ subject: endpoint.subject }, 'factor did not answer in time: asking again with the same idempotency key')
      try {
        return await attempt(endpoint, body, Math.ceil(timeoutMs / 2))
      } catch (retryErr) {
        throw fromFactor(retryErr)
      }
    }
  }

  function describedOk (factor: FactorName, res: DescribeResponse): FactorStatus {
    metrics.inc('factor_calls_total', { subject: DESCRIBE_ENDPOINTS[factor].subject, outcome: 'ok' })
    return { ...res, available: true }
  }

  function notDescribed (factor: FactorName, err: unknown): FactorStatus {
    const code = BusError.is(err) ? err.code : 'INTERNAL'
    metrics.inc('factor_calls_total', { subject: DESCRIBE_ENDPOINTS[factor].subject, outcome: code })
    if (code === 'UNAVAILABLE' || code === 'TIMEOUT') log.debug({ factor, errorCode: code }, 'factor did not answer describe')
    else log.warn({ err, factor, errorCode: code }, 'factor describe failed')
    return { factor, available: false }
  }

  async function describeOne (factor: FactorName, userId: string): Promise<FactorStatus> {
    try {
      const res = await request(nc, DESCRIBE_ENDPOINTS[factor], { userId }, { timeoutMs: deps.describeTimeoutMs })
      // A service answering for another factor is broken: treat it as not answering.
      if (res.factor !== factor) throw new BusError('INTERNAL', 'describe answered for another factor')
      return describedOk(factor, res)
    } catch (err) {
      return notDescribed(factor, err)
    }
  }

  /**
   * One publish on the scatter subject instead of one request per factor (bench/FIXES.md, 10).
   * Each factor service answers for its own factor (service-kit refuses a describe answering for
   * another), once per service; the first answer of a factor asked counts, anything else is
   * left out. Whoever did not answer by the deadline is unavailable (fail closed).
   */
  async function describeMany (factors: readonly FactorName[], userId: string): Promise<FactorStatus[]> {
    const waiting = new Set(factors)
    let replies: DescribeResponse[]
    try {
      replies = await scatter(nc, describeFactors, { userId }, {
        timeoutMs: deps.describeTimeoutMs,
        expected: waiting.size,
        accept: (res) => waiting.delete(res.factor),
        onIgnored: ({ error }) => {
          if (isFault(error)) log.warn({ err: error.cause ?? error, errorCode: error.code }, 'a factor answered describe with a fault')
          else log.debug({ errorCode: error.code }, 'a factor refused describe')
        },
      })
    } catch (err) {
      return factors.map((f) => notDescribed(f, err))
    }
    const heard = new Map(replies.map((res) => [res.factor, res]))
    return factors.map((f) => {
      const res = heard.get(f)
      return res === undefined ? notDescribed(f, new BusError('TIMEOUT', 'the service did not answer in time')) : describedOk(f, res)
    })
  }

  return {
    call,
    describeAll: async (userId, only = FACTOR_NAMES) => {
      const factors = FACTOR_NAMES.filter((f) => only.includes(f))
      return factors.length === 1 ? [await describeOne(factors[0] as FactorName, userId)] : describeMany(factors, userId)
    },
  }
}
