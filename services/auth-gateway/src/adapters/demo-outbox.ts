import { outboxMessageExample } from '../factors/examples.js'
import { ajv, BusError, Timestamp } from '@warden/contracts'
import { Type } from 'typebox'

/** One message the demo's fake providers were asked to send. Demo mode only: it holds codes. */
export const OutboxMessage = Type.Object({
  channel: Type.String({ maxLength: 20, description: 'How it was sent, e.g. sms' }),
  to: Type.String({ maxLength: 40 }),
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
