import type { EventPublisher, Log } from '@warden/service-kit'
import type { EventSink } from '../ports.js'

/**
 * Publishes to the WARDEN_EVENTS stream. The state change an event reports is already stored, so a
 * failed publish is logged (subject and user only) rather than turned into an error answer.
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
