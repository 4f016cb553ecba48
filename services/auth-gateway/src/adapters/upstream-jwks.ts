import { createPublicKey, type JsonWebKey } from 'node:crypto'
import type { JWK } from 'jose'
import type { Log } from '@warden/service-kit'
import { fail } from '../errors.js'

interface JwksCacheEntry { pem: string, alg?: string }

/**
 * The upstream IdP's JWKS, fetched on demand and cached: refreshed after `ttlMs`, or when an
 * unknown `kid` arrives (at most once per `minRefreshMs`, so garbage kids cannot hammer the IdP).
 */
export function createJwksResolver (url: string, log: Log, opts = { ttlMs: 10 * 60_000, minRefreshMs: 30_000, timeoutMs: 2_000 }) {
  let keys = new Map<string, JwksCacheEntry>()
  let fetchedAt = 0
  let inflight: Promise<void> | undefined

  async function refresh (): Promise<void> {
    inflight ??= (async () => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs), headers: { accept: 'application/json' } })
        if (!res.ok) throw new Error(`JWKS answered ${res.status}`)
        const body = await res.json() as { keys?: unknown }
        if (!Array.isArray(body.keys)) throw new Error('JWKS has no keys array')
        const next = new Map<string, JwksCacheEntry>()
        for (const jwk of body.keys as JWK[]) {
          if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string') continue
          if (jwk.use !== undefined && jwk.use !== 'sig') continue
          if (jwk.kty === 'oct') continue // a shared secret has no place in a public key set
          try {
            const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
            next.set(jwk.kid, typeof jwk.alg === 'string' ? { pem, alg: jwk.alg } : { pem })
          } catch {
            log.warn({ kid: jwk.kid }, 'ignoring an unusable key in the primary JWKS')
          }
        }
        keys = next
        fetchedAt = Date.now()
      } finally {
        inflight = undefined
      }
    })()
    return inflight
  }

  return async (kid: unknown, alg: unknown): Promise<string> => {
    if (typeof kid !== 'string' || kid.length > 200) throw fail('UNAUTHENTICATED', 'the token names no usable key')
    const stale = Date.now() - fetchedAt > opts.ttlMs
    const canRefresh = Date.now() - fetchedAt > opts.minRefreshMs
    if (stale || (!keys.has(kid) && canRefresh)) {
      try {
        await refresh()
      } catch (err) {
        log.warn({ err }, 'primary JWKS fetch failed')
        // Fail closed: with no key we cannot say yes, and a 401 would blame the client.
        if (!keys.has(kid)) throw fail('UNAVAILABLE', 'the identity provider\'s keys are not available', { retryAfterSec: 5 })
      }
    }
    const entry = keys.get(kid)
    if (entry === undefined) throw fail('UNAUTHENTICATED', 'the token names an unknown key')
    if (entry.alg !== undefined && entry.alg !== alg) throw fail('UNAUTHENTICATED', 'the token algorithm does not fit its key')
    return entry.pem
  }
}
