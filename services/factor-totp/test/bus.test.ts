import { Kvm } from '@nats-io/kv'
import { ServiceErrorCodeHeader, ServiceErrorHeader } from '@nats-io/services'
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node'
import {
  confirmTotp, describeTotp, enrollTotp, removeTotp, verifyTotp,
  type EnrollTotpResponse, type VerifyTotpRequest,
} from '@warden/contracts'
import { request } from '@warden/contracts/nats'
import { DEFAULT_ATTEMPT_LIMITS, generateKeyRingSpec, throttleMs } from '@warden/service-kit'
import { captureLog, manualClock, startInfra, uniqueUserId } from '@warden/testkit'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ScureBase32Plugin } from 'otplib'
import t from 'tap'
import { startTotpService } from '../src/app.js'
import { loadTotpConfig } from '../src/config.js'
import { codeAt, wrongCode } from './fakes.js'

// What is TOTP's own, end to end through NATS, Redis and KV. What every factor service does
// (registration, describe, NOT_ENROLLED, BAD_REQUEST, idempotent replay, user.reset, the lock's
// answer) is checked by the conformance suite in conformance.test.ts.

const FLOW = 'txn_' + 'B'.repeat(43)

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

  t.test('clock-skew hint with the approximate offset', async (t) => {
    const { userId, secret } = await enrolledUser()
    t.same(await verify(userId, codeAt(secret, clock.now(), 5)), { result: 'rejected', reason: 'clock_skew', offsetSec: 150, attemptsLeft: 9 }, 'device 2.5 min ahead')
    t.same(await verify(userId, codeAt(secret, clock.now(), -14)), { result: 'rejected', reason: 'clock_skew', offsetSec: -420, attemptsLeft: 8 }, 'device 7 min behind')
    t.same(await verify(userId, wrongCode(secret, clock.now())), { result: 'rejected', reason: 'invalid_code', attemptsLeft: 7 })
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

  t.test('codes that are not six ASCII digits are BAD_REQUEST and count no attempt', async (t) => {
    const { userId, secret } = await enrolledUser()
    for (let i = 1; i <= 9; i++) { await verify(userId, wrongCode(secret, clock.now())); patiently(i) }
    const good = codeAt(secret, clock.now())
    const base = { userId, flowId: FLOW }
    const malformed: Array<[string, unknown]> = [
      ['empty code', ''],
      ['5 digits', good.slice(0, 5)],
      ['7 digits', good + '0'],
      ['Arabic-Indic digits', '١٢٣٤٥٦'],
      ['full-width digits', '１２３４５６'],
      ['a number', Number(good)],
      ['an object', {}],
    ]
    for (const [what, code] of malformed) {
      const m = await raw(nc, verifyTotp.subject, JSON.stringify({ ...base, code }))
      t.equal(m.headers?.get(ServiceErrorHeader), 'BAD_REQUEST', what)
      t.equal(m.headers?.get(ServiceErrorCodeHeader), '400', what)
    }
    const m = await raw(nc, verifyTotp.subject, JSON.stringify({ ...base, flowId: 'txn_short', code: good }))
    t.equal(m.headers?.get(ServiceErrorHeader), 'BAD_REQUEST', 'a malformed transaction id')
    await t.rejects(request(nc, verifyTotp, { ...base, code: 123456 } as unknown as VerifyTotpRequest), { code: 'BAD_REQUEST' }, 'request() refuses before sending too')
    t.notOk('lockedUntil' in await request(nc, describeTotp, { userId }), 'not locked')
    t.same(await verify(userId, wrongCode(secret, clock.now())), { result: 'rejected', reason: 'invalid_code', attemptsLeft: 0 }, 'the next failure is still the 10th')
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
    t.ok(enrollments.length >= 8, 'checked across every enrollment of this file')
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
    t.ok(entries.length >= 6, 'the bucket holds enrollments')
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
