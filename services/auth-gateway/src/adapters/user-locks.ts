import type { Redis } from 'ioredis'
import { failClosed } from '@warden/service-kit'
import type { UserLocks } from '../ports.js'

/** "Not you?" locks in Redis, one key per user without expiry: only an admin reset lifts one. */
export function createRedisUserLocks (redis: Redis, opts: { prefix?: string } = {}): UserLocks {
  const key = (userId: string) => `${opts.prefix ?? 'gw:locked'}:{${userId}}`
  return {
    lock: (userId, reason) => failClosed('the lock store', async () => {
      // The first report stays the one on record; a later one changes nothing.
      await redis.set(key(userId), JSON.stringify(reason), 'NX')
    }),
    lockedBy: (userId) => failClosed('the lock store', async () => {
      const v = await redis.get(key(userId))
      return v === null ? undefined : JSON.parse(v) as { reportedEventId: string, at: string }
    }),
    unlock: (userId) => failClosed('the lock store', async () => { await redis.del(key(userId)) }),
  }
}
