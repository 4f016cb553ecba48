import type { Redis } from 'ioredis'
import type { Clock } from './clock.js'
import { failClosed, redisScript } from './redis.js'

/**
 * Failed-attempt counting per (user, factor) (SECURITY.md §1.1-1.3). Every attempt is counted
 * *before* the secret is checked, atomically, so parallel guesses cannot outrun the limit. Only a
 * success with this factor resets it: new sign-ins, challenges or IPs never do. Time is the
 * injected clock's, kept in the values, so tests move time instead of sleeping.
 */
export interface AttemptLimits {
  /** Failures within `windowMs` that lock the factor. */
  maxFailures: number
  windowMs: number
  lockMs: number
  /** Consecutive failures (across windows) that suspend the factor until it is re-enrolled. */
  suspendAfter: number
  /**
   * Failures without a wait. After the n-th failure beyond these, the next attempt must wait
   * 2^(n - freeFailures) s (2, 4, 8 … s up to the lock): a script cannot spend the 10 tries in
   * a second, a person hardly notices (SECURITY.md §2, NIST 800-63B §3.2.2).
   */
  freeFailures: number
}

export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = { maxFailures: 10, windowMs: 15 * 60_000, lockMs: 15 * 60_000, suspendAfter: 100, freeFailures: 3 }

/** The wait after `failures` failures in the window, in ms (0 while they are free). */
export function throttleMs (failures: number, limits: AttemptLimits): number {
  return failures > limits.freeFailures ? 1000 * 2 ** (failures - limits.freeFailures) : 0
}

export type BeginResult =
  | { allowed: true, attempt: number }
  | { allowed: false, reason: 'locked', lockedUntil: Date }
  /** Too soon after the last failure: try again at `retryAt`. Not counted, like a lock. */
  | { allowed: false, reason: 'throttled', retryAt: Date }
  | { allowed: false, reason: 'suspended' }

export interface FailResult { attemptsLeft: number, lockedUntil?: Date }

export interface AttemptLimiter {
  /** The rules it counts by. */
  readonly limits: AttemptLimits
  begin: (userId: string) => Promise<BeginResult>
  fail: (userId: string) => Promise<FailResult>
  succeed: (userId: string) => Promise<void>
  /** The lock as a describe call shows it; no side effect. */
  lockedUntil: (userId: string) => Promise<Date | undefined>
  clear: (userId: string) => Promise<void>
}

// The hash at the attempts key: {count, windowStart, lockedUntil, consecutive, lastFailAt}.
// begin_attempt(key, now, windowMs, max, lockMs, suspendAfter, ttlMs, freeFailures) answers
// {1, attempt} | {0, lockedUntil} | {-1, 0} suspended | {2, retryAt} throttled. A Lua function so
// that a script merging the count with another step runs this very body (see redisAttempts).
const BEGIN_ATTEMPT_FN = `
local function begin_attempt(key, now, windowMs, max, lockMs, suspendAfter, ttl, free)
  now = tonumber(now); windowMs = tonumber(windowMs); max = tonumber(max); lockMs = tonumber(lockMs)
  suspendAfter = tonumber(suspendAfter); ttl = tonumber(ttl); free = tonumber(free)
  local h = redis.call('HMGET', key, 'count', 'windowStart', 'lockedUntil', 'consecutive', 'lastFailAt')
  local count = tonumber(h[1] or '0'); local ws = tonumber(h[2] or '0')
  local lu = tonumber(h[3] or '0'); local consecutive = tonumber(h[4] or '0'); local lf = tonumber(h[5] or '0')
  if consecutive >= suspendAfter then return {-1, 0} end
  if lu > now then return {0, lu} end
  if ws + windowMs <= now then count = 0; ws = now end
  if count > free then
    local retryAt = lf + 1000 * (2 ^ (count - free))
    if retryAt > now then return {2, retryAt} end
  end
  count = count + 1
  if count > max then
    lu = now + lockMs
    redis.call('HSET', key, 'count', 0, 'windowStart', now, 'lockedUntil', lu)
    redis.call('PEXPIRE', key, ttl)
    return {0, lu}
  end
  redis.call('HSET', key, 'count', count, 'windowStart', ws)
  redis.call('PEXPIRE', key, ttl)
  return {1, count}
end
`

