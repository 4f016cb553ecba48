import type { KeyRing } from '@warden/service-kit'
import type { TokenCipher } from '../ports.js'

/** AES-256-GCM on the configured key ring; the AAD ties each sealed FCM token to its device. */
export function createKeyRingTokenCipher (ring: KeyRing): TokenCipher {
  const aad = (deviceId: string): string => `push:fcm-token:${deviceId}`
  return {
    seal: (token, deviceId) => ring.encrypt(Buffer.from(token, 'utf8'), aad(deviceId)),
    open: (sealed, deviceId) => ring.decrypt(sealed, aad(deviceId)).toString('utf8'),
  }
}
