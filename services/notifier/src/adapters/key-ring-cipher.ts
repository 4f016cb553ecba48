import type { KeyRing } from '@warden/service-kit'
import type { SecretCipher } from '../ports.js'

/** AES-256-GCM on the configured key ring; the AAD ties each sealed signing secret to its webhook. */
export function createKeyRingCipher (ring: KeyRing): SecretCipher {
  const aad = (owner: string): string => `webhook:${owner}`
  return {
    seal: (secret, owner) => ring.encrypt(Buffer.from(secret, 'utf8'), aad(owner)),
    open: (sealed, owner) => ring.decrypt(sealed, aad(owner)).toString('utf8'),
  }
}