// reset_attempts(key): a success. The count starts again and a suspension ends; a running lock stays.
const RESET_ATTEMPTS_FN = `
local function reset_attempts(key)
  redis.call('HSET', key, 'count', 0, 'consecutive', 0)
end
`

// KEYS[1] the attempts hash; ARGV begin_attempt's arguments after the key.
const BEGIN = `${BEGIN_ATTEMPT_FN}
return begin_attempt(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])`

const RESET = `${RESET_ATTEMPTS_FN}
reset_attempts(KEYS[1])
return 1`

const FAIL = `
local now = tonumber(ARGV[1]); local max = tonumber(ARGV[2]); local lockMs = tonumber(ARGV[3]); local ttl = tonumber(ARGV[4])
local consecutive = redis.call('HINCRBY', KEYS[1], 'consecutive', 1)
redis.call('HSET', KEYS[1], 'lastFailAt', now)
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
redis.call('PEXPIRE', KEYS[1], ttl)
if count >= max then
  local lu = now + lockMs
  redis.call('HSET', KEYS[1], 'count', 0, 'windowStart', now, 'lockedUntil', lu)
  return {0, lu}
end
return {max - count, 0}`

// Consecutive failures must outlive the window; 30 days bounds the key's life.
const KEEP_MS = 30 * 24 * 3600_000

/**
 * The Redis limiter's layout, for a script that merges a step of the counter with another one (one
 * round trip instead of two: bench/FIXES.md §9). Its Lua is the limiter's own, so both count alike.
 */
export const redisAttempts = {
  /** The counter's key: `{userId}`-tagged, so a cluster keeps it in the slot of the user's other keys. */
  key: (prefix: string, userId: string): string => `${prefix}:attempts:{${userId}}`,
  /** Lua defining `begin_attempt(key, ...beginArgs)`, which answers a reply for `beginResult`. */
  beginFunction: BEGIN_ATTEMPT_FN,
  /** begin_attempt's arguments after the key. */
  beginArgs: (limits: AttemptLimits, nowMs: number): number[] =>
    [nowMs, limits.windowMs, limits.maxFailures, limits.lockMs, limits.suspendAfter, KEEP_MS, limits.freeFailures],
  beginResult: (reply: [number, number]): BeginResult => {
    const [a, b] = reply
    if (a === -1) return { allowed: false, reason: 'suspended' }
    if (a === 2) return { allowed: false, reason: 'throttled', retryAt: new Date(b) }
    if (a === 0) return { allowed: false, reason: 'locked', lockedUntil: new Date(b) }
    return { allowed: true, attempt: b }
  },
  /** Lua defining `reset_attempts(key)`: what `succeed` does. */
  resetFunction: RESET_ATTEMPTS_FN,
} as const

