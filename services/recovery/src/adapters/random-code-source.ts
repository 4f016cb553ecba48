import { randomBytes } from 'node:crypto'
import { encodeRecoveryCode, RECOVERY_CODE_BYTES } from '../code-format.js'
import type { CodeSource } from '../ports.js'

/** Codes from Node's CSPRNG (`crypto.randomBytes`): 80 bits each. `random` is for tests of the encoding only. */
export function createRandomCodeSource (random: (size: number) => Uint8Array = randomBytes): CodeSource {
  return {
    newCode () {
      const bytes = random(RECOVERY_CODE_BYTES)
      try {
        return encodeRecoveryCode(bytes)
      } finally {
        bytes.fill(0)
      }
    },
  }
}
