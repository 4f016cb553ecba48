import { outboxMessageExample } from '../factors/examples.js'
import { ajv, BusError, NOTIFIER_DEMO_OUTBOX_KEY, Timestamp } from '@warden/contracts'
import { failClosed } from '@warden/service-kit'
import type { Redis } from 'ioredis'
import { Type } from 'typebox'

/**
 * One message the demo's fake providers were asked to send, or one the notifier shows (a user
 * notification, a webhook delivery). Demo mode only: it holds codes and "Not you?" links.
 */
export const OutboxMessage = Type.Object({
  channel: Type.String({ maxLength: 20, description: 'How it was sent: sms (a code), push or sms (a user notification), notice (a notification nobody could receive), webhook' }),
  to: Type.String({ maxLength: 2048, description: 'A phone number, a user id, or a webhook URL' }),
  text: Type.String({ maxLength: 2000 }),
  sentAt: Timestamp,
}, { additionalProperties: false })
export type OutboxMessage = Type.Static<typeof OutboxMessage>

export const Outbox = Type.Object({ messages: Type.Array(OutboxMessage, { maxItems: 50 }) }, {
  additionalProperties: false,
  description: 'Newest first, at most 50',
  examples: [{ messages: [outboxMessageExample] }],
})
export type Outbox = Type.Static<typeof Outbox>

export interface DemoOutbox {
  /** Newest first, at most 50. */
  list: () => Promise<Outbox>
}

const isOutbox = ajv.compile<Outbox>(Outbox)
const isOutboxMessage = ajv.compile<OutboxMessage>(OutboxMessage)
const MAX_MESSAGES = 50

/**
 * The demo inbox, read from the fake SMS provider's HTTP API (`GET <url>/_fake/outbox`, which
 * already speaks this shape). Without a URL it is empty. Fails closed: 503.
 */
export function createHttpDemoOutbox (url: string | undefined, opts: { timeoutMs?: number } = {}): DemoOutbox {
  return {
    async list () {
      if (url === undefined) return { messages: [] }
      try {
        const res = await fetch(`${url}/_fake/outbox?limit=50`, { signal: AbortSignal.timeout(opts.timeoutMs ?? 2_000) })
        const body: unknown = await res.json()
        if (!res.ok || !isOutbox(body)) throw new Error(`the outbox answered ${res.status}`)
        return body
      } catch (cause) {
        throw new BusError('UNAVAILABLE', 'the demo outbox is not available', { cause, retryAfterSec: 5 })
      }
    },
  }
}

/**
 * What the notifier shows in demo mode (user notifications, webhook deliveries): its Redis list
 * (NOTIFIER_DEMO_OUTBOX_KEY), newest first. An entry that is not a message is skipped, never a 500.
 */
export function createRedisDemoOutbox (redis: Redis): DemoOutbox {
  return {
    list: () => failClosed('the demo outbox', async () => {
      const messages: OutboxMessage[] = []
      for (const raw of await redis.lrange(NOTIFIER_DEMO_OUTBOX_KEY, 0, MAX_MESSAGES - 1)) {
        let parsed: unknown
        try { parsed = JSON.parse(raw) } catch { continue }
        if (isOutboxMessage(parsed)) messages.push(parsed)
      }
      return { messages }
    }),
  }
}

/** Several outboxes as one: every message, newest first, at most 50. */
export function mergeDemoOutboxes (sources: readonly DemoOutbox[]): DemoOutbox {
  return {
    async list () {
      const all = (await Promise.all(sources.map((s) => s.list()))).flatMap((o) => o.messages)
      all.sort((a, b) => Date.parse(b.sentAt) - Date.parse(a.sentAt))
      return { messages: all.slice(0, MAX_MESSAGES) }
    },
  }
}