export function createRedisAttemptLimiter (redis: Redis, opts: { prefix: string, clock: Clock, limits?: AttemptLimits }): AttemptLimiter {
  const limits = opts.limits ?? DEFAULT_ATTEMPT_LIMITS
  const key = (userId: string) => redisAttempts.key(opts.prefix, userId)
  const now = () => opts.clock.now().getTime()
  const beginScript = redisScript(redis, BEGIN, 1)
  const failScript = redisScript(redis, FAIL, 1)
  const resetScript = redisScript(redis, RESET, 1)
  return {
    limits,
    begin: (userId) => failClosed('the attempt counter', async () =>
      redisAttempts.beginResult(await beginScript(key(userId), ...redisAttempts.beginArgs(limits, now())) as [number, number])),
    fail: (userId) => failClosed('the attempt counter', async () => {
      const [left, lu] = await failScript(key(userId), now(), limits.maxFailures, limits.lockMs, KEEP_MS) as [number, number]
      return lu > 0 ? { attemptsLeft: 0, lockedUntil: new Date(lu) } : { attemptsLeft: left }
    }),
    succeed: (userId) => failClosed('the attempt counter', async () => { await resetScript(key(userId)) }),
    lockedUntil: (userId) => failClosed('the attempt counter', async () => {
      const [lu, consecutive] = await redis.hmget(key(userId), 'lockedUntil', 'consecutive')
      if (Number(consecutive ?? 0) >= limits.suspendAfter) return new Date(8.64e15)
      const until = Number(lu ?? 0)
      return until > now() ? new Date(until) : undefined
    }),
    clear: (userId) => failClosed('the attempt counter', async () => { await redis.del(key(userId)) }),
  }
}

/** The same rules in memory, on the injected clock: for unit tests of services. */
export function createMemoryAttemptLimiter (clock: Clock, limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS): AttemptLimiter & { state: Map<string, MemoryAttempts> } {
  const state = new Map<string, MemoryAttempts>()
  const get = (u: string): MemoryAttempts => {
    let s = state.get(u)
    if (s === undefined) { s = { count: 0, windowStart: 0, lockedUntil: 0, consecutive: 0, lastFailAt: 0 }; state.set(u, s) }
    return s
  }
  const now = (): number => clock.now().getTime()
  const lock = (s: MemoryAttempts): Date => {
    s.lockedUntil = now() + limits.lockMs
    s.count = 0
    s.windowStart = now()
    return new Date(s.lockedUntil)
  }
  return {
    limits,
    state,
    begin: async (u) => {
      const s = get(u)
      if (s.consecutive >= limits.suspendAfter) return { allowed: false, reason: 'suspended' }
      if (s.lockedUntil > now()) return { allowed: false, reason: 'locked', lockedUntil: new Date(s.lockedUntil) }
      if (s.windowStart + limits.windowMs <= now()) { s.count = 0; s.windowStart = now() }
      const retryAt = s.lastFailAt + throttleMs(s.count, limits)
      if (s.count > limits.freeFailures && retryAt > now()) return { allowed: false, reason: 'throttled', retryAt: new Date(retryAt) }
      s.count++
      if (s.count > limits.maxFailures) return { allowed: false, reason: 'locked', lockedUntil: lock(s) }
      return { allowed: true, attempt: s.count }
    },
    fail: async (u) => {
      const s = get(u)
      s.consecutive++
      s.lastFailAt = now()
      if (s.count >= limits.maxFailures) return { attemptsLeft: 0, lockedUntil: lock(s) }
      return { attemptsLeft: limits.maxFailures - s.count }
    },
    succeed: async (u) => { const s = get(u); s.count = 0; s.consecutive = 0 },
    lockedUntil: async (u) => {
      const s = get(u)
      if (s.consecutive >= limits.suspendAfter) return new Date(8.64e15)
      return s.lockedUntil > now() ? new Date(s.lockedUntil) : undefined
    },
    clear: async (u) => { state.delete(u) },
  }
}
export interface MemoryAttempts { count: number, windowStart: number, lockedUntil: number, consecutive: number, lastFailAt: number }

/**
 * Atomically claims a one-time value (SECURITY.md §1.5): true for exactly one caller. With
 * `monotonic`, the claim is a number that must be strictly greater than the last one claimed
 * (TOTP steps); otherwise it is a set membership with a TTL.
 */
const CLAIM_GREATER = `
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`

export async function claimGreater (redis: Redis, key: string, value: number, ttlMs: number): Promise<boolean> {
  return failClosed('the replay ledger', async () => (await redisScript(redis, CLAIM_GREATER, 1)(key, value, ttlMs)) === 1)
}
