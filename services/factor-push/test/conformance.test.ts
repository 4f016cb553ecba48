import { connect } from '@nats-io/transport-node'
import { SERVICES, userReset } from '@warden/contracts'
import { contractEndpoints } from '@warden/service-kit'
import { runFactorConformance } from '@warden/testkit'
import t from 'tap'
import { loadPushConfig, startPushService } from '../src/app.js'

const FLOW = 'txn_' + 'A'.repeat(43)

// Nobody can enroll in the placeholder yet: the suite runs the parts that need no enrollment.
t.test('factor-push passes the factor conformance suite', async (t) => {
  await runFactorConformance(t, {
    factor: 'push',
    service: SERVICES.push,
    endpoints: contractEndpoints('push'),
    userReset,
    start: async (infra) => {
      const running = await startPushService(loadPushConfig({ NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'silent' }))
      const bus = await connect({ servers: infra.nats.url })
      return {
        bus,
        opsPort: running.opsPort,
        stop: async () => { await bus.close(); await running.stop() },
        requests: {
          describe: (userId) => ({ userId }),
          challenge: (userId) => ({ userId, flowId: FLOW, context: { appName: 'Payroll' } }),
          status: (userId) => ({ userId, flowId: FLOW, challengeId: 'pch_' + 'D'.repeat(22), waitMs: 0 }),
        },
      }
    },
  })
})
