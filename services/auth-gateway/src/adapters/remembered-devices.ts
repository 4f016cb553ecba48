import { createHmac, randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { failClosed, newId, redisScript, type Clock } from '@warden/service-kit'
import type { RememberDeviceStore, RememberedDevice } from '../ports.js'

/**
 * "Remember this device" tokens in Redis (SECURITY.md §4.1 deviation): the browser holds an opaque
 * 256-bit token, Redis only its HMAC. Each use rotates it atomically, so a copied token works at
 * most once and parallel uses have exactly one winner. Expiry is judged with the injected clock
 * against `expiresAt`; the Redis TTL only collects garbage. Every operation fails closed.
 */

const TOKEN = /^rd_[A-Za-z0-9_-]{43}$/
const DAY_MS = 24 * 3600_000

// KEYS: old token key, new token key, user index; ARGV: userId, new record JSON, ttl ms, device id.
// Swaps the token only if the old one exists and belongs to the user; returns the old record.
const ROTATE = `
local old = redis.call('GET', KEYS[1])
if not old then return false end
local rec = cjson.decode(old)
if rec.userId ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('HSET', KEYS[3], ARGV[4], KEYS[2])
return old`

// KEYS: user index; ARGV: device id. Removes one device and its live token.
const REVOKE = `
local tokenKey = redis.call('HGET', KEYS[1], ARGV[1])
if not tokenKey then return 0 end
redis.call('DEL', tokenKey)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`

export function createRememberDeviceStore (redis: Redis, opts: { hmacKey: Uint8Array, clock: Clock, prefix?: string }): RememberDeviceStore {
  const prefix = opts.prefix ?? 'gw:rd'
  const tokenKey = (token: string) => `${prefix}:tok:${createHmac('sha256', opts.hmacKey).update(token).digest('base64url')}`
  const userKey = (userId: string) => `${prefix}:user:{${userId}}`
  const newToken = () => `rd_${randomBytes(32).toString('base64url')}`
  const rotateScript = redisScript(redis, ROTATE, 3)
  const revokeScript = redisScript(redis, REVOKE, 1)
  const ttlMs = (d: RememberedDevice) => Math.max(1_000, new Date(d.expiresAt).getTime() - opts.clock.now().getTime())

  /** The device of a live token of `userId`, within its expiry and the policy's age limit; else undefined. */
  async function check (userId: string, token: string, maxAgeDays: number): Promise<RememberedDevice | undefined> {
    if (!TOKEN.test(token)) return undefined
    const now = opts.clock.now().getTime()
    const current = await redis.get(tokenKey(token))
    if (current === null) return undefined
    const seen = JSON.parse(current) as RememberedDevice
    const tooOld = now >= new Date(seen.createdAt).getTime() + maxAgeDays * DAY_MS
    if (seen.userId !== userId || now >= new Date(seen.expiresAt).getTime() || tooOld) return undefined
    return seen
  }

  const store: RememberDeviceStore = {
    issue: (userId, { label, days }) => failClosed('the remembered-device store', async () => {
      const now = opts.clock.now()
      const device: RememberedDevice = {
        id: newId('rdv'), userId, label: label.slice(0, 200),
        createdAt: now.toISOString(), lastUsedAt: now.toISOString(), expiresAt: new Date(now.getTime() + days * DAY_MS).toISOString(),
      }
      const token = newToken()
      await redis.multi()
        .set(tokenKey(token), JSON.stringify(device), 'PX', ttlMs(device))
        .hset(userKey(userId), device.id, tokenKey(token))
        .pexpire(userKey(userId), 400 * DAY_MS)
        .exec()
      return { token, device }
    }),

    peek: (userId, token, maxAgeDays) => failClosed('the remembered-device store', async () => check(userId, token, maxAgeDays)),

    use: (userId, token, maxAgeDays) => failClosed('the remembered-device store', async () => {
      const seen = await check(userId, token, maxAgeDays)
      if (seen === undefined) return undefined
      const now = opts.clock.now()
      const next = newToken()
      const device: RememberedDevice = { ...seen, lastUsedAt: now.toISOString() }
      const old = await rotateScript(tokenKey(token), tokenKey(next), userKey(userId), userId, JSON.stringify(device), ttlMs(device), device.id)
      // Somebody spent it between our read and the swap: they won, this use fails.
      if (old === null) return undefined
      return { token: next, device }
    }),

    list: (userId) => failClosed('the remembered-device store', async () => {
      const index = await redis.hgetall(userKey(userId))
      const now = opts.clock.now().getTime()
      const keys = Object.values(index)
      if (keys.length === 0) return []
      const records = await redis.mget(...keys)
      return records
        .filter((r): r is string => r !== null)
        .map((r) => JSON.parse(r) as RememberedDevice)
        .filter((d) => new Date(d.expiresAt).getTime() > now)
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    }),

    revoke: (userId, id) => failClosed('the remembered-device store', async () => (await revokeScript(userKey(userId), id)) === 1),

    revokeAll: (userId) => failClosed('the remembered-device store', async () => {
      const index = await redis.hgetall(userKey(userId))
      const keys = Object.values(index)
      await redis.del(userKey(userId), ...keys)
      return keys.length
    }),
  }
  return store
}
