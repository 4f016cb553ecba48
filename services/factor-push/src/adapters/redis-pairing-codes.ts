import type { Redis } from 'ioredis'
import { failClosed } from '@warden/service-kit'
import type { PairingCodes, PairingGrant } from '../ports.js'

function parse (raw: string | null): PairingGrant | undefined {
  if (raw === null) return undefined
  const v = JSON.parse(raw) as { userId?: unknown, expiresAt?: unknown }
  if (typeof v.userId !== 'string' || typeof v.expiresAt !== 'string') throw new Error('push pairing: a code record has another shape')
  return { userId: v.userId, expiresAt: v.expiresAt }
}

/**
 * Pairing codes in Redis under the SHA-256 of the code. GETDEL takes a code atomically. A set per
 * user lists the user's code hashes, so a 2FA reset can revoke codes made before it.
 */
export function createRedisPairingCodes (redis: Redis, opts: { prefix: string }): PairingCodes {
  const codeKey = (hash: string) => `${opts.prefix}:pairing:${hash}`
  const userKey = (userId: string) => `${opts.prefix}:pairing-user:{${userId}}`
  return {
    put: (hash, grant, ttlMs) => failClosed('the pairing codes', async () => {
      await redis.set(codeKey(hash), JSON.stringify({ userId: grant.userId, expiresAt: grant.expiresAt }), 'PX', ttlMs)
      await redis.multi().sadd(userKey(grant.userId), hash).pexpire(userKey(grant.userId), ttlMs).exec()
    }),
    peek: (hash) => failClosed('the pairing codes', async () => parse(await redis.get(codeKey(hash)))),
    take: (hash) => failClosed('the pairing codes', async () => parse(await redis.getdel(codeKey(hash)))),
    revokeAll: (userId) => failClosed('the pairing codes', async () => {
      const hashes = await redis.smembers(userKey(userId))
      for (const h of hashes) await redis.del(codeKey(h))
      await redis.del(userKey(userId))
    }),
  }
}
