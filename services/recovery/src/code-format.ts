/**
 * The emergency code's format (SECURITY.md §2, NIST 800-63B-4 §4.2.1.1): 80 random bits written as
 * 16 characters of the RFC 4648 base32 alphabet (A-Z, 2-7: no 0/O or 1/I/L look-alikes), shown in
 * four groups of four. Pure: no I/O, no randomness of its own. Reading what people type
 * (`normalizeRecoveryCode`) and showing a code (`formatRecoveryCode`) live in the contracts, since
 * the gateway needs them too.
 */
export { formatRecoveryCode, normalizeRecoveryCode } from '@warden/contracts'

/** Random bytes in one code: 80 bits, above NIST's 64-bit floor for saved recovery codes. */
export const RECOVERY_CODE_BYTES = 10
/** Characters in one code (5 bits each). */
export const RECOVERY_CODE_LENGTH = 16
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** The 16 base32 characters of exactly RECOVERY_CODE_BYTES bytes (80 bits, so no padding). */
export function encodeRecoveryCode (bytes: Uint8Array): string {
  if (bytes.length !== RECOVERY_CODE_BYTES) throw new Error(`an emergency code is made of ${RECOVERY_CODE_BYTES} bytes`)
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(buffer >>> bits) & 31]
    }
    buffer &= (1 << bits) - 1
  }
  return out
}
