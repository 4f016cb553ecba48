import { createHmac, timingSafeEqual } from 'node:crypto'
import type { ReportLinkClaims, ReportLinks } from '../ports.js'

const PURPOSE = 'warden.not-me.v1'
const MAX_TOKEN = 1024

/**
 * "Not you?" links: `<payload>.<mac>`, both base64url, the MAC an HMAC-SHA256 under a key of its
 * own (never reused for anything else), over the purpose and the payload. The token sits in the
 * URL's fragment: it never reaches a server log or a link-preview fetcher, and the page it opens
 * asks the user before it posts the token; a GET never locks anything.
 */
export function createHmacReportLinks (opts: { key: Uint8Array, baseUrl: string }): ReportLinks {
  if (opts.key.length < 32) throw new Error('the report link key must be at least 32 bytes')
  const mac = (payload: string): Buffer => createHmac('sha256', opts.key).update(`${PURPOSE}.${payload}`, 'utf8').digest()
  const base = opts.baseUrl.replace(/\/+$/, '')
  return {
    url (claims) {
      const payload = Buffer.from(JSON.stringify({ u: claims.userId, e: claims.eventId, x: Math.floor(claims.expiresAt.getTime() / 1000) }), 'utf8').toString('base64url')
      return `${base}/ui/#not-me=${payload}.${mac(payload).toString('base64url')}`
    },
    open (token): ReportLinkClaims | undefined {
      if (token.length > MAX_TOKEN) return undefined
      const parts = token.split('.')
      if (parts.length !== 2) return undefined
      const [payload = '', given = ''] = parts
      if (!/^[A-Za-z0-9_-]+$/.test(payload) || !/^[A-Za-z0-9_-]{43}$/.test(given)) return undefined
      // Compared as canonical text: base64url's unused low bits cannot make a second valid token.
      const expected = Buffer.from(mac(payload).toString('base64url'), 'utf8')
      const actual = Buffer.from(given, 'utf8')
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return undefined
      let claims: unknown
      try { claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) } catch { return undefined }
      const { u, e, x } = (claims ?? {}) as { u?: unknown, e?: unknown, x?: unknown }
      if (typeof u !== 'string' || typeof e !== 'string' || typeof x !== 'number' || !Number.isInteger(x)) return undefined
      return { userId: u, eventId: e, expiresAt: new Date(x * 1000) }
    },
  }
}
