import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { factorEnrolled, EVENTS_STREAM } from '@warden/contracts'
import { captureLog, manualClock, startInfra, uniqueUserId } from '@warden/testkit'
import { Type } from 'typebox'
import {
  BaseConfig, claimGreater, connectNats, connectRedis, createEventPublisher, createLogger, createMetrics,
  createMemoryAttemptLimiter, createMemoryOutcomeLedger, createRedisAttemptLimiter, DEFAULT_ATTEMPT_LIMITS, throttleMs, type AttemptLimiter, type AttemptLimits, createRedisOutcomeLedger, ensureEventStream, generateKeyRingSpec,
  loadConfig, once, parseKeyRing, startOpsServer, type OutcomeLedger,
} from '../src/index.js'

t.test('config: defaults, coercion, and errors that name fields but not values', async (t) => {
  const schema = Type.Object({ ...BaseConfig, SECRET: Type.String({ minLength: 10 }), FLAG: Type.Boolean({ default: false }) })
  const c = loadConfig(schema, { SECRET: 'abcdefghijkl', OPS_PORT: '9100', FLAG: 'true', UNRELATED: 'x' })
  t.equal(c.OPS_PORT, 9100)
  t.equal(c.FLAG, true)
  t.equal(c.NATS_URL, 'nats://127.0.0.1:4222')
  t.notOk('UNRELATED' in c)
  t.ok(Object.isFrozen(c))
  const err = (() => { try { loadConfig(schema, { SECRET: 'short-val', OPS_PORT: 'abc' }); return undefined } catch (e) { return e as Error } })()
  t.match(err?.message, /SECRET/)
  t.match(err?.message, /OPS_PORT/)
  t.notMatch(err?.message, /short-val/, 'the value of a secret is never echoed')
})

t.test('key ring: AES-256-GCM with key ids, AAD binding and rotation', async (t) => {
  const oldSpec = generateKeyRingSpec('old')
  const ring1 = parseKeyRing(oldSpec)
  const secret = randomBytes(20)
  const sealed = ring1.encrypt(secret, 'usr_1/totp')
  t.notMatch(sealed, secret.toString('base64url'))
  t.match(sealed, /^v1\.old\./)
  t.same(ring1.decrypt(sealed, 'usr_1/totp'), secret)
  t.throws(() => ring1.decrypt(sealed, 'usr_2/totp'), 'another owner cannot decrypt it')
  const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1)
  t.throws(() => ring1.decrypt(tampered, 'usr_1/totp'), 'tampering is detected')
  const ring2 = parseKeyRing(`${generateKeyRingSpec('new')},${oldSpec}`)
  t.equal(ring2.activeKeyId, 'new')
  t.same(ring2.decrypt(sealed, 'usr_1/totp'), secret, 'old data stays readable after rotation')
  t.match(ring2.encrypt(secret, 'a'), /^v1\.new\./)
  t.throws(() => parseKeyRing('k1:c2hvcnQ='), /32 bytes/)
  t.throws(() => parseKeyRing(generateKeyRingSpec('a'), 'b'), /active key/)
})

t.test('logger redacts secrets', async (t) => {
  const cap = captureLog()
  const log = createLogger({ name: 'test', level: 'info', destination: cap.stream })
  log.info({ code: '123456', req: { code: '654321', headers: { authorization: 'Bearer abc.def' } }, secret: 'JBSWY3DPEHPK3PXP', otpauthUri: 'otpauth://totp/x?secret=JBSWY3DPEHPK3PXP', userId: 'usr_1' }, 'hello')
  const out = cap.text()
  for (const s of ['123456', '654321', 'abc.def', 'JBSWY3DPEHPK3PXP']) t.notMatch(out, s)
  t.match(out, 'usr_1')
  t.match(out, '[Redacted]')
})

type MakeLimiter = (clock: ReturnType<typeof manualClock>, limits?: AttemptLimits) => AttemptLimiter

/** Fails once and waits out the throttle it causes (unless it locked), as a patient person would. */
async function failAndWait (limiter: AttemptLimiter, user: string, clock: ReturnType<typeof manualClock>, failures: number): Promise<number> {
  const f = await limiter.fail(user)
  if (f.lockedUntil === undefined) clock.advance(throttleMs(failures, DEFAULT_ATTEMPT_LIMITS))
  return f.attemptsLeft
}

