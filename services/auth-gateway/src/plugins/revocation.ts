import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { withDeadlines } from '@warden/service-kit'
import { createKvStoreFactory, type Store } from '@warden/store'
import { createStoreRevocation, REVOCATION_BUCKET, type Revocation, type StoredCutoff } from '../revocation.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Per-user "tokens valid after" cutoffs, in the gateway's KV bucket `gateway_revocations`. */
    revocation: Revocation
  }
}

export interface RevocationPluginOptions {
  /** Deadline of each KV call (STORE_TIMEOUT_MS): a bucket that does not answer is a 503. */
  timeoutMs: number
}

async function revocationPlugin (app: FastifyInstance, opts: RevocationPluginOptions): Promise<void> {
  const bucket = await createKvStoreFactory(app.nats).open<StoredCutoff>(REVOCATION_BUCKET)
  app.decorate('revocation', createStoreRevocation(withDeadlines<Store<StoredCutoff>>(bucket, opts.timeoutMs, 'the token revocation store')))
}

export default fp(revocationPlugin, { name: 'revocation', dependencies: ['nats'] })
