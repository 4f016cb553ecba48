import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { EVENTS_STREAM, EVENTS_SUBJECTS, type EventType } from '@warden/contracts'
import { extractTrace, inSpan } from '@warden/contracts/nats'
import type { Log } from '@warden/service-kit'

export interface EventSource { stop: () => Promise<void> }

/**
 * Every event on WARDEN_EVENTS, through one durable consumer, one message at a time in stream
 * order (max_ack_pending 1): a user's events are handled in the order they were published, even
 * when one must be retried, so webhooks get them in that order. At least once: a message is
 * acknowledged after the handler succeeded, so handlers are idempotent by event id.
 *
 * service-kit's consumeEvents does the same for one event type with parallel delivery; this one
 * takes every known type and keeps order. (Phase 2: a candidate to move into service-kit.)
 */
export async function consumeAllEvents (
  nc: NatsConnection,
  opts: { durable: string, known: ReadonlyMap<string, EventType>, log: Log, retryDelayMs?: number },
  handler: (subject: string, payload: Record<string, unknown>) => Promise<void>,
): Promise<EventSource> {
  const jsm = await jetstreamManager(nc)
  await jsm.consumers.add(EVENTS_STREAM, {
    durable_name: opts.durable,
    filter_subject: EVENTS_SUBJECTS,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30_000_000_000,
    max_ack_pending: 1,
  })
  const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, opts.durable)
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 16 })
  const handle = async (m: JsMsg): Promise<void> => {
    const type = opts.known.get(m.subject)
    if (type === undefined) {
      // A newer publisher's event this version does not know: nothing to show or send yet.
      opts.log.warn({ subject: m.subject, seq: m.seq }, 'unknown event type; skipped')
      m.ack()
      return
    }
    let payload: unknown
    try { payload = m.json() } catch { payload = undefined }
    if (!type.isPayload(payload)) {
      opts.log.warn({ subject: m.subject, seq: m.seq }, 'event does not match its contract; dropped')
      m.term()
      return
    }
    try {
      await inSpan(`${m.subject} consume`, 'server', m.subject, extractTrace(m.headers), () => handler(m.subject, payload as Record<string, unknown>))
      m.ack()
    } catch (err) {
      opts.log.error({ err, subject: m.subject, seq: m.seq }, 'event handler failed; will retry')
      m.nak(opts.retryDelayMs ?? 2_000)
    }
  }
  const done = (async () => { for await (const m of messages) await handle(m) })()
  return {
    stop: async () => { await messages.close(); await done.catch(() => {}) },
  }
}
