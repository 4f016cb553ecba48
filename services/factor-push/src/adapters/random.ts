import { randomBytes, randomInt } from 'node:crypto'
import { newId } from '@warden/service-kit'
import type { Randomness } from '../ports.js'

/** node:crypto's CSPRNG. Codes and nonces are 128 bits, base64url (22 characters). */
export function createCryptoRandomness (): Randomness {
  return {
    deviceId: () => newId('dev'),
    challengeId: () => newId('pch'),
    pairingCode: () => randomBytes(16).toString('base64url'),
    nonce: () => randomBytes(16).toString('base64url'),
    number: () => randomInt(10, 100),
  }
}
