import { connect } from '@nats-io/transport-node'
import { SERVICES, userReset } from '@warden/contracts'
import { contractEndpoints } from '@warden/service-kit'
import { runFactorConformance } from '@warden/testkit'
import t from 'tap'
import { loadWebauthnConfig, startWebauthnService } from '../src/app.js'

const FLOW = 'txn_' + 'A'.repeat(43)

// Nobody can enroll in the placeholder yet: the suite runs the parts that need no enrollment.
t.test('factor-webauthn passes the factor conformance suite', async (t) => {
  await runFactorConformance(t, {
    factor: 'webauthn',
    service: SERVICES.webauthn,
    endpoints: contractEndpoints('webauthn'),
    userReset,
    start: async (infra) => {
      const running = await startWebauthnService(loadWebauthnConfig({ NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'silent' }))
      const bus = await connect({ servers: infra.nats.url })
      return {
        bus,
        opsPort: running.opsPort,
        stop: async () => { await bus.close(); await running.stop() },
        requests: {
          describe: (userId) => ({ userId }),
          options: (userId) => ({ userId, flowId: FLOW }),
          verify: (userId) => ({ userId, flowId: FLOW, response: { id: 'abc', type: 'public-key' } }),
        },
      }
    },
  })
})
