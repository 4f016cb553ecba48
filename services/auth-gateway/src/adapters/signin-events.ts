import { deviceRemembered, networkSeen, verificationRejected, type EventContext, type EventType } from '@warden/contracts'
import type { EventBody, EventPublisher, Log } from '@warden/service-kit'
import { redisScript } from '@warden/service-kit'
import type { Redis } from 'ioredis'
import type { SigninEventContext, SigninEvents } from '../ports.js'
import { networkOf } from './risk-signals.js'

/** The contract's rule for an event's IP: anything else (a proxy's odd header) is left out, not refused. */
const EVENT_IP = /^[0-9A-Fa-f:.]{2,45}$/

// KEYS: the (user, network) key, the user's "signed in at all" key (one hash slot: {userId}).
// Answers 1 when the network is new and the user is not.
const NEW_NETWORK_SCRIPT = `
local network = redis.call('SET', KEYS[1], '1', 'EX', ARGV[1], 'GET')
local user = redis.call('SET', KEYS[2], '1', 'EX', ARGV[1], 'GET')
if network == false and user ~= false then return 1 end
return 0`

/** Where a sign-in came from, as the activity feed shows it: the application, the IP, the user agent. */
export function eventContext (c: SigninEventContext): EventContext {
  return {
    ...(c.clientId === undefined ? {} : { clientId: c.clientId }),
    ...(c.ip === undefined || !EVENT_IP.test(c.ip) ? {} : { ip: c.ip }),
    ...(c.userAgent === undefined ? {} : { userAgent: c.userAgent.slice(0, 512) }),
  }
}

export interface SigninEventsOptions {
  /** How long a network stays known after the user's last sign-in from it (90 days, like the risk signals). */
  networkMemorySec?: number
  prefix?: string
}

/**
 * The audit events of sign-in (issue 14): `verification.rejected`, `device.remembered`,
 * `network.seen`. Fire and forget: each call returns at once and never throws; the Redis look-up
 * and the JetStream publish run after the answer, so a slow or missing stream never slows or
 * fails a sign-in. A lost event is logged (its subject and user, never a token). Unlike
 * `user.reset` (user-reset.ts, which fails closed), these report what already happened.
 *
 * A network (IPv4 /24, IPv6 /48, as the risk signals count them) is new when this user has not
 * signed in from it for `networkMemorySec`, but has from somewhere (a user's very first sign-in
 * is not news). One Redis round trip: a script of two `SET … EX <memory> GET` (the network's key
 * and the user's "seen at all" key), which answers whether each was known and keeps both known.
 */
export function createSigninEvents (deps: { publisher: EventPublisher, redis: Redis, log: Pick<Log, 'error'> }, opts: SigninEventsOptions = {}): SigninEvents {
  const newNetworkScript = redisScript(deps.redis, NEW_NETWORK_SCRIPT, 2)
  const memorySec = opts.networkMemorySec ?? 90 * 86_400
  const prefix = opts.prefix ?? 'gw:netseen'
  const publish = <E extends EventType>(event: E, body: EventBody<E>): void => {
    void deps.publisher.publish(event, body).catch((err: unknown) => {
      deps.log.error({ err, subject: event.subject, userId: body.userId }, 'audit event not published')
    })
  }
  return {
    rejected: ({ userId, factor, reason, context }) => { publish(verificationRejected, { userId, factor, reason, context: eventContext(context) }) },
    remembered: ({ userId, deviceId, context }) => { publish(deviceRemembered, { userId, deviceId, context: eventContext(context) }) },
    signedIn: ({ userId, context }) => {
      const network = networkOf(context.ip)
      if (network === undefined) return
      void (async () => {
        try {
          const isNew = await newNetworkScript(`${prefix}:{${userId}}:${network}`, `${prefix}:{${userId}}`, memorySec)
          if (isNew === 1) await deps.publisher.publish(networkSeen, { userId, context: eventContext(context) })
        } catch (err) {
          deps.log.error({ err, subject: networkSeen.subject, userId }, 'audit event not published')
        }
      })()
    },
  }
}
