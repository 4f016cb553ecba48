import type { NatsConnection } from '@nats-io/transport-node'
import { notifyPush, notifySms, type NotifyUserRequest } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import type { UserMessage, UserNotifier } from '../ports.js'

/** One message as the demo outbox shows it (ARCHITECTURE §5: what a person needs to finish a flow). */
export interface DemoMessage { readonly channel: 'push' | 'sms' | 'notice' | 'webhook', readonly to: string, readonly text: string, readonly sentAt: string }

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{16,64}$/

function noticeOf (m: UserMessage): NotifyUserRequest {
  return {
    userId: m.userId, text: m.text, link: m.notYouUrl,
    // The event id: a notice retried by the outbox after a lost reply is not sent twice.
    ...(IDEMPOTENCY_KEY.test(m.eventId) ? { idempotencyKey: m.eventId } : {}),
  }
}

/**
 * Reaches the user through the factor services that hold their devices and phones
 * (`warden.push.v1.notify`, `warden.sms.v1.notify`): the notifier never holds a push token or a
 * phone number. A fault (a service away, the provider down) throws, and the outbox retries.
 */
export function createBusUserNotifier (opts: { nc: NatsConnection, timeoutMs: number }): UserNotifier {
  return {
    push: async (m) => (await request(opts.nc, notifyPush, noticeOf(m), { timeoutMs: opts.timeoutMs })).reached,
    sms: async (m) => (await request(opts.nc, notifySms, noticeOf(m), { timeoutMs: opts.timeoutMs })).reached,
  }
}

/**
 * Demo mode: every notice is also shown in the demo outbox (and so on GET /v1/demo/outbox), whole,
 * with its "Not you?" link, so a person can follow it without a phone; also one nobody could
 * receive. Never outside demo mode: the link is a credential.
 */
export function withDemoOutbox (inner: UserNotifier, opts: { outbox: (m: DemoMessage) => Promise<void>, now: () => Date }): UserNotifier {
  // The channel says how it went: push or sms, or `notice` when nobody could receive it.
  const show = async (channel: DemoMessage['channel'], m: UserMessage): Promise<void> => {
    await opts.outbox({ channel, to: m.userId, text: `${m.text} ${m.notYouUrl}`, sentAt: opts.now().toISOString() }).catch(() => undefined)
  }
  return {
    push: async (m) => {
      const reached = await inner.push(m)
      if (reached > 0) await show('push', m)
      return reached
    },
    // Asked only when push reached nobody: this is where an unreachable user shows.
    sms: async (m) => {
      const reached = await inner.sms(m)
      await show(reached > 0 ? 'sms' : 'notice', m)
      return reached
    },
  }
}
