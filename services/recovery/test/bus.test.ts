// The service as the gateway sees it, over real NATS and Redis: after a code is issued, spent and
// replaced, and a support code issued and spent, no code is in the store, the logs or the events.
import { connect } from '@nats-io/transport-node'
import { acknowledgeRecoveryCode, issueRecoveryCode, issueSupportCode, verifyRecovery, DESCRIBE_ENDPOINTS } from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { generateKeyRingSpec } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { captureLog, startInfra, uniqueUserId } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { RECOVERY_BUCKET } from '../src/adapters/store-recovery-store.js'
import { loadRecoveryConfig, startRecoveryService } from '../src/app.js'

const flowId = (): string => `txn_${randomBytes(32).toString('base64url')}`
const key = (): string => randomBytes(16).toString('base64url')

const infra = await startInfra(t)
const log = captureLog()
const running = await startRecoveryService(loadRecoveryConfig({
  NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'debug', SECRET_KEYS: generateKeyRingSpec(),
}), { logDestination: log.stream })
const nc = await connect({ servers: infra.nats.url })
t.teardown(async () => { await nc.close(); await running.stop() })

/** Every message of the WARDEN_EVENTS stream, as text (through the JetStream API, as any client could). */
async function streamText (stream: string): Promise<string> {
  const info = JSON.parse((await nc.request(`$JS.API.STREAM.INFO.${stream}`, '')).string()) as { state: { first_seq: number, last_seq: number } }
  let all = ''
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const m = JSON.parse((await nc.request(`$JS.API.STREAM.MSG.GET.${stream}`, JSON.stringify({ seq }))).string()) as { message?: { data?: string, subject?: string } }
    all += `${m.message?.subject ?? ''} ${Buffer.from(m.message?.data ?? '', 'base64').toString('utf8')}\n`
  }
  return all
}

t.test('no code in the store, the logs or the events', async (t) => {
  const userId = uniqueUserId()
  const issued = await request(nc, issueRecoveryCode, { userId, idempotencyKey: key() })
  await request(nc, acknowledgeRecoveryCode, { userId, codeId: issued.codeId })
  const used = await request(nc, verifyRecovery, { userId, flowId: flowId(), code: issued.code.toUpperCase(), mode: 'temporary', idempotencyKey: key() })
  t.match(used, { result: 'verified', newCode: /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/ })
  const support = await request(nc, issueSupportCode, { userId })
  t.match(await request(nc, verifyRecovery, { userId, flowId: flowId(), code: support.code, mode: 'permanent' }), { result: 'verified' })
  await request(nc, verifyRecovery, { userId, flowId: flowId(), code: 'ABCD-EFGH-2345-67AB', mode: 'temporary' })
  t.match(await request(nc, DESCRIBE_ENDPOINTS.recovery, { userId }), { enrolled: true, items: [{ label: 'Emergency code', verified: false }] })

  const codes = [issued.code, support.code, used.result === 'verified' ? used.newCode ?? '' : '']
  const forms = codes.flatMap((c) => [c, c.replaceAll('-', ''), c.replaceAll('-', '').toLowerCase()])
  const bucket = JSON.stringify(await (await createKvStoreFactory(nc).open(RECOVERY_BUCKET)).list([]))
  const events = await streamText('WARDEN_EVENTS')
  const kvStream = await streamText(`KV_${RECOVERY_BUCKET}`)
  t.match(events, /emergencycode\.used.*"kind":"emergency","mode":"temporary"/, 'the use is an event')
  t.match(events, /supportcode\.issued/, 'the support code is audited')
  t.ok(log.lines().length > 0, 'the service logged')
  for (const form of forms) {
    t.notOk(bucket.includes(form), 'not in the store')
    t.notOk(kvStream.includes(form), 'not in the bucket\'s stream (history)')
    t.notOk(log.text().includes(form), 'not in the logs')
    t.notOk(events.includes(form), 'not in the events')
  }
})
