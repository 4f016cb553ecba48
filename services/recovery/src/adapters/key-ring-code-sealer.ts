import type { KeyRing } from '@warden/service-kit'
import type { CodeSealer } from '../ports.js'

/** AES-256-GCM on the configured key ring; the AAD binds each sealed code to its user and code id. */
export function createKeyRingCodeSealer (ring: KeyRing): CodeSealer {
  const aad = (userId: string, codeId: string): string => `recovery:${userId}:${codeId}`
  return {
    seal: (canonical, userId, codeId) => ring.encrypt(Buffer.from(canonical, 'utf8'), aad(userId, codeId)),
    open: (sealed, userId, codeId) => ring.decrypt(sealed, aad(userId, codeId)).toString('utf8'),
  }
}
