import { createHash } from 'node:crypto'
import { failClosed, type EventPublisher } from '@warden/service-kit'
import { userReported } from '@warden/contracts'
import type { NotifierEventSink } from '../ports.js'

/**
 * The same event id for the same key, so a repeated report is one event (the stream drops a
 * duplicate Nats-Msg-Id; the activity store keeps one entry per id). Same derivation as
 * factor-totp's random-ids: a candidate for service-kit.
 */
export function derivedEventId (key: string): string {
  return `evt_${createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, 32)}`
}

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
