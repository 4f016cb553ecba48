import { createHmac } from 'node:crypto'

// Standard Webhooks (standardwebhooks.com): a secret is `whsec_` + base64 of the key bytes; a
// signature is `v1,` + base64 HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}`;
// several signatures (during a secret rotation) are separated by spaces.

export const SECRET_PREFIX = 'whsec_'

/** A new signing secret from `bytes` random bytes (24 by default: 192 bits). */
export function encodeSecret (bytes: Uint8Array): string {
  return SECRET_PREFIX + Buffer.from(bytes).toString('base64')
}

function keyOf (secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_')
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
}

/** One `v1,<base64>` signature of a message. */
export function signature (secret: string, msg: { id: string, timestamp: number, body: string }): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${msg.id}.${msg.timestamp}.${msg.body}`, 'utf8').digest('base64')
  return `v1,${mac}`
}

/** The headers of one delivery attempt: each attempt is signed afresh with its own timestamp. */
export function webhookHeaders (secrets: readonly string[], msg: { id: string, timestamp: number, body: string }): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Warden-Webhooks/1',
    'webhook-id': msg.id,
    'webhook-timestamp': String(msg.timestamp),
    'webhook-signature': secrets.map((s) => signature(s, msg)).join(' '),
  }
}
