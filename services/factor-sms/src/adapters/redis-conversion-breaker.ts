import type { Redis } from 'ioredis'
import { failClosed, redisScript } from '@warden/service-kit'
import type { ConversionBreaker } from '../ports.js'

export interface ConversionLimits {
  /** Sends judged: those between `windowMs` and `graceMs` ago. */
  windowMs: number
  /** Younger sends are not judged yet: their codes may still be typed. */
  graceMs: number
  /** Sends in the judged span before the share is judged at all. */
  minSent: number
  /** Verified share below which the calling code stops receiving SMS. */
  minRatio: number
  /** How long it stops. */
  pauseMs: number
}

export const DEFAULT_CONVERSION_LIMITS: ConversionLimits = { windowMs: 3600_000, graceMs: 120_000, minSent: 50, minRatio: 0.3, pauseMs: 3600_000 }

// KEYS: sent, verified (sorted sets scored by send time), breaker. ARGV: now, window, grace,
// minSent, minRatio, pause. Answers {0,…} closed, {1, until} open, {2, until, sent, verified}
// opened by this call.
const CHECK = `
local now = tonumber(ARGV[1])
local openUntil = tonumber(redis.call('GET', KEYS[3]) or '0')
if openUntil > now then return {1, openUntil, 0, 0} end
local from = now - tonumber(ARGV[2]); local to = now - tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. from)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. from)
local sent = redis.call('ZCOUNT', KEYS[1], from, to)
if sent < tonumber(ARGV[4]) then return {0, 0, sent, 0} end
local verified = redis.call('ZCOUNT', KEYS[2], from, to)
if verified < sent * tonumber(ARGV[5]) then
  openUntil = now + tonumber(ARGV[6])
  redis.call('SET', KEYS[3], openUntil, 'PX', ARGV[6])
  return {2, openUntil, sent, verified}
end
return {0, 0, sent, verified}`

/**
 * Sent versus verified codes per country calling code, in Redis on the injected clock. A code
 * counts as verified in the span of its send, so the share compares like with like.
 */
export function createRedisConversionBreaker (redis: Redis, opts: { prefix: string, limits?: ConversionLimits }): ConversionBreaker {
  const checkScript = redisScript(redis, CHECK, 3)
  const limits = opts.limits ?? DEFAULT_CONVERSION_LIMITS
  const keys = (cc: string) => [`${opts.prefix}:conversion:{${cc}}:sent`, `${opts.prefix}:conversion:{${cc}}:verified`, `${opts.prefix}:conversion:{${cc}}:open`] as const
  const keepMs = limits.windowMs * 2
  const record = async (key: string, sendId: string, sentAt: number): Promise<void> => {
    await redis.multi().zadd(key, sentAt, sendId).pexpire(key, keepMs).exec()
  }
  return {
    check: (cc, now) => failClosed('the conversion breaker', async () => {
      const [state, until, sent, verified] = await checkScript(...keys(cc), now, limits.windowMs, limits.graceMs, limits.minSent, limits.minRatio, limits.pauseMs) as [number, number, number, number]
      if (state === 0) return { open: false }
      return state === 2 ? { open: true, until, opened: { sent, verified } } : { open: true, until }
    }),
    recordSent: (cc, sendId, sentAt) => failClosed('the conversion breaker', () => record(keys(cc)[0], sendId, sentAt)),
    recordVerified: (cc, sendId, sentAt) => failClosed('the conversion breaker', () => record(keys(cc)[1], sendId, sentAt)),
  }
}
