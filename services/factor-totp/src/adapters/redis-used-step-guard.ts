import type { Redis } from 'ioredis'
import { failClosed, redisAttempts, redisScript } from '@warden/service-kit'
import type { UsedStepGuard } from '../ports.js'

// claim_step(used, poisoned, step, ttlMs): "strictly greater than the last used step and not
// poisoned", in one atomic call, so parallel requests with one code have one winner. 1 if claimed.
const CLAIM_STEP_FN = `
local function claim_step(used, poisoned, step, ttl)
  if redis.call('SISMEMBER', poisoned, step) == 1 then return 0 end
  local last = tonumber(redis.call('GET', used) or '-1')
  if tonumber(step) <= last then return 0 end
  redis.call('SET', used, step, 'PX', ttl)
  return 1
end
`

// KEYS: last used step, poisoned steps; ARGV: step, ttl ms.
const CLAIM = `${CLAIM_STEP_FN}
return claim_step(KEYS[1], KEYS[2], ARGV[1], ARGV[2])`

// KEYS: last used step, poisoned steps, the sign-in attempt counter; ARGV: step, ttl ms. The claim
// and, only when it won, the success's reset of the counter (the limiter's own body): one round
// trip instead of two (bench/FIXES.md §9), and no crash window between them that would leave the
// counter unreset after a success.
const CLAIM_SIGN_IN = `${CLAIM_STEP_FN}${redisAttempts.resetFunction}
if claim_step(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
reset_attempts(KEYS[3])
return 1`

/**
 * The last used step per user in Redis. The keys only have to outlive the steps they protect:
 * the acceptance window (T-1..T+1) for used steps, the clock-skew search range (±10 min) for
 * poisoned ones. `signInCounter` is the prefix of the sign-in attempt counter that `claimSignIn`
 * resets (the attempt gate's `counter`); it defaults to `prefix`, as factor-totp names both `totp`.
 * All of a user's keys are `{userId}`-tagged: one cluster slot for the merged script.
 */
export function createRedisUsedStepGuard (redis: Redis, opts: { prefix: string, ttlMs?: number, signInCounter?: string }): UsedStepGuard {
  const ttlMs = opts.ttlMs ?? 15 * 60_000
  const used = (userId: string) => `${opts.prefix}:used:{${userId}}`
  const poisoned = (userId: string) => `${opts.prefix}:poisoned:{${userId}}`
  const attempts = (userId: string) => redisAttempts.key(opts.signInCounter ?? opts.prefix, userId)
  const claimScript = redisScript(redis, CLAIM, 2)
  const claimSignInScript = redisScript(redis, CLAIM_SIGN_IN, 3)
  return {
    claim: (userId, step) => failClosed('the replay ledger', async () => (await claimScript(used(userId), poisoned(userId), step, ttlMs)) === 1),
    claimSignIn: (userId, step) => failClosed('the replay ledger', async () =>
      (await claimSignInScript(used(userId), poisoned(userId), attempts(userId), step, ttlMs)) === 1),
    poison: (userId, step) => failClosed('the replay ledger', async () => {
      await redis.multi().sadd(poisoned(userId), step).pexpire(poisoned(userId), ttlMs).exec()
    }),
  }
}
