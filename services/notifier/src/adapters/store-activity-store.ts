import { failClosed } from '@warden/service-kit'
import { StoreConflictError, type Store } from '@warden/store'
import type { ActivityPosition, ActivityStore, SecurityEvent } from '../ports.js'

export const ACTIVITY_BUCKET = 'notifier_activity'

/** Newest first: occurredAt descending, then eventId descending (a total order: ids are unique). */
function newerFirst (a: { occurredAt: string, eventId: string }, b: { occurredAt: string, eventId: string }): number {
  const t = Date.parse(b.occurredAt) - Date.parse(a.occurredAt)
  if (t !== 0) return t
  return a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0
}

const olderThan = (e: SecurityEvent, p: ActivityPosition): boolean => newerFirst(e, p) > 0

/**
 * The activity on the store port, one key per (user, event): writing an event twice is a
 * conflict, not a second entry. A query reads the user's entries and orders them here; the
 * store has no secondary index, which is fine at the hundreds of events a user has in the
 * stream's 90 days and within the retention (ACTIVITY_RETENTION_DAYS), after which `prune` deletes them.
 */
export function createStoreActivityStore (store: Store<SecurityEvent>): ActivityStore {
  return {
    record: (event) => failClosed('the activity store', async () => {
      try {
        await store.create([event.userId, event.eventId], event)
        return true
      } catch (err) {
        if (StoreConflictError.is(err)) return false
        throw err
      }
    }),
    query: (q) => failClosed('the activity store', async () => {
      const since = q.since === undefined ? undefined : Date.parse(q.since)
      const until = q.until === undefined ? undefined : Date.parse(q.until)
      const types = q.types === undefined ? undefined : new Set(q.types)
      const entries = (await store.list([q.userId])).map((e) => e.value).filter((e) => {
        const at = Date.parse(e.occurredAt)
        return (types === undefined || types.has(e.type)) &&
          (since === undefined || at >= since) && (until === undefined || at < until) &&
          (q.after === undefined || olderThan(e, q.after))
      })
      return entries.sort(newerFirst).slice(0, q.limit)
    }),
    // The whole bucket in one listing: run rarely (the notifier sweeps every few hours), by any replica;
    // a delete that another replica already made is not an error.
    prune: (before) => failClosed('the activity store', async () => {
      const old = (await store.list([])).filter((e) => Date.parse(e.value.occurredAt) < before.getTime())
      for (const e of old) await store.delete(e.key)
      return old.length
    }),
  }
}
