import { createHash } from 'node:crypto'
import { BusError } from '@warden/contracts'
import { Redis } from 'ioredis'

/**
 * A Redis client that fails fast instead of queueing: when Redis is away, callers get an error at
 * once and answer 503 (fail closed) rather than hanging or passing.
 */
export async function connectRedis (url: string, name: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    // Commands issued in the same tick (parallel requests under load) go out in one socket write:
    // one write per command was ~10% of the gateway's and factor-totp's CPU (bench/FIXES.md).
    // Order and atomicity per command (and per script) are unchanged.
    enableAutoPipelining: true,
  })
  await redis.connect()
  return redis
}

/** Runs an operation on a store the answer depends on (Redis, KV); any fault becomes UNAVAILABLE (503, Retry-After), never a pass or a 500 (SECURITY.md §1.4). BusErrors, already classified, pass through. */
export async function failClosed<T> (what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (cause) {
    if (BusError.is(cause)) throw cause
    throw new BusError('UNAVAILABLE', `${what} is unavailable`, { cause, retryAfterSec: 5 })
  }
}

/** A Lua script bound to one client: called with its keys, then its arguments (as `EVAL` takes them after `numkeys`). */
export type RedisScript = (...keysThenArgs: Array<string | number>) => Promise<unknown>

/**
 * A Lua script sent as `EVALSHA` (ioredis `defineCommand`): the full text goes over a connection
 * once, then only its SHA-1; a server that lost it (restart, SCRIPT FLUSH) answers NOSCRIPT and
 * ioredis re-sends the text. `EVAL` sent the whole script on every call (bench/FIXES.md, round 2).
 * The command is named after the script's hash, so adapters sharing a client never clash and
 * defining the same script twice is a no-op. Atomicity is the script's, as with `EVAL`.
 */
export function redisScript (redis: Redis, lua: string, numberOfKeys: number): RedisScript {
  const name = scriptName(lua, numberOfKeys)
  const commands = redis as unknown as Record<string, RedisScript | undefined>
  if (typeof commands[name] !== 'function') redis.defineCommand(name, { lua, numberOfKeys })
  return async (...keysThenArgs) => await (commands[name] as RedisScript).apply(redis, keysThenArgs)
}

const scriptNames = new Map<string, string>()
function scriptName (lua: string, numberOfKeys: number): string {
  let name = scriptNames.get(lua)
  if (name === undefined) {
    name = `warden_${createHash('sha1').update(lua).digest('hex').slice(0, 16)}`
    scriptNames.set(lua, name)
  }
  return `${name}_${numberOfKeys}`
}
