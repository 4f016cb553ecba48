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
