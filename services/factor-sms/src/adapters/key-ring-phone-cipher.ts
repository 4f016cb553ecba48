import type { KeyRing } from '@warden/service-kit'
import type { PhoneCipher } from '../ports.js'

/** AES-256-GCM on the configured key ring; the AAD ties each sealed number to its user and phone. */
export function createKeyRingPhoneCipher (ring: KeyRing): PhoneCipher {
  const aad = (userId: string, phoneId: string): string => `sms:${userId}:${phoneId}`
  return {
    seal: (e164, userId, phoneId) => ring.encrypt(new TextEncoder().encode(e164), aad(userId, phoneId)),
    open: (sealed, userId, phoneId) => ring.decrypt(sealed, aad(userId, phoneId)).toString('utf8'),
  }
}
