import { Kvm } from '@nats-io/kv'
import { ServiceErrorCodeHeader, ServiceErrorHeader } from '@nats-io/services'
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node'
import {
  confirmTotp, describeTotp, enrollTotp, removeTotp, userReset, verifyTotp,
  type EnrollTotpResponse, type VerifyTotpRequest,
} from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { addMicroService, createEventPublisher, createLogger, DEFAULT_ATTEMPT_LIMITS, generateKeyRingSpec, throttleMs } from '@warden/service-kit'
import { captureLog, manualClock, startInfra, startNats, uniqueUserId } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ScureBase32Plugin } from 'otplib'
import t from 'tap'
import { startTotpService } from '../src/app.js'
import { loadTotpConfig } from '../src/config.js'
import { serveTotp } from '../src/endpoints.js'
import { createTotpService } from '../src/service.js'
import { codeAt, fakeDeps, faultyEnrollmentStore, wrongCode } from './fakes.js'

const FLOW = 'txn_' + 'B'.repeat(43)
const ENDPOINT_NAMES = ['describe', 'enroll', 'confirm', 'verify', 'remove']

interface SeenEvent { subject: string, data: Record<string, unknown> }

/** Raw request over core NATS: what any client in any language would see. */
async function raw (nc: NatsConnection, subject: string, payload: string): Promise<Msg> {
  return nc.request(subject, payload, { timeout: 3_000 })
}

async function errorOf (p: Promise<unknown>): Promise<{ code?: string, message?: string, retryAfterSec?: number }> {
  return p.then(() => ({}), (err: unknown) => err as { code?: string, message?: string, retryAfterSec?: number })
}

function filesUnder (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
}

