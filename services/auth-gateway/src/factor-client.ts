import type { NatsConnection } from '@nats-io/transport-node'
import { BusError, DESCRIBE_ENDPOINTS, FACTORS, type AnyEndpoint, type DescribeResponse, type FactorName, type RequestOf, type ResponseOf } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
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
   * Asks every factor's describe in parallel, each with DESCRIBE_TIMEOUT_MS. A factor that does not
   * answer (down, slow, or broken) is `available: false`; the others keep working.
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

  async function describeOne (factor: FactorName, userId: string): Promise<FactorStatus> {
    const endpoint = DESCRIBE_ENDPOINTS[factor]
    try {
      const res = await request(nc, endpoint, { userId }, { timeoutMs: deps.describeTimeoutMs })
      // A service answering for another factor is broken: treat it as not answering.
      if (res.factor !== factor) throw new BusError('INTERNAL', 'describe answered for another factor')
      metrics.inc('factor_calls_total', { subject: endpoint.subject, outcome: 'ok' })
      return { ...res, available: true }
    } catch (err) {
      const code = BusError.is(err) ? err.code : 'INTERNAL'
      metrics.inc('factor_calls_total', { subject: endpoint.subject, outcome: code })
      if (code === 'UNAVAILABLE' || code === 'TIMEOUT') log.debug({ factor, errorCode: code }, 'factor did not answer describe')
      else log.warn({ err, factor, errorCode: code }, 'factor describe failed')
      return { factor, available: false }
    }
  }

  return {
    call,
    describeAll: async (userId, only = FACTOR_NAMES) => Promise.all(FACTOR_NAMES.filter((f) => only.includes(f)).map((f) => describeOne(f, userId))),
  }
}
