import type { Redis } from 'ioredis'
import { failClosed } from '@warden/service-kit'
import type { ClaimedDelivery, Outbox, OutboxItem, SecurityEvent, Target } from '../ports.js'

// Every key carries the hash tag {outbox}: one slot, so the scripts below stay atomic on a
// cluster too (they touch queues they discover, which must share the slot).

// KEYS: seen, targets, then (queue, due) per target. ARGV: dedupe ttl ms, now ms, userId, item,
// then the targets. The seen marker and every append happen in one step: a redelivered event
// finds the marker and adds nothing, a first one is queued for all its targets or none.
const ENQUEUE = `
if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return 0 end
for i = 5, #ARGV do
  local q = KEYS[3 + (i - 5) * 2]
  local due = KEYS[4 + (i - 5) * 2]
  if redis.call('RPUSH', q, ARGV[4]) == 1 then redis.call('ZADD', due, ARGV[2], ARGV[3]) end
  redis.call('SADD', KEYS[2], ARGV[i])
end
return 1`

// KEYS: due. ARGV: now ms, max, lease-until ms, queue key prefix. A queue is in its target's due
// set for as long as it holds items, scored by when its head may be tried next; claiming pushes
// the score to the lease's end, so no other dispatcher takes the same head meanwhile.
const CLAIM = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, m in ipairs(members) do
  local head = redis.call('LINDEX', ARGV[4] .. m, 0)
  if head then
    redis.call('ZADD', KEYS[1], ARGV[3], m)
    table.insert(out, m)
    table.insert(out, head)
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out`

// KEYS: queue, due, targets. ARGV: event id, now ms, userId, target. Pops the head only if it
// is still the event that was delivered (a late duplicate finish changes nothing).
const COMPLETE = `
local head = redis.call('LINDEX', KEYS[1], 0)
if head and cjson.decode(head).event.eventId == ARGV[1] then redis.call('LPOP', KEYS[1]) end
if redis.call('LLEN', KEYS[1]) > 0 then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
else
  redis.call('ZREM', KEYS[2], ARGV[3])
  if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[4]) end
end
return 1`

// KEYS: queue, due. ARGV: event id, updated item, retry-at ms, userId.
const RETRY = `
local head = redis.call('LINDEX', KEYS[1], 0)
if head and cjson.decode(head).event.eventId == ARGV[1] then redis.call('LSET', KEYS[1], 0, ARGV[2]) end
if redis.call('LLEN', KEYS[1]) > 0 then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4]) end
return 1`

// KEYS: due, targets. ARGV: queue key prefix, target.
const PURGE = `
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do redis.call('DEL', ARGV[1] .. m) end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1`

/**
 * The outbox in Redis: a list per (target, user) and a due-time sorted set per target. Redis
 * must persist (AOF), as it must for the attempt counters already (SECURITY.md §3). Items hold
 * only the public view of events. Fails closed (UNAVAILABLE), so the event is retried.
 */
export function createRedisOutbox (redis: Redis, opts: { prefix: string, dedupeTtlMs?: number }): Outbox {
  const base = `${opts.prefix}:{outbox}`
  const dedupeTtlMs = opts.dedupeTtlMs ?? 7 * 24 * 3600_000
  const seen = (eventId: string) => `${base}:seen:${eventId}`
  const targetsKey = `${base}:targets`
  const queuePrefix = (target: Target) => `${base}:q:${target}:`
  const queue = (target: Target, userId: string) => queuePrefix(target) + userId
  const due = (target: Target) => `${base}:due:${target}`
  return {
    enqueue: (event: SecurityEvent, targets, now) => failClosed('the outbox', async () => {
      if (targets.length === 0) return false
      const item: OutboxItem = { event, enqueuedAt: now.toISOString(), attempts: 0 }
      const keys = [seen(event.eventId), targetsKey, ...targets.flatMap((t) => [queue(t, event.userId), due(t)])]
      const done = await redis.eval(ENQUEUE, keys.length, ...keys, dedupeTtlMs, now.getTime(), event.userId, JSON.stringify(item), ...targets)
      return done === 1
    }),
    targets: () => failClosed('the outbox', async () => await redis.smembers(targetsKey) as Target[]),
    claim: (target, now, max, leaseUntil) => failClosed('the outbox', async () => {
      if (max < 1) return []
      const flat = await redis.eval(CLAIM, 1, due(target), now.getTime(), max, leaseUntil.getTime(), queuePrefix(target)) as string[]
      const claimed: ClaimedDelivery[] = []
      for (let i = 0; i + 1 < flat.length; i += 2) {
        claimed.push({ target, userId: flat[i] as string, item: JSON.parse(flat[i + 1] as string) as OutboxItem })
      }
      return claimed
    }),
    complete: (d, now) => failClosed('the outbox', async () => {
      await redis.eval(COMPLETE, 3, queue(d.target, d.userId), due(d.target), targetsKey, d.item.event.eventId, now.getTime(), d.userId, d.target)
    }),
    retry: (d, item, retryAt) => failClosed('the outbox', async () => {
      await redis.eval(RETRY, 2, queue(d.target, d.userId), due(d.target), d.item.event.eventId, JSON.stringify(item), retryAt.getTime(), d.userId)
    }),
    purge: (target) => failClosed('the outbox', async () => {
      await redis.eval(PURGE, 2, due(target), targetsKey, queuePrefix(target), target)
    }),
  }
}
