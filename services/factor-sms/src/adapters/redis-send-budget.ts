import type { Redis } from 'ioredis'
import { failClosed, redisScript } from '@warden/service-kit'
import type { Budget, Reservation, SendBudget } from '../ports.js'

export interface SendLimits {
  /** SMS per account per 24 h, shared by all the account's phones. */
  accountPerDay: number
  /** SMS per phone number per hour (by its keyed hash: across accounts, and across re-adding it). */
  numberPerHour: number
  ipPerHour: number
  /** All SMS per hour; past it the global breaker opens for `globalPauseMs`. */
  globalPerHour: number
  globalPauseMs: number
}

export const DEFAULT_SEND_LIMITS: SendLimits = { accountPerDay: 10, numberPerHour: 5, ipPerHour: 20, globalPerHour: 1000, globalPauseMs: 15 * 60_000 }

const HOUR = 3600_000
const DAY = 24 * HOUR

// A sliding-window log: one sorted-set member per SMS, scored by the injected clock's time.
// KEYS: the window; ARGV: now, window ms, limit, member. Answers {1, 0} taken, or {0, retryAt}.
const TAKE = `
local now = tonumber(ARGV[1]); local window = tonumber(ARGV[2]); local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local first = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return {0, tonumber(first[2]) + window}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}`

// The global window plus its breaker. KEYS: window, breaker; ARGV: now, window, limit, member,
// pause ms. Answers {1, 0, 0} taken, {0, until, 0} while open, {0, until, 1} when this call opened it.
const TAKE_GLOBAL = `
local now = tonumber(ARGV[1]); local window = tonumber(ARGV[2]); local limit = tonumber(ARGV[3])
local pause = tonumber(ARGV[5])
local openUntil = tonumber(redis.call('GET', KEYS[2]) or '0')
if openUntil > now then return {0, openUntil, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  openUntil = now + pause
  redis.call('SET', KEYS[2], openUntil, 'PX', pause)
  return {0, openUntil, 1}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0, 0}`

/**
 * The sending budgets in Redis. Each budget is its own atomic step (so keys can live on different
 * cluster slots); a refusal gives back what the earlier steps took, so a reservation is all or
 * nothing. Fails closed: without its counters, no SMS goes out.
 */
export function createRedisSendBudget (redis: Redis, opts: { prefix: string, limits?: SendLimits }): SendBudget {
  const takeGlobalScript = redisScript(redis, TAKE_GLOBAL, 2)
  const takeScript = redisScript(redis, TAKE, 1)
  const limits = opts.limits ?? DEFAULT_SEND_LIMITS
  const p = opts.prefix
  const windows = (r: Reservation): Array<{ budget: Exclude<Budget, 'global'>, key: string, windowMs: number, limit: number }> => [
    { budget: 'account', key: `${p}:budget:account:{${r.userId}}`, windowMs: DAY, limit: limits.accountPerDay },
    { budget: 'phone', key: `${p}:budget:number:{${r.numberHash}}`, windowMs: HOUR, limit: limits.numberPerHour },
    ...(r.ip === undefined ? [] : [{ budget: 'ip' as const, key: `${p}:budget:ip:{${r.ip}}`, windowMs: HOUR, limit: limits.ipPerHour }]),
  ]
  const globalKeys = [`${p}:budget:{global}:sends`, `${p}:budget:{global}:open`] as const

  const release = async (r: Reservation, keys: readonly string[]): Promise<void> => {
    await Promise.all(keys.map((key) => redis.zrem(key, r.sendId)))
  }

  return {
    reserve: (r, now) => failClosed('the SMS budget', async () => {
      const [ok, until, opened] = await takeGlobalScript(...globalKeys, now, HOUR, limits.globalPerHour, r.sendId, limits.globalPauseMs) as [number, number, number]
      if (ok !== 1) return { ok: false, budget: 'global', retryAt: until, ...(opened === 1 ? { opened: true } : {}) }
      const taken: string[] = [globalKeys[0]]
      for (const w of windows(r)) {
        const [took, retryAt] = await takeScript(w.key, now, w.windowMs, w.limit, r.sendId) as [number, number]
        if (took !== 1) {
          await release(r, taken)
          return { ok: false, budget: w.budget, retryAt }
        }
        taken.push(w.key)
      }
      return { ok: true }
    }),
    release: (r) => failClosed('the SMS budget', async () => {
      await release(r, [globalKeys[0], ...windows(r).map((w) => w.key)])
    }),
  }
}
