import { connect } from '@nats-io/transport-node'
import { SERVICES, userReset } from '@warden/contracts'
import { contractEndpoints, generateKeyRingSpec } from '@warden/service-kit'
import { runFactorConformance, startFakeVonage, type FakeVonage } from '@warden/testkit'
import { randomBytes, randomInt } from 'node:crypto'
import t from 'tap'
import { loadSmsConfig, startSmsService } from '../src/app.js'

const FLOW = 'txn_' + 'A'.repeat(43)
const PHONE = 'phn_' + 'E'.repeat(22)
const flowOf = (tag: string): string => `txn_${tag.padEnd(43, 'A')}`

/** The code of the newest SMS the fake took for `e164`. */
function lastCode (fake: FakeVonage, e164: string): string {
  const sms = fake.outbox().find((m) => `+${m.to}` === e164)
  const code = /#(\d{6})$/.exec(sms?.text ?? '')?.[1]
  if (code === undefined) throw new Error('no SMS for this number')
  return code
}

t.test('factor-sms passes the factor conformance suite', async (t) => {
  await runFactorConformance(t, {
    factor: 'sms',
    service: SERVICES.sms,
    endpoints: contractEndpoints('sms'),
    userReset,
    start: async (infra) => {
      const fake = await startFakeVonage()
      const running = await startSmsService(loadSmsConfig({
        NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'silent',
        SECRET_KEYS: generateKeyRingSpec('k1'), SMS_HMAC_KEY: randomBytes(32).toString('base64'),
        VONAGE_API_KEY: fake.apiKey, VONAGE_API_SECRET: fake.apiSecret, VONAGE_REST_HOST: fake.url,
        // Five failures lock, without waits in between: the suite drives a lock quickly.
        SMS_MAX_FAILURES: '5', SMS_FREE_FAILURES: '5',
      }))
      const bus = await connect({ servers: infra.nats.url })
      const call = async (subject: string, body: unknown): Promise<Record<string, unknown>> =>
        JSON.parse((await bus.request(subject, JSON.stringify(body), { timeout: 3000 })).string()) as Record<string, unknown>
      // Every user gets a number of their own: the per-number budget is shared across accounts.
      const phones = new Map<string, { e164: string, phoneId: string }>()
      /** Sends a sign-in code for `flowId` and answers it, or '000000' when none could be sent (a locked factor). */
      const codeFor = async (userId: string, flowId: string): Promise<string> => {
        const phone = phones.get(userId)
        if (phone === undefined) return '000000'
        const sent = await call('warden.sms.v1.challenge', { userId, flowId, phoneId: phone.phoneId })
        return 'reference' in sent ? lastCode(fake, phone.e164) : '000000'
      }
      const failing = new Map<string, string>()
      return {
        bus,
        opsPort: running.opsPort,
        stop: async () => { await bus.close(); await running.stop(); await fake.close() },
        requests: {
          describe: (userId) => ({ userId }),
          challenge: (userId) => ({ userId, flowId: FLOW, phoneId: PHONE }),
          verify: (userId) => ({ userId, flowId: FLOW, code: '123456' }),
          enroll: (userId) => ({ userId, number: '+4791234567' }),
          confirm: (userId) => ({ userId, phoneId: PHONE, code: '123456' }),
          remove: (userId) => ({ userId, phoneId: PHONE }),
          notify: (userId) => ({ userId, text: 'Warden: your authenticator app was removed. Not you?' }),
        },
        enroll: async (userId) => {
          const e164 = `+479${String(randomInt(0, 10_000_000)).padStart(7, '0')}`
          const added = await call('warden.sms.v1.enroll', { userId, number: e164 })
          const phoneId = added.phoneId as string
          const confirmed = await call('warden.sms.v1.confirm', { userId, phoneId, code: lastCode(fake, e164) })
          if (confirmed.result !== 'verified') throw new Error('the phone was not verified')
          phones.set(userId, { e164, phoneId })
        },
        verify: {
          endpoint: 'verify',
          request: async (userId: string, answer: 'valid' | 'invalid', idempotencyKey: string) => {
            if (answer === 'valid') {
              const flowId = flowOf(`ok${randomBytes(6).toString('hex')}`)
              return { userId, flowId, code: await codeFor(userId, flowId), idempotencyKey }
            }
            // Wrong codes for one sign-in: its code's tries and the gate count down together.
            let flowId = failing.get(userId)
            let code = '000000'
            if (flowId === undefined) {
              flowId = flowOf(`bad${randomBytes(6).toString('hex')}`)
              failing.set(userId, flowId)
              code = await codeFor(userId, flowId)
            } else code = lastCode(fake, phones.get(userId)?.e164 ?? '')
            return { userId, flowId, code: String((Number(code) + 1) % 1_000_000).padStart(6, '0'), idempotencyKey }
          },
        },
        lock: async (userId) => {
          const flowId = flowOf(`lock${randomBytes(6).toString('hex')}`)
          const code = await codeFor(userId, flowId)
          const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
          for (let i = 0; i < 5; i++) await call('warden.sms.v1.verify', { userId, flowId, code: wrong })
        },
      }
    },
  })
})
