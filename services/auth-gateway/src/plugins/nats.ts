import type { NatsConnection } from '@nats-io/transport-node'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { connectNats } from '@warden/service-kit'

declare module 'fastify' {
  interface FastifyInstance { nats: NatsConnection }
}

export interface NatsPluginOptions {
  servers: string
  /** A connection owned by the caller (tests): used as is and left open on close. */
  nc?: NatsConnection | undefined
}

async function natsPlugin (app: FastifyInstance, opts: NatsPluginOptions): Promise<void> {
  const nc = opts.nc ?? await connectNats(opts.servers, 'auth-gateway')
  app.decorate('nats', nc)
  if (opts.nc === undefined) app.addHook('onClose', async () => { await nc.drain() })
}

export default fp(natsPlugin, { name: 'nats' })