t.test('factor-totp over the bus, against real NATS and Redis', async (t) => {
  // Torn down in one place, service first, so nothing talks to servers that are already gone.
  const cleanups: Array<() => unknown> = []
  const infra = await startInfra({ teardown: (fn) => { cleanups.push(fn) } })
  const clock = manualClock(new Date('2026-03-01T12:00:10.000Z'))
  const log = captureLog()
  const config = loadTotpConfig({
    NATS_URL: infra.nats.url,
    REDIS_URL: infra.redis.url,
    OPS_HOST: '127.0.0.1',
    SECRET_KEYS: generateKeyRingSpec('k1'),
    LOG_LEVEL: 'debug',
  })
  const svc = await startTotpService(config, { clock, logDestination: log.stream })
  const nc = await connect({ servers: infra.nats.url })
  t.teardown(async () => {
    await svc.stop()
    await nc.close()
    for (const fn of cleanups) await fn()
  })

  const events: SeenEvent[] = []
  nc.subscribe('warden.events.v1.>', { callback: (_err, m) => { events.push({ subject: m.subject, data: m.json() }) } })
  const eventsFor = (userId: string, verb: string) => events.filter((e) => e.data.userId === userId && e.subject === `warden.events.v1.factor.${verb}`)

  const enrollments: EnrollTotpResponse[] = []
  async function enroll (userId: string): Promise<EnrollTotpResponse> {
    const e = await request(nc, enrollTotp, { userId, accountName: `${userId}@example.com` })
    enrollments.push(e)
    return e
  }
  /** A user with a confirmed factor; the clock is moved past the burnt confirming step. */
  async function enrolledUser (): Promise<{ userId: string, secret: string }> {
    const userId = uniqueUserId()
    const e = await enroll(userId)
    const res = await request(nc, confirmTotp, { userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, clock.now()) })
    if (res.result !== 'confirmed') throw new Error('setup: confirm failed')
    clock.advance(90_000)
    return { userId, secret: e.secret }
  }
  const verify = (userId: string, code: string) => request(nc, verifyTotp, { userId, flowId: FLOW, code })
  /** Waits out the pause after the n-th failure (2^(n-3) s from the 4th on), as a patient person would. */
  const patiently = (failures: number): void => { clock.advance(throttleMs(failures, DEFAULT_ATTEMPT_LIMITS)) }

  t.test('$SRV.PING and $SRV.INFO show factor-totp with its 5 endpoints', async (t) => {
    const ping = (await raw(nc, '$SRV.PING.factor-totp', '')).json<{ name: string, version: string }>()
    t.match(ping, { name: 'factor-totp', version: config.SERVICE_VERSION })
    const info = (await raw(nc, '$SRV.INFO.factor-totp', '')).json<{ name: string, endpoints: Array<{ name: string, subject: string, queue_group: string }> }>()
    t.equal(info.name, 'factor-totp')
    t.same(info.endpoints.map((e) => e.name).sort(), [...ENDPOINT_NAMES].sort())
    t.same(info.endpoints.map((e) => e.subject).sort(), [describeTotp, enrollTotp, confirmTotp, verifyTotp, removeTotp].map((e) => e.subject).sort())
    t.ok(info.endpoints.every((e) => e.queue_group === 'q'), 'replicas share the load')
  })

  t.test('ops port answers /healthz and /readyz', async (t) => {
    t.equal((await fetch(`http://127.0.0.1:${svc.opsPort}/healthz`)).status, 200)
    const ready = await fetch(`http://127.0.0.1:${svc.opsPort}/readyz`)
    t.equal(ready.status, 200)
    t.same(await ready.json(), { status: 'ready', checks: { nats: 'ok', redis: 'ok' } })
  })

  t.test('enroll, confirm, verify, replay, describe, remove', async (t) => {
    const userId = uniqueUserId()
    t.same(await request(nc, describeTotp, { userId }), { factor: 'totp', enrolled: false, items: [] })
    const e = await enroll(userId)
    t.match(e.otpauthUri, new RegExp(`^otpauth://totp/Warden:${encodeURIComponent(`${userId}@example.com`)}\\?secret=${e.secret}&issuer=Warden&algorithm=SHA1&digits=6&period=30$`))
    t.match(e.qrSvg, /^<svg /)
    t.equal(e.expiresAt, new Date(clock.now().getTime() + 600_000).toISOString())
    await t.rejects(verify(userId, codeAt(e.secret, clock.now())), { code: 'NOT_ENROLLED' }, 'pending is not active')

    const confirmCode = codeAt(e.secret, clock.now())
    t.same(await request(nc, confirmTotp, { userId, enrollmentId: e.enrollmentId, code: confirmCode }), { result: 'confirmed', confirmedAt: clock.now().toISOString() })
    t.match(eventsFor(userId, 'enrolled'), [{ data: { userId, factor: 'totp', itemId: e.enrollmentId } }], 'factor.enrolled published')
    t.match(await verify(userId, confirmCode), { result: 'rejected', reason: 'replayed' }, 'the confirming code cannot sign in')
    t.same(await request(nc, describeTotp, { userId }), { factor: 'totp', enrolled: true, createdAt: clock.now().toISOString(), items: [] })

    clock.advance(30_000)
    const code = codeAt(e.secret, clock.now())
    t.same(await verify(userId, code), { result: 'verified', verifiedAt: clock.now().toISOString() })
    t.same(await verify(userId, code), { result: 'rejected', reason: 'replayed', attemptsLeft: 9 }, 'replayed in sequence')

    t.same(await request(nc, removeTotp, { userId }), { removed: true })
    t.match(eventsFor(userId, 'removed'), [{ data: { userId, factor: 'totp', itemId: e.enrollmentId } }], 'factor.removed published')
    t.same(await request(nc, removeTotp, { userId }), { removed: false })
    await t.rejects(verify(userId, codeAt(e.secret, clock.now(), 1)), { code: 'NOT_ENROLLED' })
  })

  t.test('user.reset on WARDEN_EVENTS deletes the user\'s TOTP data (durable consumer)', async (t) => {
    const { userId } = await enrolledUser()
    const other = await enrolledUser()
    const publisher = createEventPublisher(nc, clock)
    await publisher.publish(userReset, { userId, reason: 'admin' })
    // The consumer runs asynchronously: wait for its effect, bounded.
    const deadline = Date.now() + 5_000
    let described = await request(nc, describeTotp, { userId })
    while (described.enrolled && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      described = await request(nc, describeTotp, { userId })
    }
    t.same(described, { factor: 'totp', enrolled: false, items: [] })
    t.match(await request(nc, describeTotp, { userId: other.userId }), { enrolled: true }, 'other users keep theirs')
  })

  t.test('window: T-1, T and T+1 verify; T-2 and T+2 are rejected as clock skew', async (t) => {
    for (const d of [-1, 0, 1]) {
      const { userId, secret } = await enrolledUser()
      t.match(await verify(userId, codeAt(secret, clock.now(), d)), { result: 'verified' }, `T${d < 0 ? d : '+' + d}`)
    }
    for (const d of [-2, 2]) {
      const { userId, secret } = await enrolledUser()
      t.same(await verify(userId, codeAt(secret, clock.now(), d)), { result: 'rejected', reason: 'clock_skew', offsetSec: d * 30, attemptsLeft: 9 }, `T${d < 0 ? d : '+' + d}`)
    }
  })

  t.test('clock-skew hint with the approximate offset', async (t) => {
    const { userId, secret } = await enrolledUser()
    t.same(await verify(userId, codeAt(secret, clock.now(), 5)), { result: 'rejected', reason: 'clock_skew', offsetSec: 150, attemptsLeft: 9 }, 'device 2.5 min ahead')
    t.same(await verify(userId, codeAt(secret, clock.now(), -14)), { result: 'rejected', reason: 'clock_skew', offsetSec: -420, attemptsLeft: 8 }, 'device 7 min behind')
    t.same(await verify(userId, wrongCode(secret, clock.now())), { result: 'rejected', reason: 'invalid_code', attemptsLeft: 7 })
  })

  t.test('a retry with the same idempotency key gets the recorded outcome (lost reply); 20 distinct keys, one winner', async (t) => {
    const { userId, secret } = await enrolledUser()
    const req = { userId, flowId: FLOW, code: codeAt(secret, clock.now()), idempotencyKey: `k-${randomBytes(12).toString('hex')}` }
    t.match(await request(nc, verifyTotp, req), { result: 'verified' })
    t.match(await request(nc, verifyTotp, req), { result: 'verified' }, 'the retry is answered from the record')
    clock.advance(30_000)
    const next = codeAt(secret, clock.now())
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => request(nc, verifyTotp, { userId, flowId: FLOW, code: next, idempotencyKey: `distinct-key-${String(i).padStart(4, '0')}` })))
    t.equal(results.filter((r) => r.result === 'verified').length, 1, 'distinct attempts still have one winner')
  })

  t.test('20 parallel verifications with one valid code: exactly one verified', async (t) => {
    const { userId, secret } = await enrolledUser()
    const code = codeAt(secret, clock.now())
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => verify(userId, code)))
    const verified = results.filter((r) => r.status === 'fulfilled' && r.value.result === 'verified')
    const replayed = results.filter((r) => r.status === 'fulfilled' && r.value.result === 'rejected' && r.value.reason === 'replayed')
    // Attempts are counted before evaluation: more than 10 in flight lock the factor (SECURITY.md §1.1).
    const locked = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'FACTOR_LOCKED')
    t.comment(`verified ${verified.length}, replayed ${replayed.length}, refused while locked ${locked.length}`)
    t.equal(verified.length, 1, 'one winner')
    t.equal(replayed.length + locked.length, 19, 'every other answer is a replay or a refusal')
    if (locked.length > 0) {
      await nc.flush()
      t.equal(new Set(eventsFor(userId, 'locked').map((e) => e.data.eventId)).size, 1, 'the lock is announced once')
    }
  })

  t.test('10 wrong codes lock; the correct code is refused while locked; the lock does not grow; it ends after 15 min', async (t) => {
    const { userId, secret } = await enrolledUser()
    for (let i = 1; i <= 10; i++) {
      t.match(await verify(userId, wrongCode(secret, clock.now())), { result: 'rejected', reason: 'invalid_code', attemptsLeft: 10 - i })
      if (i < 10) patiently(i)
    }
    const lockedUntil = new Date(clock.now().getTime() + 15 * 60_000).toISOString()
    await nc.flush()
    t.match(eventsFor(userId, 'locked'), [{ data: { userId, factor: 'totp', lockedUntil } }], 'factor.locked published once')
    t.match(await request(nc, describeTotp, { userId }), { enrolled: true, lockedUntil })

    const err = await errorOf(verify(userId, codeAt(secret, clock.now())))
    t.match(err, { code: 'FACTOR_LOCKED', retryAfterSec: 900 }, 'the correct code is refused')
    clock.advance(5 * 60_000)
    for (let i = 0; i < 3; i++) {
      t.match(await errorOf(verify(userId, codeAt(secret, clock.now()))), { code: 'FACTOR_LOCKED', retryAfterSec: 600 })
      t.match(await errorOf(verify(userId, wrongCode(secret, clock.now()))), { code: 'FACTOR_LOCKED', retryAfterSec: 600 })
    }
    t.match(await request(nc, describeTotp, { userId }), { lockedUntil }, 'the lock did not grow')

    const raw429 = await raw(nc, verifyTotp.subject, JSON.stringify({ userId, flowId: FLOW, code: codeAt(secret, clock.now()) }))
    t.equal(raw429.headers?.get(ServiceErrorHeader), 'FACTOR_LOCKED')
    t.equal(raw429.headers?.get(ServiceErrorCodeHeader), '429')
    t.match(raw429.json(), { code: 'FACTOR_LOCKED', retryAfterSec: 600 })

    clock.advance(10 * 60_000)
    t.match(await verify(userId, codeAt(secret, clock.now())), { result: 'verified' }, 'works again after 15 min')
    t.notOk('lockedUntil' in await request(nc, describeTotp, { userId }))
  })

  t.test('a success resets the counter', async (t) => {
    const { userId, secret } = await enrolledUser()
    for (let i = 1; i <= 9; i++) { await verify(userId, wrongCode(secret, clock.now())); patiently(i) }
    t.match(await verify(userId, codeAt(secret, clock.now())), { result: 'verified' })
    t.match(await verify(userId, wrongCode(secret, clock.now())), { attemptsLeft: 9 })
  })

  t.test('malformed requests are BAD_REQUEST and change nothing', async (t) => {
    const { userId, secret } = await enrolledUser()
    for (let i = 1; i <= 9; i++) { await verify(userId, wrongCode(secret, clock.now())); patiently(i) }
    const good = codeAt(secret, clock.now())
    const base = { userId, flowId: FLOW }
    const malformed: Array<[string, string]> = [
      ['empty code', JSON.stringify({ ...base, code: '' })],
      ['5 digits', JSON.stringify({ ...base, code: good.slice(0, 5) })],
      ['7 digits', JSON.stringify({ ...base, code: good + '0' })],
      ['Arabic-Indic digits', JSON.stringify({ ...base, code: '١٢٣٤٥٦' })],
      ['full-width digits', JSON.stringify({ ...base, code: '１２３４５６' })],
      ['a number', JSON.stringify({ ...base, code: Number(good) })],
      ['an object', JSON.stringify({ ...base, code: {} })],
      ['missing userId', JSON.stringify({ flowId: FLOW, code: good })],
      ['extra property', JSON.stringify({ ...base, code: good, admin: true })],
      ['bad flowId', JSON.stringify({ ...base, flowId: 'txn_short', code: good })],
      ['not JSON', `{"userId":"${userId}",`],
      ['empty body', ''],
      ['an array', JSON.stringify([base])],
    ]
    for (const [what, payload] of malformed) {
      const m = await raw(nc, verifyTotp.subject, payload)
      t.equal(m.headers?.get(ServiceErrorHeader), 'BAD_REQUEST', what)
      t.equal(m.headers?.get(ServiceErrorCodeHeader), '400', what)
    }
    for (const [endpoint, payload] of [
      [enrollTotp, { userId }],
      [enrollTotp, { userId, accountName: '' }],
      [confirmTotp, { userId, enrollmentId: 'x', code: good }],
      [describeTotp, { userId: '' }],
      [removeTotp, { userId: 'has space' }],
    ] as const) {
      const m = await raw(nc, endpoint.subject, JSON.stringify(payload))
      t.equal(m.headers?.get(ServiceErrorHeader), 'BAD_REQUEST', `${endpoint.name} ${JSON.stringify(payload)}`)
    }
    await t.rejects(request(nc, verifyTotp, { ...base, code: 123456 } as unknown as VerifyTotpRequest), { code: 'BAD_REQUEST' }, 'request() refuses before sending too')
    t.notOk('lockedUntil' in await request(nc, describeTotp, { userId }), 'not locked')
    t.same(await verify(userId, wrongCode(secret, clock.now())), { result: 'rejected', reason: 'invalid_code', attemptsLeft: 0 }, 'the next failure is still the 10th')
  })

  t.test('confirm', async (t) => {
    t.test('a wrong code keeps the factor inactive', async (t) => {
      const userId = uniqueUserId()
      const e = await enroll(userId)
      t.same(await request(nc, confirmTotp, { userId, enrollmentId: e.enrollmentId, code: wrongCode(e.secret, clock.now()) }), { result: 'rejected', reason: 'invalid_code' })
      t.match(await request(nc, describeTotp, { userId }), { enrolled: false })
      await t.rejects(verify(userId, codeAt(e.secret, clock.now())), { code: 'NOT_ENROLLED' })
      t.same(eventsFor(userId, 'enrolled'), [])
    })

    t.test('an unknown enrollment id is NOT_FOUND', async (t) => {
      const userId = uniqueUserId()
      await enroll(userId)
      await t.rejects(request(nc, confirmTotp, { userId, enrollmentId: 'totp_AAAAAAAAAAAAAAAAAAAAAA', code: '000000' }), { code: 'NOT_FOUND' })
    })

    t.test('an expired enrollment is ENROLLMENT_EXPIRED', async (t) => {
      const userId = uniqueUserId()
      const e = await enroll(userId)
      clock.advance(10 * 60_000)
      await t.rejects(request(nc, confirmTotp, { userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, clock.now()) }), { code: 'ENROLLMENT_EXPIRED' })
      t.match(await request(nc, describeTotp, { userId }), { enrolled: false })
    })

    t.test('re-enrolling keeps the active factor working until the new one is confirmed', async (t) => {
      const { userId, secret: oldSecret } = await enrolledUser()
      const e = await enroll(userId)
      t.match(await verify(userId, codeAt(oldSecret, clock.now())), { result: 'verified' }, 'the old factor still works')
      clock.advance(90_000)
      t.match(await request(nc, confirmTotp, { userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, clock.now()) }), { result: 'confirmed' })
      clock.advance(90_000)
      t.match(await verify(userId, codeAt(oldSecret, clock.now())), { result: 'rejected', reason: 'invalid_code' }, 'the old secret is gone')
      t.match(await verify(userId, codeAt(e.secret, clock.now())), { result: 'verified' }, 'the new one works')
    })
  })

  t.test('a fault reaches the caller as a generic INTERNAL, never its message', async (t) => {
    // Its own nats-server: the same subjects on the main one would share the queue group.
    const nats = await startNats()
    const nc2 = await connect({ servers: nats.url })
    t.teardown(async () => { await nc2.close(); await nats.stop() })
    const leaky = 'seed JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP failed at mongodb://admin:hunter2@db'
    const f = fakeDeps()
    const faulty = createTotpService({ ...f.deps, enrollments: faultyEnrollmentStore(leaky) })
    const service = await addMicroService(nc2, { name: 'factor-totp', version: '0.1.0', description: 'faulty' })
    const serverLog = captureLog()
    serveTotp(service, faulty, createLogger({ name: 'factor-totp', level: 'info', destination: serverLog.stream }))

    const userId = uniqueUserId()
    await t.rejects(request(nc2, verifyTotp, { userId, flowId: FLOW, code: '123456' }), { code: 'INTERNAL', message: 'internal error' })
    await t.rejects(request(nc2, describeTotp, { userId }), { code: 'INTERNAL', message: 'internal error' })
    const m = await raw(nc2, enrollTotp.subject, JSON.stringify({ userId, accountName: 'x' }))
    t.equal(m.headers?.get(ServiceErrorHeader), 'INTERNAL')
    t.equal(m.headers?.get(ServiceErrorCodeHeader), '500')
    t.same(m.json(), { code: 'INTERNAL', message: 'internal error' })
    t.notOk(m.string().includes('JBSWY3DP') || m.string().includes('hunter2'), 'the cause stays on the server')
    t.match(serverLog.text(), /request failed/, 'the cause is logged server-side')
  })

  t.test('Redis down: verify is UNAVAILABLE, never verified', async (t) => {
    const { userId, secret } = await enrolledUser()
    await infra.redis.kill()
    const err = await errorOf(verify(userId, codeAt(secret, clock.now())))
    t.match(err, { code: 'UNAVAILABLE' })
    t.match(await errorOf(verify(userId, codeAt(secret, clock.now(), 1))), { code: 'UNAVAILABLE' })
    t.match(await errorOf(request(nc, describeTotp, { userId })), { code: 'UNAVAILABLE' }, 'the lock state cannot be read')
    const e = await enroll(userId)
    t.match(await errorOf(request(nc, confirmTotp, { userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, clock.now()) })), { code: 'UNAVAILABLE' })
    t.equal((await fetch(`http://127.0.0.1:${svc.opsPort}/readyz`)).status, 503, 'not ready')
  })

  t.test('seeds never appear in clear: not in the log, not in the KV bucket, not on the NATS disk', async (t) => {
    t.ok(enrollments.length >= 15, 'checked across every enrollment of this file')
    const base32 = new ScureBase32Plugin()
    const forms = enrollments.flatMap((e) => {
      const bytes = Buffer.from(base32.decode(e.secret))
      return [e.secret, e.otpauthUri, bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')]
    })

    const logText = log.text()
    if (process.env.TOTP_DUMP_LOG !== undefined) t.comment(logText)
    t.ok(log.lines().length > 20 && logText.includes('factor-totp ready'), 'the log was captured')
    t.notOk(forms.some((s) => logText.includes(s)), 'no secret or otpauth URI in the log')
    t.notOk(/"code":"[0-9]{6}"/.test(logText), 'no codes in the log')

    const kv = await new Kvm(nc).open('factor_totp')
    const entries: string[] = []
    for await (const k of await kv.keys()) {
      const e = await kv.get(k)
      if (e !== null && e.operation === 'PUT') entries.push(`${k} ${e.string()}`)
    }
    t.ok(entries.length >= 10, 'the bucket holds enrollments')
    t.ok(entries.every((e) => /"sealedSecret":"v1\.k1\./.test(e)), 'every seed is sealed with the key ring')
    t.notOk(forms.some((s) => entries.some((e) => e.includes(s))), 'no secret in KV values')

    const secretsBytes = enrollments.map((e) => Buffer.from(base32.decode(e.secret)))
    let scanned = 0
    for (const file of filesUnder(infra.nats.dir)) {
      const data = readFileSync(file)
      scanned++
      for (const s of forms) if (data.includes(s)) t.fail(`a secret in ${file}`)
      for (const b of secretsBytes) if (data.includes(b)) t.fail(`raw seed bytes in ${file}`)
    }
    t.ok(scanned > 0, 'the JetStream files were scanned')
  })
})
