import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { GATEWAY_SERVICE, gatewayIntrospect, gatewayJwks } from '@warden/contracts'
import { serve } from '@warden/contracts/nats'
import { addMicroService, type Log } from '@warden/service-kit'
import { createIntrospection } from '../introspect.js'

export interface BusServiceOptions { version: string }

/**
 * The gateway on the bus: a NATS micro service like every factor service, so `$SRV.PING`,
 * `$SRV.INFO` and `$SRV.STATS` list and measure all six. It answers `jwks` (the MFA token keys)
 * and `introspect` (is this MFA token still good: not revoked) for resource servers inside the
 * mesh. Replicas join the queue group like any other service.
 */
async function busServicePlugin (app: FastifyInstance, opts: BusServiceOptions): Promise<void> {
  const service = await addMicroService(app.nats, {
    name: GATEWAY_SERVICE, version: opts.version, description: 'Warden auth gateway (REST API v1 over HTTP)',
  })
  serve(service, gatewayJwks, async () => app.tokens.jwks(), app.log as Log)
  serve(service, gatewayIntrospect, createIntrospection({ tokens: app.tokens, revocation: app.revocation }), app.log as Log)
  await app.nats.flush()
  app.addHook('onClose', async () => {
    // The connection may already be draining; the endpoints go with it either way.
    await service.stop().catch(() => undefined)
  })
}

export default fp(busServicePlugin, { name: 'bus-service', dependencies: ['nats', 'tokens', 'stores'] })
