import type { Redis } from 'ioredis'
import { failClosed, redisScript } from '@warden/service-kit'
import type { UsedStepGuard } from '../ports.js'

// KEYS: last used step, poisoned steps; ARGV: step, ttl ms. "Strictly greater than the last used
// step and not poisoned", in one atomic call, so parallel requests with one code have one winner.
const CLAIM = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`

/**
 * The last used step per user in Redis. The keys only have to outlive the steps they protect:
 * the acceptance window (T-1..T+1) for used steps, the clock-skew search range (±10 min) for
 * poisoned ones.
 */
export function createRedisUsedStepGuard (redis: Redis, opts: { prefix: string, ttlMs?: number }): UsedStepGuard {
  const ttlMs = opts.ttlMs ?? 15 * 60_000
  const used = (userId: string) => `${opts.prefix}:used:{${userId}}`
  const poisoned = (userId: string) => `${opts.prefix}:poisoned:{${userId}}`
  const claimScript = redisScript(redis, CLAIM, 2)
  return {
    claim: (userId, step) => failClosed('the replay ledger', async () => (await claimScript(used(userId), poisoned(userId), step, ttlMs)) === 1),
    poison: (userId, step) => failClosed('the replay ledger', async () => {
      await redis.multi().sadd(poisoned(userId), step).pexpire(poisoned(userId), ttlMs).exec()
    }),
  }
}
