import type { Redis } from 'ioredis'
import { failClosed, redisScript } from '@warden/service-kit'
import type { AdmitResult, Clock, FatigueBreaker } from '../ports.js'

/** SECURITY.md §2: one open push; ≤3 per 10 min; 2 denials in 1 h pause push for 1 h. */
export interface FatigueLimits {
  /** Pushes per user within `windowMs` (at most one is open at a time, always). */
  maxPerWindow: number
  windowMs: number
  denialsToPause: number
  denialWindowMs: number
  pauseMs: number
}

export const DEFAULT_FATIGUE_LIMITS: FatigueLimits = { maxPerWindow: 3, windowMs: 600_000, denialsToPause: 2, denialWindowMs: 3_600_000, pauseMs: 3_600_000 }

// KEYS open (hash), starts (zset), paused (string). ARGV now, windowMs, max, challengeId, flowId,
// expiresAt. Answers {0} admitted | {1, pausedUntil} | {2, expiresAt, challengeId, flowId} open |
// {3, retryAt} window full. One atomic step: parallel starts cannot outrun the limits.
const ADMIT = `
local now = tonumber(ARGV[1]); local windowMs = tonumber(ARGV[2]); local max = tonumber(ARGV[3])
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return {1, paused} end
local open = redis.call('HMGET', KEYS[1], 'challengeId', 'flowId', 'expiresAt')
if open[1] and tonumber(open[3]) > now then return {2, tonumber(open[3]), open[1], open[2]} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - windowMs)
if redis.call('ZCARD', KEYS[2]) >= max then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {3, tonumber(oldest[2]) + windowMs}
end
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('PEXPIRE', KEYS[2], windowMs)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'challengeId', ARGV[4], 'flowId', ARGV[5], 'expiresAt', ARGV[6])
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[6]) - now))
return {0}`

// KEYS open; ARGV challengeId. Frees the open slot only if it is still this push's.
const CLOSE = `
if redis.call('HGET', KEYS[1], 'challengeId') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`

// KEYS denials (zset), paused. ARGV now, windowMs, threshold, pauseMs, weight, challengeId.
// Answers {1, pausedUntil} when this denial starts a pause, {0, weighted denials} otherwise.
const DENY = `
local now = tonumber(ARGV[1]); local windowMs = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
for i = 1, tonumber(ARGV[5]) do redis.call('ZADD', KEYS[1], now, ARGV[6] .. ':' .. i) end
redis.call('PEXPIRE', KEYS[1], windowMs)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then
  local untilMs = now + tonumber(ARGV[4])
  redis.call('SET', KEYS[2], untilMs, 'PX', tonumber(ARGV[4]))
  redis.call('DEL', KEYS[1])
  return {1, untilMs}
end
return {0, n}`

/** The fatigue breaker in Redis. Times are the injected clock's, kept in the values. */
export function createRedisFatigueBreaker (redis: Redis, opts: { prefix: string, clock: Clock, limits?: FatigueLimits }): FatigueBreaker {
  const admitScript = redisScript(redis, ADMIT, 3)
  const closeScript = redisScript(redis, CLOSE, 1)
  const denyScript = redisScript(redis, DENY, 2)
  const limits = opts.limits ?? DEFAULT_FATIGUE_LIMITS
  const k = (what: string, userId: string) => `${opts.prefix}:${what}:{${userId}}`
  const now = () => opts.clock.now().getTime()
  return {
    admit: (userId, push) => failClosed('the push limits', async (): Promise<AdmitResult> => {
      const r = await admitScript(k('open', userId), k('starts', userId), k('paused', userId),
        now(), limits.windowMs, limits.maxPerWindow, push.challengeId, push.flowId, push.expiresAt.getTime()) as [number, number?, string?, string?]
      if (r[0] === 0) return { admitted: true }
      if (r[0] === 1) return { admitted: false, reason: 'paused', until: new Date(r[1] as number) }
      if (r[0] === 2) return { admitted: false, reason: 'open', until: new Date(r[1] as number), challengeId: r[2] as string, flowId: r[3] as string }
      return { admitted: false, reason: 'too_many', retryAt: new Date(r[1] as number) }
    }),
    close: (userId, challengeId) => failClosed('the push limits', async () => {
      await closeScript(k('open', userId), challengeId)
    }),
    cancel: (userId, challengeId) => failClosed('the push limits', async () => {
      await closeScript(k('open', userId), challengeId)
      await redis.zrem(k('starts', userId), challengeId)
    }),
    recordDenial: (userId, challengeId, weight) => failClosed('the push limits', async () => {
      const [paused, value] = await denyScript(k('denials', userId), k('paused', userId),
        now(), limits.denialWindowMs, limits.denialsToPause, limits.pauseMs, weight, challengeId) as [number, number]
      return paused === 1 ? { pausedUntil: new Date(value) } : {}
    }),
    pausedUntil: (userId) => failClosed('the push limits', async () => {
      const until = Number(await redis.get(k('paused', userId)) ?? 0)
      return until > now() ? new Date(until) : undefined
    }),
    clear: (userId) => failClosed('the push limits', async () => {
      await redis.del(k('open', userId), k('starts', userId), k('paused', userId), k('denials', userId))
    }),
  }
}
