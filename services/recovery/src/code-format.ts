/**
 * The emergency code's format (SECURITY.md §2, NIST 800-63B-4 §4.2.1.1): 80 random bits written as
 * 16 characters of the RFC 4648 base32 alphabet (A-Z, 2-7: no 0/O or 1/I/L look-alikes), shown in
 * four groups of four. Pure: no I/O, no randomness of its own. The gateway normalises what people
 * type with `normalizeRecoveryCode` before its contract check; this service does it again.
 */

/** Random bytes in one code: 80 bits, above NIST's 64-bit floor for saved recovery codes. */
export const RECOVERY_CODE_BYTES = 10
/** Characters in one code (5 bits each). */
export const RECOVERY_CODE_LENGTH = 16
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
// Checked before upper-casing: 'ß'.toUpperCase() is 'SS' and 'ı' becomes 'I'.
const TYPED = /^[A-Za-z2-7]{16}$/

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

/** `ABCDEFGHIJKLMNOP` → `ABCD-EFGH-IJKL-MNOP`: how the code is shown (once). */
export function formatRecoveryCode (canonical: string): string {
  return canonical.match(/.{1,4}/g)?.join('-') ?? canonical
}

/**
 * What a person typed → the canonical 16 characters, or undefined if it cannot be a code.
 * Accepts lowercase, and spaces, tabs and dashes anywhere (people copy "abcd efgh-ijkl mnop").
 * Nothing else is guessed: 0, 1, 8 and 9 are not in the alphabet, and mapping them to letters
 * would make two typed strings one code.
 */
export function normalizeRecoveryCode (input: string): string | undefined {
  if (input.length > 64) return undefined
  const compact = input.replace(/[\s\-\u2010-\u2015]/g, '')
  return TYPED.test(compact) ? compact.toUpperCase() : undefined
}
