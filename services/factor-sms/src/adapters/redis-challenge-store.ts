import type { Redis } from 'ioredis'
import { failClosed, redisScript } from '@warden/service-kit'
import type { Attempt, Challenge, ChallengeKey, ChallengeStore } from '../ports.js'

const FIELDS = ['challengeId', 'reference', 'phoneId', 'callingCode', 'sendNo', 'codeMac', 'sentAt', 'expiresAt', 'tries'] as const

// KEYS: the challenge; ARGV: expected send number, keep ms, then field/value pairs. Compare-and-set
// on the send number, so of parallel resends exactly one writes; the old code is gone with it.
const ISSUE = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'sendNo') or '0')
if cur ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`

// KEYS: the challenge; ARGV: max tries, now. Counts the try before anyone compares the code.
const ATTEMPT = `
local h = redis.call('HMGET', KEYS[1], ${FIELDS.map((f) => `'${f}'`).join(', ')})
if not h[1] then return {'none'} end
if tonumber(h[8]) <= tonumber(ARGV[2]) then return {'expired'} end
local tries = tonumber(h[9])
if tries >= tonumber(ARGV[1]) then return {'burned'} end
redis.call('HSET', KEYS[1], 'tries', tries + 1)
h[9] = tostring(tries + 1)
return {'counted', h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]}`

// KEYS: the challenge; ARGV: challengeId, sendNo. Single use: one caller removes it.
const CONSUME = `
if redis.call('HGET', KEYS[1], 'challengeId') == ARGV[1] and redis.call('HGET', KEYS[1], 'sendNo') == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`

function toChallenge (v: readonly string[]): Challenge {
  const [challengeId, reference, phoneId, callingCode, sendNo, codeMac, sentAt, expiresAt, tries] = v as [string, string, string, string, string, string, string, string, string]
  return {
    challengeId, reference, phoneId, callingCode, codeMac,
    sendNo: Number(sendNo), sentAt: Number(sentAt), expiresAt: Number(expiresAt), tries: Number(tries),
  }
}

/**
 * Challenges as Redis hashes, `{userId}` hash-tagged. Expiry is decided on the injected clock
 * (`expiresAt`); the key's own TTL (`keepMs`, long enough for every resend) only cleans up.
 */
export function createRedisChallengeStore (redis: Redis, opts: { prefix: string, keepMs: number }): ChallengeStore {
  const issueScript = redisScript(redis, ISSUE, 1)
  const attemptScript = redisScript(redis, ATTEMPT, 1)
  const consumeScript = redisScript(redis, CONSUME, 1)
  const k = (key: ChallengeKey): string => `${opts.prefix}:challenge:{${key.userId}}:${key.scope}:${key.id}`
  return {
    get: (key) => failClosed('the challenge store', async () => {
      const v = await redis.hmget(k(key), ...FIELDS)
      return v[0] === null || v.some((x) => x === null) ? undefined : toChallenge(v as string[])
    }),
    issue: (key, next, expectSendNo) => failClosed('the challenge store', async () => {
      const pairs = FIELDS.flatMap((f) => [f, String(next[f])])
      return (await issueScript(k(key), expectSendNo, opts.keepMs, ...pairs)) === 1
    }),
    attempt: (key, maxTries, now) => failClosed('the challenge store', async (): Promise<Attempt> => {
      const r = await attemptScript(k(key), maxTries, now) as string[]
      const state = r[0]
      if (state === 'counted') return { state, challenge: toChallenge(r.slice(1)) }
      if (state === 'expired' || state === 'burned') return { state }
      return { state: 'none' }
    }),
    consume: (key, challengeId, sendNo) => failClosed('the challenge store', async () =>
      (await consumeScript(k(key), challengeId, sendNo)) === 1),
    drop: (key) => failClosed('the challenge store', async () => { await redis.del(k(key)) }),
  }
}
