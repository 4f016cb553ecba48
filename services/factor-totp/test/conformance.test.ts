import { connect } from '@nats-io/transport-node'
import { confirmTotp, enrollTotp, SERVICES, userReset, verifyTotp } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { contractEndpoints, DEFAULT_ATTEMPT_LIMITS, generateKeyRingSpec, throttleMs } from '@warden/service-kit'
import { manualClock, runFactorConformance } from '@warden/testkit'
import t from 'tap'
import { loadTotpConfig, startTotpService } from '../src/app.js'
import { codeAt, wrongCode } from './fakes.js'

const FLOW = 'txn_' + 'C'.repeat(43)

t.test('factor-totp passes the factor conformance suite', async (t) => {
  const clock = manualClock(new Date('2026-03-01T12:00:10.000Z'))
  const secrets = new Map<string, string>()
  const secretOf = (userId: string): string => {
    const secret = secrets.get(userId)
    if (secret === undefined) throw new Error(`${userId} was not enrolled by this test`)
    return secret
  }

  await runFactorConformance(t, {
    factor: 'totp',
    service: SERVICES.totp,
    endpoints: contractEndpoints('totp'),
    userReset,
    start: async (infra) => {
      const config = loadTotpConfig({ NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', SECRET_KEYS: generateKeyRingSpec(), LOG_LEVEL: 'silent' })
      const running = await startTotpService(config, { clock })
      const nc = await connect({ servers: infra.nats.url })
      const verify = (userId: string, code: string, idempotencyKey?: string) => ({ userId, flowId: FLOW, code, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) })
      return {
        bus: nc,
        opsPort: running.opsPort,
        stop: async () => { await nc.close(); await running.stop() },
        requests: {
          describe: (userId) => ({ userId }),
          enroll: (userId) => ({ userId, accountName: `${userId}@example.com` }),
          confirm: (userId) => ({ userId, enrollmentId: 'totp_' + 'A'.repeat(22), code: '123456' }),
          verify: (userId) => verify(userId, '123456'),
          remove: (userId) => ({ userId }),
        },
        async enroll (userId) {
          const e = await request(nc, enrollTotp, { userId, accountName: `${userId}@example.com` })
          const res = await request(nc, confirmTotp, { userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, clock.now()) })
          if (res.result !== 'confirmed') throw new Error('setup: confirm failed')
          secrets.set(userId, e.secret)
          clock.advance(90_000) // past the step the confirmation burnt
        },
        verify: {
          endpoint: 'verify',
          request: (userId, answer, idempotencyKey) => {
            const secret = secretOf(userId)
            return verify(userId, answer === 'valid' ? codeAt(secret, clock.now()) : wrongCode(secret, clock.now()), idempotencyKey)
          },
        },
        async lock (userId) {
          for (let i = 1; i <= DEFAULT_ATTEMPT_LIMITS.maxFailures; i++) {
            await request(nc, verifyTotp, verify(userId, wrongCode(secretOf(userId), clock.now())))
            clock.advance(throttleMs(i, DEFAULT_ATTEMPT_LIMITS))
          }
        },
      }
    },
  })
})
