import { isIP } from 'node:net'
import type { Redis } from 'ioredis'
import { failClosed, type Clock } from '@warden/service-kit'
import type { RiskSignals } from '../ports.js'

/**
 * Signals for the adaptive policy: the networks of a user's recent successful sign-ins and their
 * recent second-factor failures. Networks are /24 (IPv4) or /48 (IPv6) prefixes, so a new DHCP
 * lease at home is not "new"; the IP itself is never stored.
 */
export function networkOf (ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined
  const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip
  if (isIP(v4) === 4) return v4.split('.').slice(0, 3).join('.') + '.0/24'
  if (isIP(ip) === 6) {
    const [head = '', tail = ''] = ip.split('::')
    const left = head === '' ? [] : head.split(':')
    const right = tail === '' ? [] : tail.split(':')
    const full = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    return full.slice(0, 3).map((h) => parseInt(h || '0', 16).toString(16)).join(':') + '::/48'
  }
  return undefined
}

export interface RiskOptions {
  clock: Clock
  /** How long a network stays "known" after the last success there. */
  networkMemoryMs?: number
  /** How long a failure counts as "recent". */
  failureMemoryMs?: number
  maxNetworks?: number
  prefix?: string
}

export function createRedisRiskSignals (redis: Redis, opts: RiskOptions): RiskSignals {
  const prefix = opts.prefix ?? 'gw:risk'
  const networkMemory = opts.networkMemoryMs ?? 90 * 24 * 3600_000
  const failureMemory = opts.failureMemoryMs ?? 24 * 3600_000
  const maxNetworks = opts.maxNetworks ?? 20
  const nets = (u: string) => `${prefix}:nets:{${u}}`
  const fails = (u: string) => `${prefix}:fails:{${u}}`
  const now = () => opts.clock.now().getTime()
  return {
    assess: (userId, ip) => failClosed('the risk signals', async () => {
      const net = networkOf(ip)
      const t = now()
      const [[, count], [, seen], [, lastFailure]] = await redis.multi()
        .zcount(nets(userId), `(${t - networkMemory}`, '+inf')
        .zscore(nets(userId), net ?? '-')
        .get(fails(userId))
        .exec() as [[null, number], [null, string | null], [null, string | null]]
      return {
        firstSignin: count === 0,
        knownNetwork: net !== undefined && seen !== null && Number(seen) > t - networkMemory,
        recentFailures: lastFailure !== null && Number(lastFailure) > t - failureMemory,
      }
    }),
    recordSuccess: (userId, ip) => failClosed('the risk signals', async () => {
      const net = networkOf(ip) ?? 'unknown'
      const t = now()
      await redis.multi()
        .zadd(nets(userId), t, net)
        .zremrangebyrank(nets(userId), 0, -(maxNetworks + 1))
        .pexpire(nets(userId), networkMemory)
        .del(fails(userId))
        .exec()
    }),
    recordFailure: (userId) => failClosed('the risk signals', async () => {
      await redis.set(fails(userId), String(now()), 'PX', failureMemory)
    }),
    forget: (userId) => failClosed('the risk signals', async () => { await redis.del(nets(userId), fails(userId)) }),
  }
}
