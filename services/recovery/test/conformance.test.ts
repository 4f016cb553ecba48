import { connect } from '@nats-io/transport-node'
import { issueRecoveryCode, SERVICES, userReset, verifyRecovery } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { contractEndpoints, generateKeyRingSpec } from '@warden/service-kit'
import { runFactorConformance } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { loadRecoveryConfig, startRecoveryService } from '../src/app.js'

const flowId = (): string => `txn_${randomBytes(32).toString('base64url')}`

t.test('recovery passes the factor conformance suite', async (t) => {
  await runFactorConformance(t, {
    factor: 'recovery',
    service: SERVICES.recovery,
    endpoints: contractEndpoints('recovery'),
    userReset,
    start: async (infra) => {
      const running = await startRecoveryService(loadRecoveryConfig({
        NATS_URL: infra.nats.url,
        REDIS_URL: infra.redis.url,
        OPS_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        SECRET_KEYS: generateKeyRingSpec(),
        // No waits between failures, so the lock is reached without moving a clock.
        RECOVERY_FREE_FAILURES: '100',
      }))
      const bus = await connect({ servers: infra.nats.url })
      // The code each enrolled user holds now (a temporary-loss verify replaces it).
      const codes = new Map<string, string>()
      const wrong = 'ABCD-EFGH-2345-67AB'
      return {
        bus,
        opsPort: running.opsPort,
        stop: async () => { await bus.close(); await running.stop() },
        requests: {
          describe: (userId) => ({ userId }),
          verify: (userId) => ({ userId, flowId: flowId(), code: wrong, mode: 'temporary' }),
          issue: (userId) => ({ userId }),
          acknowledge: (userId) => ({ userId }),
          issueSupportCode: (userId) => ({ userId, ttlSec: 600 }),
        },
        enroll: async (userId) => {
          codes.set(userId, (await request(bus, issueRecoveryCode, { userId })).code)
        },
        verify: {
          endpoint: 'verify',
          request: (userId, answer, idempotencyKey) => ({
            userId, flowId: flowId(), idempotencyKey, mode: 'temporary',
            code: answer === 'valid' ? codes.get(userId) ?? wrong : wrong,
          }),
        },
        lock: async (userId) => {
          for (let i = 0; i < 10; i++) await request(bus, verifyRecovery, { userId, flowId: flowId(), code: wrong, mode: 'temporary' })
        },
      }
    },
  })
})
