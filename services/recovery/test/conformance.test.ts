import { connect } from '@nats-io/transport-node'
import { SERVICES, userReset } from '@warden/contracts'
import { contractEndpoints } from '@warden/service-kit'
import { runFactorConformance } from '@warden/testkit'
import t from 'tap'
import { loadRecoveryConfig, startRecoveryService } from '../src/app.js'

const FLOW = 'txn_' + 'A'.repeat(43)

// Nobody can enroll in the placeholder yet: the suite runs the parts that need no enrollment.
t.test('recovery passes the factor conformance suite', async (t) => {
  await runFactorConformance(t, {
    factor: 'recovery',
    service: SERVICES.recovery,
    endpoints: contractEndpoints('recovery'),
    userReset,
    start: async (infra) => {
      const running = await startRecoveryService(loadRecoveryConfig({ NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'silent' }))
      const bus = await connect({ servers: infra.nats.url })
      return {
        bus,
        opsPort: running.opsPort,
        stop: async () => { await bus.close(); await running.stop() },
        requests: {
          describe: (userId) => ({ userId }),
          verify: (userId) => ({ userId, flowId: FLOW, code: 'ABCD-EFGH-2345-67AB', mode: 'temporary' }),
        },
      }
    },
  })
})
