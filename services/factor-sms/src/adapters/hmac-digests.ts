import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { Digests } from '../ports.js'

/**
 * HMAC-SHA-256 with two keys derived (HKDF) from the one configured secret, so a number hash can
 * never be mistaken for a code MAC. Six-digit codes and phone numbers are small spaces: without a
 * server key, a leaked hash would be brute-forced in moments.
 */
export function createHmacDigests (secret: Uint8Array): Digests {
  if (secret.length < 32) throw new Error('SMS_HMAC_KEY must be at least 32 bytes')
  const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `warden-sms:${info}`, 32))
  const numberKey = derive('number')
  const codeKey = derive('code')
  const mac = (challengeId: string, code: string): Buffer => createHmac('sha256', codeKey).update(`${challengeId}\u0000${code}`, 'utf8').digest()
  return {
    numberHash: (e164) => createHmac('sha256', numberKey).update(e164, 'utf8').digest('base64url'),
    codeMac: (challengeId, code) => mac(challengeId, code).toString('base64url'),
    codeMatches (stored, challengeId, code) {
      const expected = Buffer.from(stored, 'base64url')
      const given = mac(challengeId, code)
      return expected.length === given.length && timingSafeEqual(expected, given)
    },
  }
}

/** Decodes SMS_HMAC_KEY (base64 or base64url). */
export function parseHmacKey (value: string): Buffer {
  return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
}
