import { connect } from '@nats-io/transport-node'
import { createPairing, registerDevice, SERVICES, userReset } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { contractEndpoints, generateKeyRingSpec, systemClock } from '@warden/service-kit'
import { runFactorConformance } from '@warden/testkit'
import t from 'tap'
import { loadPushConfig, startPushService } from '../src/app.js'
import { TestDevice } from './fakes.js'

const FLOW = 'txn_' + 'A'.repeat(43)
const DEVICE = 'dev_' + 'E'.repeat(22)
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJyZXEiOiJhbnN3ZXIifQ.c2ln'

// Push is verified out of band (the app answers, the sign-in long-polls), so the suite's
// idempotent-verify and lock parts do not apply; service.test.ts covers the wrong-number lock.
t.test('factor-push passes the factor conformance suite', async (t) => {
  await runFactorConformance(t, {
    factor: 'push',
    service: SERVICES.push,
    endpoints: contractEndpoints('push'),
    userReset,
    start: async (infra) => {
      const running = await startPushService(loadPushConfig({
        NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'silent', SECRET_KEYS: generateKeyRingSpec(),
      }))
      const bus = await connect({ servers: infra.nats.url })
      return {
        bus,
        opsPort: running.opsPort,
        stop: async () => { await bus.close(); await running.stop() },
        requests: {
          describe: (userId) => ({ userId }),
          challenge: (userId) => ({ userId, flowId: FLOW, context: { appName: 'Payroll' } }),
          status: (userId) => ({ userId, flowId: FLOW, challengeId: 'pch_' + 'D'.repeat(22), waitMs: 0 }),
          pairing: (userId) => ({ userId }),
          devices: (userId) => ({ userId }),
          rename: (userId) => ({ userId, deviceId: DEVICE, name: 'Work phone' }),
          unpair: (userId) => ({ userId, deviceId: DEVICE }),
          register: () => ({ jwt: JWT }),
          pending: () => ({ deviceId: DEVICE, jwt: JWT }),
          answer: () => ({ challengeId: 'pch_' + 'D'.repeat(22), jwt: JWT }),
          notify: (userId) => ({ userId, text: 'Warden: a new security key was added to your account. Not you?' }),
        },
        // An app pairs, the way a phone would: a pairing code, then a request signed by its new key.
        enroll: async (userId) => {
          const { pairingCode } = await request(bus, createPairing, { userId })
          const device = await TestDevice.create(systemClock)
          await request(bus, registerDevice, { jwt: await device.pairJwt(pairingCode) })
        },
      }
    },
  })
})
