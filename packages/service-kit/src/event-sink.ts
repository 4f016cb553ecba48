import type { EventType } from '@warden/contracts'
import type { EventBody, EventPublisher } from './events.js'
import type { Log } from './log.js'

/**
 * Security events as a service's decisions see them. Called after the state change it reports;
 * never throws (a failed publish is the adapter's to log), so an answer never contradicts the
 * state already written.
 */
export interface EventSink {
  emit: <E extends EventType>(event: E, body: EventBody<E>) => Promise<void>
}

/**
 * Publishes to the WARDEN_EVENTS stream. The state change an event reports is already stored, so
 * a failed publish is logged (subject and user only) rather than turned into an error answer.
 */
export function createPublisherEventSink (publisher: EventPublisher, log: Pick<Log, 'error'>): EventSink {
  return {
    async emit (event, body) {
      try {
        await publisher.publish(event, body)
      } catch (err) {
        log.error({ err, subject: event.subject, userId: body.userId }, 'event not published')
      }
    },
  }
}
