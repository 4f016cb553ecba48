/** What a pairing QR carries: where the gateway is, and the one-time code. */
export interface PairingLink {
  /** The gateway's public base URL, without a trailing slash. */
  server: string
  code: string
  /** Who the pairing is for, to label the device locally. */
  account?: string
}

export const PAIRING_SCHEME = 'warden:'

/**
 * Parses `warden://pair?server=<url-encoded base URL>&code=<pairing code>[&account=<label>]`.
 * Throws with a message fit to show.
 */
export function parsePairingUri (uri: string): PairingLink {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    throw new Error('not a pairing link: expected warden://pair?server=...&code=...')
  }
  if (url.protocol !== PAIRING_SCHEME || url.host !== 'pair') throw new Error('not a pairing link: expected warden://pair?server=...&code=...')
  const server = url.searchParams.get('server') ?? ''
  const code = url.searchParams.get('code') ?? ''
  let base: URL
  try {
    base = new URL(server)
  } catch {
    throw new Error('the pairing link has no valid server URL')
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error('the pairing link\'s server must be http(s)')
  if (!/^[A-Za-z0-9_-]{22,64}$/.test(code)) throw new Error('the pairing link has no valid code')
  const account = url.searchParams.get('account') ?? undefined
  return { server: base.href.replace(/\/+$/, ''), code, ...(account === undefined || account === '' ? {} : { account }) }
}

/** The inverse of parsePairingUri (for tests and for whoever makes the QR). */
export function formatPairingUri (link: PairingLink): string {
  const q = new URLSearchParams({ server: link.server, code: link.code, ...(link.account === undefined ? {} : { account: link.account }) })
  return `warden://pair?${q.toString()}`
}
