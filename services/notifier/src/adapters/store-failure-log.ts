import { failClosed } from '@warden/service-kit'
import type { Store } from '@warden/store'
import type { DeliveryFailure, DeliveryFailureLog } from '../ports.js'

export const FAILURE_BUCKET = 'notifier_failures'

/**
 * Deliveries given up on, per target, on the store port: durable, so the platform team can see
 * what its endpoint missed. Only the newest `keep` per target are kept.
 */
export function createStoreFailureLog (store: Store<DeliveryFailure>, opts: { keep?: number } = {}): DeliveryFailureLog {
  const keep = opts.keep ?? 100
  const newest = (a: DeliveryFailure, b: DeliveryFailure): number => Date.parse(b.failedAt) - Date.parse(a.failedAt)
  return {
    record: (failure) => failClosed('the failure log', async () => {
      await store.put([failure.target, failure.eventId], failure)
      const all = (await store.list([failure.target])).sort((a, b) => newest(a.value, b.value))
      for (const old of all.slice(keep)) await store.delete(old.key)
    }),
    list: (target, limit) => failClosed('the failure log', async () =>
      (await store.list([target])).map((e) => e.value).sort(newest).slice(0, limit)),
  }
}
