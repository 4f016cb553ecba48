import { randomBytes } from 'node:crypto'

/** An opaque id with a type prefix and `bytes` random bytes (default 128 bits), base64url. */
export function newId (prefix: string, bytes = 16): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`
}
