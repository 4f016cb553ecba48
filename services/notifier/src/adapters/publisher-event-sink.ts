import { derivedEventId, failClosed, type EventPublisher } from '@warden/service-kit'
import { userReported } from '@warden/contracts'
import type { NotifierEventSink } from '../ports.js'

/**
 * Publishes the notifier's own events to WARDEN_EVENTS. The report is what support reads, so a
 * failure to publish is an error (UNAVAILABLE): the user tries again, and the lock and the
 * derived event id make the retry harmless.
 */
export function createPublisherEventSink (publisher: EventPublisher): NotifierEventSink {
  return {
    reported: ({ userId, reportedEventId }) => failClosed('the event stream', async () => {
      await publisher.publish(userReported, { userId, reportedEventId, eventId: derivedEventId(`reported:${reportedEventId}`) })
    }),
  }
}
