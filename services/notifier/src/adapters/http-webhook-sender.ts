import { lookup as dnsLookup } from 'node:dns/promises'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupAddress } from 'node:dns'
import { refuseAddress, refuseUrl, type AddressPolicy } from '../address-policy.js'
import type { SendResult, WebhookSender } from '../ports.js'

export type Resolver = (hostname: string) => Promise<LookupAddress[]>

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true })

const kRefused = Symbol('refused')
type RefusedError = Error & { [kRefused]: string }

function refusedError (reason: string): RefusedError {
  return Object.assign(new Error(`refused: ${reason}`), { [kRefused]: reason })
}

/** A safe description of a failed attempt: the kind of failure, never the receiver's words. */
function describe (err: unknown): string {
  if (typeof err === 'object' && err !== null && kRefused in err) return `refused: ${(err as RefusedError)[kRefused]}`
  const code = (err as { code?: unknown } | null)?.code
  const name = (err as { name?: unknown } | null)?.name
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout'
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'name not resolved'
  if (code === 'ECONNRESET') return 'connection reset'
  if (typeof code === 'string' && /^(CERT_|ERR_TLS|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(code)) return 'TLS error'
  return 'network error'
}

/**
 * Webhook POSTs over node:http(s). The SSRF guard runs inside the socket's own DNS lookup: every
 * address the name resolves to must pass the policy, and the socket connects only to one of
 * those (no second lookup an attacker's DNS could answer differently). IP literals are checked
 * before the request (Node does not look them up). Redirects are not followed: a 3xx is a failure.
 */
export function createHttpWebhookSender (opts: { policy: AddressPolicy, timeoutMs: number, resolve?: Resolver }): WebhookSender {
  const resolve = opts.resolve ?? systemResolver
  const lookup = (hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
    resolve(hostname).then((addresses) => {
      if (addresses.length === 0) { callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' })); return }
      for (const a of addresses) {
        const reason = refuseAddress(a.address, opts.policy)
        if (reason !== undefined) { callback(refusedError(reason)); return }
      }
      const first = addresses[0] as LookupAddress
      if (options.all === true) callback(null, addresses)
      else callback(null, first.address, first.family)
    }, (err: unknown) => { callback(err) })
  }

  return {
    post: async ({ url, headers, body }): Promise<SendResult> => {
      const refused = refuseUrl(url, opts.policy)
      if (refused !== undefined) return { ok: false, error: `refused: ${refused}` }
      const u = new URL(url)
      const send = u.protocol === 'https:' ? httpsRequest : httpRequest
      try {
        const status = await new Promise<number>((resolvePromise, reject) => {
          const req = send(u, {
            method: 'POST',
            headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
            lookup: lookup as never,
            signal: AbortSignal.timeout(opts.timeoutMs),
          }, (res: IncomingMessage) => {
            // The body is not read for meaning; drain it so the socket can be reused.
            res.resume()
            res.on('end', () => { resolvePromise(res.statusCode ?? 0) })
            res.on('error', reject)
          })
          req.on('error', reject)
          req.end(body)
        })
        if (status >= 200 && status < 300) return { ok: true, status }
        return { ok: false, status, error: status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}` }
      } catch (err) {
        return { ok: false, error: describe(err) }
      }
    },
  }
}
