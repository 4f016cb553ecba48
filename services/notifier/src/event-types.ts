import { EVENTS, type EventType } from '@warden/contracts'

/** Every event the notifier understands, by subject: all of contracts' EVENTS. */
export const KNOWN_EVENTS: ReadonlyMap<string, EventType> = new Map(EVENTS.map((e) => [e.subject, e]))

/** The short type name webhooks and the feed use: `factor.enrolled` for `warden.events.v1.factor.enrolled`. */
export function typeOf (subject: string): string {
  return subject.replace(/^warden\.events\.v1\./, '')
}