/** The attempt limiter's rules (SECURITY.md §1-2), run against Redis and against memory. */
async function limiterRules (t: Test, make: MakeLimiter): Promise<void> {
  await t.test('10 failures lock for 15 minutes, even the right secret; the lock does not grow', async (t) => {
    const clock = manualClock()
    const limiter = make(clock)
    const user = uniqueUserId()
    for (let i = 1; i <= 10; i++) {
      t.same(await limiter.begin(user), { allowed: true, attempt: i })
      t.equal(await failAndWait(limiter, user, clock, i), 10 - i)
    }
    const locked = await limiter.begin(user)
    t.match(locked, { allowed: false, reason: 'locked' })
    const until = (locked as { lockedUntil: Date }).lockedUntil.getTime()
    t.ok(until > clock.now().getTime() + 14 * 60_000, 'about 15 minutes from the 10th failure')
    clock.advance(60_000)
    t.match(await limiter.begin(user), { allowed: false, reason: 'locked', lockedUntil: new Date(until) }, 'the lock does not grow while locked')
    clock.set(new Date(until))
    t.same(await limiter.begin(user), { allowed: true, attempt: 1 }, 'usable again after 15 minutes')
  })

  await t.test('3 failures are free; then 2, 4, 8 … s between attempts, not counted while waiting', async (t) => {
    const clock = manualClock()
    const limiter = make(clock)
    const user = uniqueUserId()
    for (let i = 1; i <= 3; i++) { t.ok((await limiter.begin(user)).allowed, `attempt ${i} at once`); await limiter.fail(user) }
    t.ok((await limiter.begin(user)).allowed, 'the 4th at once too')
    await limiter.fail(user)
    const early = await limiter.begin(user)
    t.same(early, { allowed: false, reason: 'throttled', retryAt: new Date(clock.now().getTime() + 2_000) }, 'after the 4th failure: 2 s')
    t.match(await limiter.begin(user), { reason: 'throttled' }, 'asking again does not help')
    clock.advance(2_000)
    t.same(await limiter.begin(user), { allowed: true, attempt: 5 }, 'the refused ones were not counted')
    await limiter.fail(user)
    clock.advance(3_999)
    t.match(await limiter.begin(user), { reason: 'throttled' }, 'after the 5th: 4 s')
    clock.advance(1)
    t.ok((await limiter.begin(user)).allowed)
    await limiter.succeed(user)
    t.same(await limiter.begin(user), { allowed: true, attempt: 1 }, 'a success ends the waits')
  })

  await t.test('a success resets; the window slides out old failures', async (t) => {
    const clock = manualClock()
    const limiter = make(clock)
    const user = uniqueUserId()
    for (let i = 1; i <= 9; i++) { await limiter.begin(user); await failAndWait(limiter, user, clock, i) }
    await limiter.begin(user)
    await limiter.succeed(user)
    t.same(await limiter.begin(user), { allowed: true, attempt: 1 })
    await limiter.fail(user)
    clock.advance(15 * 60_000)
    t.same(await limiter.begin(user), { allowed: true, attempt: 1 }, 'failures older than the window do not count')
  })

  await t.test('30 parallel attempts cannot outrun the limit', async (t) => {
    const limiter = make(manualClock())
    const user = uniqueUserId()
    const results = await Promise.all(Array.from({ length: 30 }, () => limiter.begin(user)))
    t.equal(results.filter((r) => r.allowed).length, 10)
    t.notOk(await limiter.lockedUntil(uniqueUserId()))
    t.ok(await limiter.lockedUntil(user))
  })

  await t.test('consecutive failures across windows suspend the factor', async (t) => {
    const clock = manualClock()
    const limiter = make(clock, { ...DEFAULT_ATTEMPT_LIMITS, windowMs: 60_000, lockMs: 60_000, suspendAfter: 25 })
    const user = uniqueUserId()
    for (let i = 0; i < 25; i++) {
      const b = await limiter.begin(user)
      if (!b.allowed) { clock.advance(60_000); i--; continue }
      await limiter.fail(user)
    }
    t.match(await limiter.begin(user), { allowed: false, reason: 'suspended' })
  })
}

