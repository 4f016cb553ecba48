import { createHash } from 'node:crypto'

/** What the app showed for a challenge; its hash is what an answer signs (transaction binding). */
export interface ShownContext {
  challengeId: string
  createdAt: string
  appName: string
  ip?: string | undefined
  userAgent?: string | undefined
  action?: string | undefined
}

/**
 * base64url(SHA-256(UTF-8 of "warden-push-context/1", challengeId, createdAt, appName, ip,
 * userAgent, action joined by "\n", an absent field being the empty line)): the format in
 * services/factor-push/README.md. The same test vector runs here and in factor-push.
 */
export function contextHash (c: ShownContext): string {
  const lines = ['warden-push-context/1', c.challengeId, c.createdAt, c.appName, c.ip ?? '', c.userAgent ?? '', c.action ?? '']
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest('base64url')
}
