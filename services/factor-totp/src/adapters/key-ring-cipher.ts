import type { KeyRing } from '@warden/service-kit'
import type { SecretCipher } from '../ports.js'

/** AES-256-GCM on the configured key ring; the AAD ties each sealed seed to its user and factor. */
export function createKeyRingCipher (ring: KeyRing): SecretCipher {
  const aad = (userId: string): string => `totp:${userId}`
  return {
    seal: (secret, userId) => ring.encrypt(secret, aad(userId)),
    open: (sealed, userId) => new Uint8Array(ring.decrypt(sealed, aad(userId))),
  }
}
