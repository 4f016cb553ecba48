import type { Redis } from 'ioredis'
import { failClosed, redisScript, type Clock } from '@warden/service-kit'
import { retentionMs, type SigninFlow } from '../flows.js'
import type { FlowStore } from '../ports.js'

/**
 * Sign-in transactions in Redis, shared by every replica. Writes are compare-and-set on the
 * record's `rev`, so of two parallel requests on one transaction exactly one moves it forward.
 * Redis being away is a 503 (fail closed), never a pass.
 */

const PREFIX = 'gw:signin:'

// KEYS[1] record; ARGV expectedRev, json, ttlMs
const REPLACE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, obj = pcall(cjson.decode, cur)
if not ok or type(obj) ~= 'table' or obj.rev ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', tonumber(ARGV[3]))
return 1`

function parse (raw: string | null): SigninFlow | undefined {
  if (raw === null) return undefined
  const v = JSON.parse(raw) as Partial<SigninFlow>
  if (typeof v !== 'object' || v === null || typeof v.id !== 'string' || typeof v.userId !== 'string' || typeof v.rev !== 'number') {
    throw new Error('stored sign-in transaction has an unknown shape')
  }
  return v as SigninFlow
}

export function createRedisFlowStore (redis: Redis, clock: Clock, opts: { graceMs: number }): FlowStore {
  const key = (id: string) => PREFIX + id
  const replaceScript = redisScript(redis, REPLACE, 1)
  return {
    async create (flow) {
      const ttl = retentionMs(flow, clock.now(), opts.graceMs)
      const ok = await failClosed('the sign-in store', () => redis.set(key(flow.id), JSON.stringify(flow), 'PX', ttl, 'NX'))
      if (ok !== 'OK') throw new Error('sign-in transaction id collision')
    },
    async load (id) {
      return parse(await failClosed('the sign-in store', () => redis.get(key(id))))
    },
    async replace (next, expectedRev) {
      const ttl = retentionMs(next, clock.now(), opts.graceMs)
      const res = await failClosed('the sign-in store', () => replaceScript(key(next.id), String(expectedRev), JSON.stringify(next), String(ttl)))
      return res === 1
    },
  }
}
