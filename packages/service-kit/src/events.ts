import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { EVENTS_STREAM, EVENTS_SUBJECTS, type EventType, type PayloadOf } from '@warden/contracts'
import { traceHeaders } from '@warden/contracts/nats'
import type { Clock } from './clock.js'
import { newId } from './ids.js'

/** An event as its publisher writes it: the id is made (or given, to de-duplicate) and the time stamped on publish. */
export type EventBody<E> = Omit<PayloadOf<E>, 'eventId' | 'occurredAt'> & { eventId?: string }

export interface EventPublisher {
  /** Validates and publishes to WARDEN_EVENTS with Nats-Msg-Id = eventId (de-duplicated for 2 min). */
  publish: <E extends EventType>(event: E, body: EventBody<E>) => Promise<string>
}

/** Creates the stream if missing. Every service calls this at start-up; it is idempotent. */
export async function ensureEventStream (nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc)
  try {
    await jsm.streams.info(EVENTS_STREAM)
  } catch {
    try {
      await jsm.streams.add({ name: EVENTS_STREAM, subjects: [EVENTS_SUBJECTS], duplicate_window: 120_000_000_000, max_age: 90 * 24 * 3600 * 1e9 })
    } catch (err) {
      // Another replica created it between our info and add.
      if (!/already in use|exists/i.test(String(err))) throw err
    }
  }
}

export function createEventPublisher (nc: NatsConnection, clock: Clock): EventPublisher {
  const js: JetStreamClient = jetstream(nc)
  return {
    async publish (event, body) {
      const payload = { ...body, eventId: body.eventId ?? newId('evt'), occurredAt: clock.now().toISOString() }
      if (!event.isPayload(payload)) throw new Error(`event ${event.subject} does not match its contract`)
      await js.publish(event.subject, JSON.stringify(payload), { msgID: payload.eventId, headers: traceHeaders() })
      return payload.eventId
    },
  }
}
