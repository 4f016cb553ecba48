import { failClosed } from '@warden/service-kit'
import { StoreConflictError, type KvMirror, type Store } from '@warden/store'
import type { Application, ApplicationRecord, ApplicationStore, ClientRegistration } from '../applications.js'
import type { Policy } from '../policy.js'
import type { PolicyStore } from '../ports.js'

/**
 * One record per clientId in the gateway's KV bucket `gateway_applications` (store port): the
 * application's registration (name, redirect URIs, secret hash) and its 2FA policy. The policy
 * routes and sign-in read and write the policy of that same record, so `PUT /v1/admin/applications`
 * with a policy and `PUT /v1/admin/policies` can never disagree, and each write is one
 * compare-and-set (never half a change).
 *
 * Migration: policies stored before applications existed (bucket `gateway_policies`, key
 * ['policy', clientId]) are still read when the application record has no policy; the next
 * policy write puts it in the record, which then wins.
 *
 * Sign-in reads the policy on every start. With `mirrors` (in-memory copies of both buckets kept
 * by a KV watch, @warden/store `mirrorKvBucket`) that read is a map lookup once both copies have
 * caught up, and a read of the buckets before that or after a disconnect. Writes made here are
 * applied to the copies at once; other replicas' writes arrive with the watch (see the README,
 * "Policy propagation").
 */
const MAX_RETRIES = 5
const key = (clientId: string) => ['app', clientId] as const

export interface PolicyMirrors {
  applications: KvMirror<ApplicationRecord>
  legacyPolicies: KvMirror<Policy>
}

export function createApplicationStore (
  store: Store<ApplicationRecord>, legacyPolicies: Store<Policy>, defaults: Policy, mirrors?: PolicyMirrors,
): { applications: ApplicationStore, policies: PolicyStore } {
  const what = 'the application store'

  /** Read, change, write back with compare-and-set; retried when a parallel write got in first. */
  async function change (clientId: string, edit: (r: ApplicationRecord | undefined) => ApplicationRecord | undefined): Promise<boolean> {
    for (let i = 0; i < MAX_RETRIES; i++) {
      const current = await failClosed(what, () => store.get(key(clientId)))
      const next = edit(current?.value)
      try {
        if (next === undefined) {
          if (current === undefined) return false
          await failClosed(what, () => store.delete(key(clientId), current.revision))
          mirrors?.applications.note(key(clientId), undefined, current.revision + 1)
        } else if (current === undefined) {
          const revision = await failClosed(what, () => store.create(key(clientId), next))
          mirrors?.applications.note(key(clientId), next, revision)
        } else {
          const revision = await failClosed(what, () => store.update(key(clientId), next, current.revision))
          mirrors?.applications.note(key(clientId), next, revision)
        }
        return true
      } catch (err) {
        if (!StoreConflictError.is(err)) throw err
      }
    }
    throw new StoreConflictError('the application changed too often while it was written')
  }

  const applications: ApplicationStore = {
    async get (clientId) {
      const e = await failClosed(what, () => store.get(key(clientId)))
      const client = e?.value.client
      if (client === undefined) return undefined
      return { clientId, ...client, ...(e?.value.policy === undefined ? {} : { policy: e.value.policy }) }
    },
    async put (clientId, client: ClientRegistration, policy) {
      await change(clientId, (r) => ({ ...(r ?? {}), client, ...(policy === undefined ? {} : { policy }) }))
    },
    async delete (clientId) {
      let had = false
      await change(clientId, (r) => { had = r?.client !== undefined || r?.policy !== undefined; return undefined })
      await failClosed(what, () => legacyPolicies.delete(['policy', clientId]))
      const legacy = mirrors?.legacyPolicies.get(['policy', clientId])
      if (legacy !== undefined) mirrors?.legacyPolicies.note(['policy', clientId], undefined, legacy.revision + 1)
      return had
    },
  }

  const policies: PolicyStore = {
    async get (clientId) {
      const stored = mirrors !== undefined && mirrors.applications.ready && mirrors.legacyPolicies.ready
        ? mirrors.applications.get(key(clientId))?.value.policy ?? mirrors.legacyPolicies.get(['policy', clientId])?.value
        : (await failClosed(what, () => store.get(key(clientId))))?.value.policy ??
          (await failClosed(what, () => legacyPolicies.get(['policy', clientId])))?.value
      return stored === undefined ? { ...defaults, clientId, isDefault: true } : { ...defaults, ...stored, clientId, isDefault: false }
    },
    async put (clientId, policy) {
      await change(clientId, (r) => ({ ...(r ?? {}), policy }))
    },
  }

  return { applications, policies }
}

export type { Application }