t.test('attempt limiter (memory): the same rules', async (t) => {
  await limiterRules(t, (clock, limits) => createMemoryAttemptLimiter(clock, limits))
})

t.test('with real Redis and NATS', async (t) => {
  const infra = await startInfra(t)
  const redis = await connectRedis(infra.redis.url, 'kit-test')
  t.teardown(() => redis.disconnect())

  await t.test('attempt limiter (Redis)', async (t) => {
    await limiterRules(t, (clock, limits) => createRedisAttemptLimiter(redis, { prefix: 'test', clock, ...(limits === undefined ? {} : { limits }) }))
  })

  await t.test('claimGreater: strictly increasing, one winner in parallel', async (t) => {
    const key = `test:step:${uniqueUserId()}`
    t.equal(await claimGreater(redis, key, 100, 60_000), true)
    t.equal(await claimGreater(redis, key, 100, 60_000), false, 'same step refused')
    t.equal(await claimGreater(redis, key, 99, 60_000), false, 'older step refused')
    const wins = await Promise.all(Array.from({ length: 20 }, () => claimGreater(redis, key, 101, 60_000)))
    t.equal(wins.filter(Boolean).length, 1)
  })

  await t.test('events are published to WARDEN_EVENTS, de-duplicated by event id', async (t) => {
    const nc = await connectNats(infra.nats.url, 'kit-test')
    t.teardown(() => nc.close())
    await ensureEventStream(nc)
    await ensureEventStream(nc) // idempotent
    const events = createEventPublisher(nc, manualClock())
    const userId = uniqueUserId()
    const id = await events.publish(factorEnrolled, { userId, factor: 'totp' })
    await events.publish(factorEnrolled, { userId, factor: 'totp', eventId: id })
    const jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info(EVENTS_STREAM)
    t.equal(info.state.messages, 1, 'the retry with the same id is dropped')
    const msg = await jetstream(nc).streams.get(EVENTS_STREAM).then((s) => s.getMessage({ seq: 1 }))
    t.match(msg?.json(), { userId, factor: 'totp', eventId: id })
    await t.rejects(events.publish(factorEnrolled, { userId, factor: 'fax' as 'totp' }), /contract/)
  })

  await t.test('outcome ledger (Redis): one runner per key in parallel, the outcome replayed, bound to its fingerprint', async (t) => {
    await ledgerRules(t, createRedisOutcomeLedger<{ n: number }>(redis, { prefix: 'test' }))
    const ledger = createRedisOutcomeLedger<{ n: number }>(redis, { prefix: 'test' })
    const scope = uniqueUserId()
    const firsts = await Promise.all(Array.from({ length: 20 }, () => ledger.begin(scope, 'parallel-key-0001', 'fp')))
    t.equal(firsts.filter((e) => e.state === 'new').length, 1, 'exactly one caller runs the attempt')
  })

  await t.test('attempt limiter and outcome ledger fail closed when Redis is away', async (t) => {
    const r2 = await connectRedis(infra.redis.url, 'kit-test-2')
    const limiter = createRedisAttemptLimiter(r2, { prefix: 'test', clock: manualClock() })
    const ledger = createRedisOutcomeLedger(r2, { prefix: 'test' })
    r2.disconnect()
    await t.rejects(limiter.begin(uniqueUserId()), { code: 'UNAVAILABLE' })
    await t.rejects(claimGreater(r2, 'k', 1, 1000), { code: 'UNAVAILABLE' })
    await t.rejects(once( { ledger, scope: uniqueUserId(), key: 'some-key-00000001', fingerprint: 'fp' }, async () => 1), { code: 'UNAVAILABLE' })
  })
})

