import { generateSync } from 'otplib'
import type { TotpAccount } from './home.js'

/** Parses an otpauth://totp/ URI (Key Uri Format). Throws with a message fit to show, never echoing the secret. */
export function parseOtpauthUri (uri: string): TotpAccount {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    throw new Error('not an otpauth:// URI')
  }
  if (url.protocol !== 'otpauth:' || url.host !== 'totp') throw new Error('only otpauth://totp/ URIs are supported')
  const label = decodeURIComponent(url.pathname.replace(/^\//, ''))
  const secret = (url.searchParams.get('secret') ?? '').toUpperCase().replace(/=+$/, '')
  if (!/^[A-Z2-7]{16,128}$/.test(secret)) throw new Error('the URI has no valid base32 secret')
  const digits = Number(url.searchParams.get('digits') ?? 6)
  const period = Number(url.searchParams.get('period') ?? 30)
  const algorithm = (url.searchParams.get('algorithm') ?? 'SHA1').toLowerCase()
  if (digits !== 6 && digits !== 8) throw new Error('digits must be 6 or 8')
  if (!Number.isInteger(period) || period < 1 || period > 300) throw new Error('period must be 1..300 seconds')
  if (algorithm !== 'sha1' && algorithm !== 'sha256' && algorithm !== 'sha512') throw new Error('algorithm must be SHA1, SHA256 or SHA512')
  const issuer = url.searchParams.get('issuer') ?? (label.includes(':') ? label.slice(0, label.indexOf(':')) : undefined)
  return { label: label === '' ? (issuer ?? 'account') : label, ...(issuer === undefined ? {} : { issuer }), secret, digits, period, algorithm }
}

/** The account's code at `now`, and how many seconds it stays valid. */
export function totpCode (a: TotpAccount, now: Date): { code: string, validForSec: number } {
  const epoch = Math.floor(now.getTime() / 1000)
  const code = generateSync({ secret: a.secret, epoch, period: a.period, digits: a.digits, algorithm: a.algorithm })
  return { code, validForSec: a.period - (epoch % a.period) }
}
