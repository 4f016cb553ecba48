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
  })
  await redis.connect()
  return redis
}

/** Runs a Redis operation; any failure becomes UNAVAILABLE, never a pass (SECURITY.md §1.4). */
export async function failClosed<T> (what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (cause) {
    if (BusError.is(cause)) throw cause
    throw new BusError('UNAVAILABLE', `${what} is unavailable`, { cause, retryAfterSec: 5 })
  }
}
