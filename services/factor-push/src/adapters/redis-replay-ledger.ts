import type { Redis } from 'ioredis'
import { failClosed } from '@warden/service-kit'
import type { ReplayLedger } from '../ports.js'

/** Spent `jti`s in Redis: SET NX with a TTL, one atomic step, so parallel replays have one winner. */
export function createRedisReplayLedger (redis: Redis, opts: { prefix: string }): ReplayLedger {
  return {
    claim: (scope, jti, ttlMs) => failClosed('the replay ledger', async () =>
      (await redis.set(`${opts.prefix}:jti:{${scope}}:${jti}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK'),
  }
}
