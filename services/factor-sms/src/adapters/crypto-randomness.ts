import { randomInt } from 'node:crypto'
import { derivedEventId, newId } from '@warden/service-kit'
import type { Randomness } from '../ports.js'

const digits = (n: number): string => String(randomInt(0, 10 ** n)).padStart(n, '0')

/** Codes and references from crypto.randomInt (uniform, CSPRNG); ids of 128 random bits. */
export function createCryptoRandomness (): Randomness {
  return {
    code: () => digits(6),
    // A separate draw: knowing the reference tells nothing about the code.
    reference: () => digits(4),
    challengeId: () => newId('sch'),
    phoneId: () => newId('phn'),
    eventId: derivedEventId,
  }
}
