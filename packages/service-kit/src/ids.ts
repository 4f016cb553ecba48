import { createHash, randomBytes } from 'node:crypto'

/** An opaque id with a type prefix and `bytes` random bytes (default 128 bits), base64url. */
export function newId (prefix: string, bytes = 16): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`
}

/**
 * The same event id for the same `key`: publishers that may announce one fact more than once (a
 * lock seen by two requests, a report filed twice) publish one event, as the stream drops a
 * duplicate Nats-Msg-Id and the notifier keeps one entry per id. The key names the fact, never a secret.
 */
export function derivedEventId (key: string): string {
  return `evt_${createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, 32)}`
}