/** What once() over any ledger must do; run against Redis above and in memory below. */
async function ledgerRules (t: Test, ledger: OutcomeLedger<{ n: number }>): Promise<void> {
  const scope = uniqueUserId()
  let runs = 0
  const attempt = async () => ({ n: ++runs })
  t.same(await once({ ledger, scope, key: undefined, fingerprint: 'fp' }, attempt), { n: 1 }, 'no key: it just runs')
  t.same(await once({ ledger, scope, key: undefined, fingerprint: 'fp' }, attempt), { n: 2 })
  t.same(await once({ ledger, scope, key: 'key-aaaaaaaaaaaaaa', fingerprint: 'txn-1' }, attempt), { n: 3 })
  t.same(await once({ ledger, scope, key: 'key-aaaaaaaaaaaaaa', fingerprint: 'txn-1' }, attempt), { n: 3 }, 'a retry gets the recorded outcome')
  t.equal(runs, 3, 'and runs nothing')
  await t.rejects(once({ ledger, scope, key: 'key-aaaaaaaaaaaaaa', fingerprint: 'txn-2' }, attempt), { code: 'CONFLICT' }, 'a key reused for another request')
  t.same(await once( { ledger, scope: uniqueUserId(), key: 'key-aaaaaaaaaaaaaa', fingerprint: 'txn-1' }, attempt), { n: 4 }, 'keys are per scope')
  // A fault is not an outcome: nothing is recorded, the retry evaluates again.
  await t.rejects(once({ ledger, scope, key: 'key-bbbbbbbbbbbbbb', fingerprint: 'txn-1' }, async () => { throw new Error('boom') }), /boom/)
  t.same(await once({ ledger, scope, key: 'key-bbbbbbbbbbbbbb', fingerprint: 'txn-1' }, attempt), { n: 5 })
  // While the first attempt runs, a second with the same key is told to retry shortly.
  let release = (): void => {}
  const slow = once({ ledger, scope, key: 'key-cccccccccccccc', fingerprint: 'txn-1' }, async () => { await new Promise<void>((resolve) => { release = resolve }); return { n: 99 } })
  await new Promise((resolve) => setImmediate(resolve))
  await t.rejects(once({ ledger, scope, key: 'key-cccccccccccccc', fingerprint: 'txn-1' }, attempt), { code: 'UNAVAILABLE', retryAfterSec: 1 })
  release()
  t.same(await slow, { n: 99 })
  t.same(await once({ ledger, scope, key: 'key-cccccccccccccc', fingerprint: 'txn-1' }, attempt), { n: 99 })
}

t.test('outcome ledger (memory): the same rules', async (t) => {
  await ledgerRules(t, createMemoryOutcomeLedger<{ n: number }>())
})

t.test('ops server: healthz, readyz, metrics', async (t) => {
  const metrics = createMetrics('kit')
  metrics.inc('requests_total', { endpoint: 'verify' })
  let ready = true
  const ops = await startOpsServer({ host: '127.0.0.1', port: 0, metrics, ready: { dep: async () => ready } })
  t.teardown(() => ops.close())
  const get = async (p: string) => fetch(`http://127.0.0.1:${ops.port}${p}`)
  t.equal((await get('/healthz')).status, 200)
  t.equal((await get('/readyz')).status, 200)
  ready = false
  const r = await get('/readyz')
  t.equal(r.status, 503)
  t.match(await r.json(), { checks: { dep: 'down' } })
  t.match(await (await get('/metrics')).text(), /warden_requests_total\{service="kit",endpoint="verify"\} 1/)
  t.equal((await get('/nope')).status, 404)
})

t.test('consumeEvents: durable, at least once, invalid events dropped', async (t) => {
  const { userReset } = await import('@warden/contracts')
  const { consumeEvents } = await import('../src/index.js')
  const infra = await startInfra(t)
  const nc = await connectNats(infra.nats.url, 'kit-consumer')
  t.teardown(() => nc.close())
  await ensureEventStream(nc)
  const events = createEventPublisher(nc, manualClock())
  const log = createLogger({ name: 'consumer', level: 'silent' })
  const before = uniqueUserId()
  await events.publish(userReset, { userId: before, reason: 'admin' })  // published while nobody listens
  await jetstream(nc).publish(userReset.subject, JSON.stringify({ userId: 'bad' }))
  const seen: string[] = []
  let failOnce = true
  const got = new Promise<void>((resolve) => {
    void consumeEvents(nc, { durable: 'kit-test', event: userReset, log, retryDelayMs: 10 }, async (p) => {
      if (failOnce) { failOnce = false; throw new Error('transient') }
      seen.push(p.userId)
      if (seen.length === 2) resolve()
    }).then((sub) => t.teardown(() => sub.stop()))
  })
  const after = uniqueUserId()
  await events.publish(userReset, { userId: after, reason: 'disabled' })
  await got
  t.same(seen.sort(), [before, after].sort(), 'the failed delivery was retried; the invalid event never reached the handler')
})
