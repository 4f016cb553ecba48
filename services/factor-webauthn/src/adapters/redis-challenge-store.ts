import type { Redis } from 'ioredis'
import { failClosed } from '@warden/service-kit'
import type { ChallengeSlot, ChallengeStore, PendingChallenge } from '../ports.js'

/**
 * Challenges in Redis, one key per slot: a user's registration, or one sign-in transaction of a
 * user. `take` is GETDEL, so a challenge answers at most one attempt however many arrive at once.
 * The `{userId}` hash tag keeps a user's keys on one cluster slot.
 */
export function createRedisChallengeStore (redis: Redis, opts: { prefix: string }): ChallengeStore {
  const key = (slot: ChallengeSlot): string => slot.kind === 'registration'
    ? `${opts.prefix}:challenge:{${slot.userId}}:registration`
    : `${opts.prefix}:challenge:{${slot.userId}}:txn:${slot.flowId}`
  return {
    put: (slot, challenge, ttlMs) => failClosed('the challenge store', async () => {
      await redis.set(key(slot), JSON.stringify(challenge), 'PX', ttlMs)
    }),
    take: (slot) => failClosed('the challenge store', async () => {
      const v = await redis.getdel(key(slot))
      return v === null ? undefined : JSON.parse(v) as PendingChallenge
    }),
    forget: (userId) => failClosed('the challenge store', async () => {
      await redis.del(key({ kind: 'registration', userId }))
    }),
  }
}
