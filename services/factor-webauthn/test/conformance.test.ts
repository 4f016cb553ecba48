import { randomBytes } from 'node:crypto'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { confirmWebauthn, enrollWebauthn, SERVICES, userReset, verifyWebauthn, webauthnOptions } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { contractEndpoints } from '@warden/service-kit'
import { createSoftAuthenticator, runFactorConformance, type CreationOptionsJSON, type RequestOptionsJSON, type SoftAuthenticator } from '@warden/testkit'
import t from 'tap'
import { loadWebauthnConfig, startWebauthnService } from '../src/app.js'

const ORIGIN = 'http://localhost:8080'
const flowId = (): string => `txn_${randomBytes(32).toString('base64url')}`
const HANDLE = `wak_${'A'.repeat(43)}`

// The factor's users are registered over the bus with the software authenticator, as the gateway would.
t.test('factor-webauthn passes the factor conformance suite', async (t) => {
  const keys = new Map<string, SoftAuthenticator>()
  let bus: NatsConnection | undefined
  const nc = (): NatsConnection => { if (bus === undefined) throw new Error('not started'); return bus }

  /** A fresh assertion for a new transaction: valid, or with a broken signature. */
  async function assertion (userId: string, answer: 'valid' | 'invalid', idempotencyKey: string) {
    const key = keys.get(userId)
    if (key === undefined) throw new Error('not enrolled')
    const flow = flowId()
    const { options } = await request(nc(), webauthnOptions, { userId, flowId: flow })
    const response = key.get(options as RequestOptionsJSON, answer === 'invalid' ? { tamper: 'signature' } : {})
    return { userId, flowId: flow, response, idempotencyKey }
  }

  await runFactorConformance(t, {
    factor: 'webauthn',
    service: SERVICES.webauthn,
    endpoints: contractEndpoints('webauthn'),
    userReset,
    start: async (infra) => {
      const running = await startWebauthnService(loadWebauthnConfig({
        NATS_URL: infra.nats.url,
        REDIS_URL: infra.redis.url,
        OPS_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        WEBAUTHN_ORIGINS: ORIGIN,
        // No waits between failures, so the lock is reached without moving a clock.
        WEBAUTHN_FREE_FAILURES: '10',
      }))
      bus = await connect({ servers: infra.nats.url })
      return {
        bus,
        opsPort: running.opsPort,
        stop: async () => { await bus?.close(); await running.stop() },
        requests: {
          describe: (userId) => ({ userId }),
          enroll: (userId) => ({ userId }),
          confirm: (userId) => ({ userId, name: 'YubiKey', response: { id: 'abc', rawId: 'abc', type: 'public-key' } }),
          options: (userId) => ({ userId, flowId: flowId() }),
          verify: (userId) => ({ userId, flowId: flowId(), response: { id: 'abc', rawId: 'abc', type: 'public-key' } }),
          list: (userId) => ({ userId }),
          rename: (userId) => ({ userId, id: HANDLE, name: 'Office key' }),
          remove: (userId) => ({ userId, id: HANDLE }),
        },
        enroll: async (userId) => {
          const key = createSoftAuthenticator({ origin: ORIGIN })
          const { options } = await request(nc(), enrollWebauthn, { userId })
          const res = await request(nc(), confirmWebauthn, { userId, name: 'YubiKey', response: key.create(options as CreationOptionsJSON) })
          if (res.result !== 'registered') throw new Error(`registration refused: ${res.reason}`)
          keys.set(userId, key)
        },
        verify: { endpoint: 'verify', request: assertion },
        lock: async (userId) => {
          for (let i = 0; i < 10; i++) {
            const req = await assertion(userId, 'invalid', `lock-${randomBytes(12).toString('hex')}`)
            await request(nc(), verifyWebauthn, req)
          }
        },
      }
    },
  })
})
