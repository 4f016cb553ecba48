import { failClosed } from '@warden/service-kit'
import type { Store } from '@warden/store'
import type { Policy } from '../policy.js'
import type { PolicyStore } from '../ports.js'

/**
 * Per-application policies in the gateway's own bucket (store port: KV by default). A store that
 * cannot be reached is a 503 (fail closed): sign-in never guesses a policy.
 */
export function createPolicyStore (store: Store<Policy>, defaults: Policy): PolicyStore {
  return {
    async get (clientId) {
      const e = await failClosed('the policy store', () => store.get(['policy', clientId]))
      return e === undefined ? { ...defaults, clientId, isDefault: true } : { ...defaults, ...e.value, clientId, isDefault: false }
    },
    async put (clientId, policy) { await failClosed('the policy store', () => store.put(['policy', clientId], policy)) },
  }
}

