import { createHash } from 'node:crypto'

/** What the app shows for a challenge, and exactly what its `contextHash` covers. */
export interface DisplayedContext {
  readonly challengeId: string
  /** RFC 3339, UTC: when the sign-in asked (the app shows it as local time). */
  readonly createdAt: string
  readonly appName: string
  readonly ip?: string | undefined
  readonly userAgent?: string | undefined
  /** A step-up's action; absent for a sign-in. */
  readonly action?: string | undefined
}

const VERSION = 'warden-push-context/1'

// The fields are stored without control characters (displayText), so a newline never occurs
// inside one and the joined lines have exactly one reading.
/**
 * The transaction binding of an answer: base64url(SHA-256(UTF-8 of the lines
 * `warden-push-context/1`, challengeId, createdAt, appName, ip, userAgent, action joined by "\n",
 * an absent field being the empty line)). An app computes it from what it displayed and signs it;
 * the service recomputes it from what it stored. Documented in the service README.
 */
export function contextHash (c: DisplayedContext): string {
  const lines = [VERSION, c.challengeId, c.createdAt, c.appName, c.ip ?? '', c.userAgent ?? '', c.action ?? '']
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest('base64url')
}

/** Text fit to show and to hash: control characters (newlines included) become spaces, ends trimmed. */
export function displayText (s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim()
}
