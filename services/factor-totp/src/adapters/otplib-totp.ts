import { randomBytes, timingSafeEqual } from 'node:crypto'
import { NodeCryptoPlugin } from '@otplib/plugin-crypto-node'
import { generateSync, ScureBase32Plugin } from 'otplib'
import type { TotpAlgorithm } from '../ports.js'

const base32 = new ScureBase32Plugin()
// Node's native HMAC: a wrong code costs ~43 HMACs (window plus the clock-skew search), and the
// default pure-JS plugin made that the slowest step of a verify (see BENCHMARKS.md).
const crypto = new NodeCryptoPlugin()

/**
 * RFC 6238 with SHA-1 (what authenticator apps support everywhere), through otplib. `digits: 8`
 * exists for the RFC's test vectors; the service uses 6.
 */
export function createOtplibTotp (opts: { digits?: 6 | 8, periodSec?: number, secretBytes?: number } = {}): TotpAlgorithm {
  const digits = opts.digits ?? 6
  const periodSec = opts.periodSec ?? 30
  const secretBytes = opts.secretBytes ?? 20
  const codeAt = (secret: Uint8Array, step: number): string =>
    generateSync({ secret, epoch: step * periodSec, period: periodSec, digits, algorithm: 'sha1', crypto })
  return {
    periodSec,
    newSecret: () => new Uint8Array(randomBytes(secretBytes)),
    encodeSecret: (secret) => base32.encode(secret, { padding: false }),
    stepAt: (at) => Math.floor(at.getTime() / 1000 / periodSec),
    codeAt,
    matches (secret, step, code) {
      if (step < 0) return false
      const expected = Buffer.from(codeAt(secret, step), 'utf8')
      const given = Buffer.from(code, 'utf8')
      // The length is public (the contract fixes it); the digits are compared in constant time.
      return expected.length === given.length && timingSafeEqual(expected, given)
    },
    otpauthUri ({ issuer, accountName, secret }) {
      // Built by hand so algorithm/digits/period are always explicit (otplib drops defaults), and
      // with %20 rather than '+', which some apps show literally.
      const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`
      const query = [
        `secret=${base32.encode(secret, { padding: false })}`,
        `issuer=${encodeURIComponent(issuer)}`,
        'algorithm=SHA1',
        `digits=${digits}`,
        `period=${periodSec}`,
      ].join('&')
      return `otpauth://totp/${label}?${query}`
    },
  }
}
