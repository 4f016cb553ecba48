import type { Redis } from 'ioredis'
import { failClosed, redisScript } from '@warden/service-kit'
import type { ChallengeRecord, ChallengeState, ChallengeStore, Clock, PushChallenge } from '../ports.js'

// KEYS[1] the challenge hash; ARGV from, to, deviceId, notMe. The first valid answer wins: the
// state moves only from `from`, in one atomic step.
const TRANSITION = `
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'decidedBy', ARGV[3], 'notMe', ARGV[4]) end
return 1`

const STATES: readonly ChallengeState[] = ['pending', 'approved', 'reported', 'denied', 'failed', 'expired', 'cancelled']

function toRecord (h: Record<string, string>): ChallengeRecord | undefined {
  if (h.data === undefined || h.state === undefined) return undefined
  const state = h.state as ChallengeState
  if (!STATES.includes(state)) throw new Error('push challenge: unknown state')
  return {
    challenge: JSON.parse(h.data) as PushChallenge,
    state,
    ...(h.decidedBy === undefined || h.decidedBy === '' ? {} : { decidedBy: h.decidedBy }),
    ...(h.notMe === '1' ? { notMe: true } : {}),
  }
}

/**
 * Challenges in Redis: one hash per challenge (the immutable challenge as JSON, plus its state),
 * and a sorted set per user of challenge ids by expiry, for the app's poll. Keys outlive the
 * challenge by `retainMs`, so its end can still be reported.
 */
export function createRedisChallengeStore (redis: Redis, opts: { prefix: string, clock: Clock }): ChallengeStore {
  const transitionScript = redisScript(redis, TRANSITION, 1)
  const key = (challengeId: string) => `${opts.prefix}:challenge:${challengeId}`
  const userKey = (userId: string) => `${opts.prefix}:challenges:{${userId}}`
  const get = async (challengeId: string): Promise<ChallengeRecord | undefined> => toRecord(await redis.hgetall(key(challengeId)))
  return {
    create: (c, retainMs) => failClosed('the challenge store', async () => {
      const expiresAt = Date.parse(c.expiresAt)
      const ttlMs = Math.max(1, expiresAt - opts.clock.now().getTime()) + retainMs
      await redis.multi()
        .hset(key(c.challengeId), 'data', JSON.stringify(c), 'state', 'pending')
        .pexpire(key(c.challengeId), ttlMs)
        .exec()
      await redis.multi()
        .zadd(userKey(c.userId), String(expiresAt), c.challengeId)
        .pexpire(userKey(c.userId), ttlMs)
        .exec()
    }),
    get: (challengeId) => failClosed('the challenge store', () => get(challengeId)),
    listOpen: (userId, now) => failClosed('the challenge store', async () => {
      await redis.zremrangebyscore(userKey(userId), '-inf', now.getTime())
      const ids = await redis.zrange(userKey(userId), '0', '-1')
      const records = await Promise.all(ids.map(get))
      return records.filter((r): r is ChallengeRecord => r !== undefined)
    }),
    transition: (challengeId, from, to, by) => failClosed('the challenge store', async () =>
      (await transitionScript(key(challengeId), from, to, by?.deviceId ?? '', by?.notMe === true ? '1' : '0')) === 1),
  }
}
