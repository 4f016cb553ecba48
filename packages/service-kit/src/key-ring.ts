import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/**
 * AES-256-GCM for secrets at rest (TOTP seeds, push device data). Keys come from configuration,
 * never from the store. Each ciphertext names its key id so keys can rotate: new data uses the
 * active key, old data stays readable while its key is in the ring.
 */
export interface KeyRing {
  readonly activeKeyId: string
  /** `aad` binds the ciphertext to its owner and purpose, so it cannot be moved to another user. */
  encrypt: (plaintext: Uint8Array, aad: string) => string
  decrypt: (sealed: string, aad: string) => Buffer
}

const KID = /^[A-Za-z0-9_-]{1,32}$/

/** Parses `kid:base64key,kid2:base64key`. The first key is active unless `activeKeyId` says otherwise. */
export function parseKeyRing (spec: string, activeKeyId?: string): KeyRing {
  const keys = new Map<string, Buffer>()
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf(':')
    const kid = part.slice(0, i)
    const key = Buffer.from(part.slice(i + 1), 'base64')
    if (i <= 0 || !KID.test(kid)) throw new Error('key ring: every entry must be <kid>:<base64 key>')
    if (key.length !== 32) throw new Error(`key ring: key ${kid} must be 32 bytes (AES-256)`)
    keys.set(kid, key)
  }
  const active = activeKeyId ?? keys.keys().next().value
  if (active === undefined || !keys.has(active)) throw new Error('key ring: the active key is not in the ring')
  return createKeyRing(keys, active)
}

export function createKeyRing (keys: ReadonlyMap<string, Uint8Array>, activeKeyId: string): KeyRing {
  return {
    activeKeyId,
    encrypt (plaintext, aad) {
      const key = keys.get(activeKeyId) as Uint8Array
      const iv = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', key, iv)
      c.setAAD(Buffer.from(aad, 'utf8'))
      const ct = Buffer.concat([c.update(plaintext), c.final()])
      return ['v1', activeKeyId, iv.toString('base64url'), ct.toString('base64url'), c.getAuthTag().toString('base64url')].join('.')
    },
    decrypt (sealed, aad) {
      const [v, kid, iv, ct, tag] = sealed.split('.')
      if (v !== 'v1' || kid === undefined || iv === undefined || ct === undefined || tag === undefined) throw new Error('sealed secret has an unknown format')
      const key = keys.get(kid)
      if (key === undefined) throw new Error(`key ${kid} is not in the key ring`)
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      d.setAAD(Buffer.from(aad, 'utf8'))
      d.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()])
    },
  }
}

/** A fresh random key ring spec, for tests and first-run demo setups. */
export function generateKeyRingSpec (kid = 'k1'): string {
  return `${kid}:${randomBytes(32).toString('base64')}`
}
