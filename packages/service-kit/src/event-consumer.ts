import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { EVENTS_STREAM, type EventType, type PayloadOf } from '@warden/contracts'
import { extractTrace, inSpan } from '@warden/contracts/nats'
import { context } from '@opentelemetry/api'
import type { Log } from './log.js'

export interface EventSubscription { stop: () => Promise<void> }

/**
 * Consumes one event type from WARDEN_EVENTS with a durable consumer per service, so an event
 * published while the service was down is handled when it comes back (at least once). Handlers
 * must be idempotent. An event that breaks its contract is logged and terminated (never retried);
 * a handler failure is retried after `retryDelayMs`.
 */
export async function consumeEvents<E extends EventType> (
  nc: NatsConnection,
  opts: { durable: string, event: E, log: Log, retryDelayMs?: number },
  handler: (payload: PayloadOf<E>) => Promise<void>,
): Promise<EventSubscription> {
  const jsm = await jetstreamManager(nc)
  await jsm.consumers.add(EVENTS_STREAM, {
    durable_name: opts.durable,
    filter_subject: opts.event.subject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30_000_000_000,
    max_deliver: 20,
  })
  const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, opts.durable)
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 16 })
  const handle = async (m: JsMsg): Promise<void> => {
    let payload: unknown
    try { payload = m.json() } catch { payload = undefined }
    if (!opts.event.isPayload(payload)) {
      opts.log.warn({ subject: m.subject, seq: m.seq }, 'event does not match its contract; dropped')
      m.term()
      return
    }
    try {
      await inSpan(`${opts.event.subject} consume`, 'server', opts.event.subject, m.headers ? extractTrace(m.headers) : context.active(), () => handler(payload as PayloadOf<E>))
      m.ack()
    } catch (err) {
      opts.log.error({ err, subject: m.subject, seq: m.seq }, 'event handler failed; will retry')
      m.nak(opts.retryDelayMs ?? 5_000)
    }
  }
  const done = (async () => { for await (const m of messages) await handle(m) })()
  return {
    stop: async () => { await messages.close(); await done.catch(() => {}) },
  }
}
