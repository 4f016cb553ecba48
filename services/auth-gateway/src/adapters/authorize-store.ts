import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { failClosed, redisScript } from '@warden/service-kit'
import type { AuthorizeStore, CodeRecord, HostedSession, PushedRequest } from '../authorize.js'

/**
 * The hosted flow's short-lived state in Redis, shared by every replica. Handles, session ids and
 * codes are bearer values: only their SHA-256 is a key, so a dump of Redis hands none of them out.
 * Expiry is judged by the use cases with the injected clock; Redis TTLs only collect garbage.
 * Redis being away is a 503 (fail closed).
 */
const PREFIX = 'gw:authz:'
const h = (kind: string, value: string): string => `${PREFIX}${kind}:${createHash('sha256').update(value).digest('base64url')}`
const WHAT = 'the hosted-flow store'

// KEYS[1] session; ARGV json. Rewrites the session, keeping its TTL; 0 when it is gone.
const UPDATE_KEEPTTL = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
return 1`

function parse<T> (raw: string | null): T | undefined {
  return raw === null ? undefined : JSON.parse(raw) as T
}

/**
 * MFA tokens taken back (a code used twice): kept by `jti` as long as the token could live. The
 * token plugin asks `isRevoked` for every MFA token the gateway verifies.
 */
export function createTokenRevocations (redis: Redis): Pick<AuthorizeStore, 'revokeToken' | 'isRevoked'> {
  return {
    async revokeToken (jti, ttlMs) {
      await failClosed(WHAT, () => redis.set(`${PREFIX}revoked:${jti}`, '1', 'PX', ttlMs))
    },
    async isRevoked (jti) {
      return (await failClosed(WHAT, () => redis.exists(`${PREFIX}revoked:${jti}`))) === 1
    },
  }
}

export function createAuthorizeStore (redis: Redis): AuthorizeStore {
  const run = async <T>(op: () => Promise<T>): Promise<T> => failClosed(WHAT, op)
  const updateKeepTtl = redisScript(redis, UPDATE_KEEPTTL, 1)
  return {
    async putRequest (handle, request, ttlMs) {
      await run(() => redis.set(h('req', handle), JSON.stringify(request), 'PX', ttlMs))
    },
    async takeRequest (handle) {
      return parse<PushedRequest>(await run(() => redis.getdel(h('req', handle))))
    },
    async putSession (id, session, ttlMs) {
      await run(() => redis.set(h('sess', id), JSON.stringify(session), 'PX', ttlMs))
    },
    async getSession (id) {
      return parse<HostedSession>(await run(() => redis.get(h('sess', id))))
    },
    async updateSession (id, session) {
      return (await run(() => updateKeepTtl(h('sess', id), JSON.stringify(session)))) === 1
    },
    async deleteSession (id) {
      return (await run(() => redis.del(h('sess', id)))) === 1
    },
    async putCode (code, record, keepMs) {
      await run(() => redis.set(h('code', code), JSON.stringify(record), 'PX', keepMs))
    },
    async useCode (code, keepMs) {
      const record = parse<CodeRecord>(await run(() => redis.get(h('code', code))))
      if (record === undefined) return { record, first: false }
      const first = (await run(() => redis.set(h('used', code), '1', 'PX', keepMs, 'NX'))) === 'OK'
      return { record, first }
    },
    ...createTokenRevocations(redis),
  }
}
