import { timingSafeEqual } from 'node:crypto'
import { hash, hashRaw, type Algorithm, type Version } from '@node-rs/argon2'
import type { CodeHasher } from '../ports.js'

export interface Argon2Params {
  /** Memory per hash in KiB. */
  readonly memoryKib: number
  /** Passes over the memory. */
  readonly timeCost: number
  readonly parallelism: number
}

/** OWASP Password Storage Cheat Sheet's first Argon2id option (19 MiB, 2 passes, 1 lane): the library's default. */
export const DEFAULT_ARGON2_PARAMS: Argon2Params = { memoryKib: 19_456, timeCost: 2, parallelism: 1 }

// The package's enums are `const enum`s, which isolatedModules cannot read: their values, typed.
const ARGON2ID = 2 as Algorithm
const V0x13 = 1 as Version

// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<digest>, both in unpadded standard base64.
const PHC = /^\$argon2id\$v=19\$m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,3})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{22,88})$/

/**
 * Argon2id through @node-rs/argon2 (native, off the event loop). The stored value is the PHC
 * string, so algorithm, parameters and the 128-bit salt travel with each hash and old hashes stay
 * checkable after the parameters change. To check a code, its digest is recomputed with the
 * stored salt and parameters and compared with `timingSafeEqual`: the comparison is ours, and
 * visibly constant-time.
 */
export function createArgon2CodeHasher (params: Argon2Params = DEFAULT_ARGON2_PARAMS): CodeHasher {
  return {
    hash: (canonical) => hash(canonical, {
      algorithm: ARGON2ID,
      version: V0x13,
      memoryCost: params.memoryKib,
      timeCost: params.timeCost,
      parallelism: params.parallelism,
    }),
    async matches (stored, canonical) {
      const m = PHC.exec(stored)
      if (m === null) throw new Error('a stored emergency-code hash is not an Argon2id PHC string')
      const [, memory, passes, lanes, salt, digest] = m as unknown as [string, string, string, string, string, string]
      const expected = Buffer.from(digest, 'base64')
      const actual = await hashRaw(canonical, {
        algorithm: ARGON2ID,
        version: V0x13,
        memoryCost: Number(memory),
        timeCost: Number(passes),
        parallelism: Number(lanes),
        salt: Buffer.from(salt, 'base64'),
        outputLen: expected.length,
      })
      return actual.length === expected.length && timingSafeEqual(actual, expected)
    },
  }
}
