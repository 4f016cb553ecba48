import { failClosed } from '@warden/service-kit'
import { StoreConflictError, type Store } from '@warden/store'
import type { Webhook, WebhookStore } from '../ports.js'

export const WEBHOOK_BUCKET = 'notifier_webhooks'

/** Webhooks on the store port, one key per id, written with compare-and-set. Secrets are stored sealed. */
export function createStoreWebhookStore (store: Store<Webhook>): WebhookStore {
  return {
    get: (id) => failClosed('the webhook store', async () => {
      const e = await store.get([id])
      return e === undefined ? undefined : { value: e.value, revision: e.revision }
    }),
    save: (webhook, revision) => failClosed('the webhook store', async () => {
      try {
        if (revision === undefined) await store.create([webhook.id], webhook)
        else await store.update([webhook.id], webhook, revision)
        return true
      } catch (err) {
        if (StoreConflictError.is(err)) return false
        throw err
      }
    }),
    delete: (id) => failClosed('the webhook store', async () => {
      const e = await store.get([id])
      if (e === undefined) return false
      await store.delete([id])
      return true
    }),
    list: () => failClosed('the webhook store', async () => (await store.list([])).map((e) => e.value)),
  }
}
