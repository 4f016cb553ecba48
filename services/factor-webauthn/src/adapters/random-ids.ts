import { createHash, randomBytes } from 'node:crypto'
import type { IdSource } from '../ports.js'

/** SECURITY.md §2: a WebAuthn challenge of 32 bytes. */
export const CHALLENGE_BYTES = 32

export function createRandomIds (): IdSource {
  return {
    credentialHandle: (credentialId) => `wak_${createHash('sha256').update(Buffer.from(credentialId, 'base64url')).digest('base64url')}`,
    challenge: () => new Uint8Array(randomBytes(CHALLENGE_BYTES)),
  }
}
