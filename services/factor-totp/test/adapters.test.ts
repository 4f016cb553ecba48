import { connect } from '@nats-io/transport-node'
import { generateKeyRingSpec, parseKeyRing } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { startInfra, uniqueUserId } from '@warden/testkit'
import { Redis } from 'ioredis'
import t from 'tap'
import { createKeyRingCipher } from '../src/adapters/key-ring-cipher.js'
import { createOtplibTotp } from '../src/adapters/otplib-totp.js'
import { createQrcodeSvgRenderer } from '../src/adapters/qrcode-svg.js'
import { createRandomIds } from '../src/adapters/random-ids.js'
import { createRedisUsedStepGuard } from '../src/adapters/redis-used-step-guard.js'
import { createStoreEnrollmentStore, TOTP_BUCKET, type TotpRecord } from '../src/adapters/store-enrollment-store.js'
import { loadTotpConfig } from '../src/config.js'

t.test('otplib TOTP', async (t) => {
  t.test('RFC 6238 appendix B, SHA-1 vectors', async (t) => {
    const totp = createOtplibTotp({ digits: 8 })
    const secret = new TextEncoder().encode('12345678901234567890')
    const vectors: Array<[number, string]> = [
      [59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'],
      [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130'],
    ]
    for (const [time, code] of vectors) {
      const step = totp.stepAt(new Date(time * 1000))
      t.equal(step, Math.floor(time / 30), `T at ${time}`)
      t.equal(totp.codeAt(secret, step), code, `code at ${time}`)
      t.ok(totp.matches(secret, step, code), `matches at ${time}`)
      t.notOk(totp.matches(secret, step + 1, code), `not the next step at ${time}`)
    }
  })

  t.test('matches: exact digits only', async (t) => {
    const totp = createOtplibTotp()
    const secret = totp.newSecret()
    const code = totp.codeAt(secret, 1000)
    t.ok(totp.matches(secret, 1000, code))
    t.notOk(totp.matches(secret, 1000, code.slice(0, 5)), 'shorter')
    t.notOk(totp.matches(secret, 1000, code + '0'), 'longer')
    t.notOk(totp.matches(secret, 1000, String((Number(code) + 1) % 1_000_000).padStart(6, '0')), 'off by one')
    t.notOk(totp.matches(secret, -1, code), 'no negative steps')
  })

  t.test('secrets are 160 random bits, base32 without padding', async (t) => {
    const totp = createOtplibTotp()
    const a = totp.newSecret()
    const b = totp.newSecret()
    t.equal(a.length, 20)
    t.not(Buffer.from(a).toString('hex'), Buffer.from(b).toString('hex'))
    t.match(totp.encodeSecret(a), /^[A-Z2-7]{32}$/)
    t.equal(totp.encodeSecret(new TextEncoder().encode('12345678901234567890')), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
  })

  t.test('otpauth URI names algorithm, digits and period', async (t) => {
    const totp = createOtplibTotp()
    const uri = totp.otpauthUri({ issuer: 'Warden', accountName: 'bob@example.com', secret: new TextEncoder().encode('12345678901234567890') })
    t.equal(uri, 'otpauth://totp/Warden:bob%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Warden&algorithm=SHA1&digits=6&period=30')
  })
})

t.test('key-ring cipher', async (t) => {
  const cipher = createKeyRingCipher(parseKeyRing(generateKeyRingSpec('k1')))
  const secret = new Uint8Array(Buffer.from('0123456789abcdef0123', 'utf8'))
  const sealed = cipher.seal(secret, 'usr_a')
  t.match(sealed, /^v1\.k1\./, 'names its key id')
  t.notOk(sealed.includes(Buffer.from(secret).toString('base64url').slice(0, 20)))
  t.same(Buffer.from(cipher.open(sealed, 'usr_a')), Buffer.from(secret))
  t.throws(() => cipher.open(sealed, 'usr_b'), 'bound to its user: another user cannot open it')
  t.not(cipher.seal(secret, 'usr_a'), sealed, 'a fresh IV each time')

  const other = createKeyRingCipher(parseKeyRing(generateKeyRingSpec('k2')))
  t.throws(() => other.open(sealed, 'usr_a'), 'a ring without the key cannot open it')
})

t.test('qrcode SVG renderer', async (t) => {
  const svg = await createQrcodeSvgRenderer().svg('otpauth://totp/Warden:x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.notOk(svg.includes('GEZDGNBVGY3TQOJQ'), 'the secret is in the modules, not in the markup')
})

t.test('ids', async (t) => {
  const ids = createRandomIds()
  t.match(ids.enrollmentId(), /^totp_[A-Za-z0-9_-]{22}$/)
  t.not(ids.enrollmentId(), ids.enrollmentId())
})

t.test('config', async (t) => {
  const SECRET_KEYS = generateKeyRingSpec()
  const c = loadTotpConfig({ SECRET_KEYS })
  t.equal(c.TOTP_ISSUER, 'Warden')
  t.equal(c.TOTP_MAX_FAILURES, 10)
  t.equal(c.TOTP_LOCK_SEC, 900)
  t.equal(c.TOTP_ENROLLMENT_TTL_SEC, 600)
  t.equal(c.SECRET_ACTIVE_KEY_ID, undefined)
  t.equal(loadTotpConfig({ SECRET_KEYS, TOTP_LOCK_SEC: '120' }).TOTP_LOCK_SEC, 120, 'coerced from the environment')
  t.throws(() => loadTotpConfig({}), /SECRET_KEYS/, 'the key ring is required')
  let message = ''
  try { loadTotpConfig({ SECRET_KEYS: 'k1:short' }) } catch (err) { message = String(err) }
  t.match(message, /SECRET_KEYS/)
  t.notOk(message.includes('k1:short'), 'the error names the field, never its value')
  t.throws(() => loadTotpConfig({ SECRET_KEYS, TOTP_ISSUER: 'a:b' }), /TOTP_ISSUER/)
})

t.test('against real Redis and NATS KV', async (t) => {
  const infra = await startInfra(t)

  t.test('redis used-step guard: strictly greater, one winner in parallel', async (t) => {
    const redis = new Redis(infra.redis.url)
    t.teardown(() => redis.quit())
    const guard = createRedisUsedStepGuard(redis, { prefix: 'totp-test' })
    const userId = uniqueUserId()
    t.equal(await guard.claim(userId, 100), true)
    t.equal(await guard.claim(userId, 100), false, 'the same step again')
    t.equal(await guard.claim(userId, 99), false, 'an older step')
    t.equal(await guard.claim(userId, 101), true, 'a newer step')
    t.equal(await guard.claim(uniqueUserId(), 50), true, 'per user')
    const results = await Promise.all(Array.from({ length: 20 }, () => guard.claim(userId, 102)))
    t.equal(results.filter(Boolean).length, 1, 'exactly one parallel winner')
    const ttl = await redis.pttl(`totp-test:used:{${userId}}`)
    t.ok(ttl > 0 && ttl <= 15 * 60_000, 'the ledger entry expires')
    await guard.poison(userId, 110)
    t.equal(await guard.claim(userId, 110), false, 'a poisoned step is refused')
    t.equal(await guard.claim(userId, 111), true, 'the next one is not')
    const pttl = await redis.pttl(`totp-test:poisoned:{${userId}}`)
    t.ok(pttl > 0 && pttl <= 15 * 60_000, 'poisoned steps expire')
  })

  t.test('store enrollment store on JetStream KV', async (t) => {
    const nc = await connect({ servers: infra.nats.url })
    t.teardown(() => nc.drain())
    const store = createStoreEnrollmentStore(await createKvStoreFactory(nc).open<TotpRecord>(TOTP_BUCKET))
    const userId = uniqueUserId()
    const pending = { enrollmentId: 'totp_pppppppppppppppp', sealedSecret: 'v1.k.p', createdAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T00:10:00.000Z' }
    const active = { factorId: 'totp_aaaaaaaaaaaaaaaa', sealedSecret: 'v1.k.a', createdAt: '2026-01-01T00:00:00.000Z' }
    t.equal(await store.getActive(userId), undefined)
    t.equal(await store.getPending(userId), undefined)
    await store.putActive(userId, active)
    await store.putPending(userId, pending)
    t.same(await store.getActive(userId), active, 'active and pending live side by side')
    const p = await store.getPending(userId)
    t.same(p?.value, pending)

    const takes = await Promise.all([1, 2, 3].map(() => store.takePending(userId, p?.revision ?? -1)))
    t.same(takes.filter(Boolean).length, 1, 'one taker')
    t.equal(await store.getPending(userId), undefined)
    t.same(await store.getActive(userId), active, 'taking the pending one leaves the active one')
    t.equal(await store.takePending(userId, p?.revision ?? -1), false, 'gone')

    await store.putPending(userId, pending)
    const stale = await store.getPending(userId)
    await store.putPending(userId, { ...pending, enrollmentId: 'totp_qqqqqqqqqqqqqqqq' })
    t.equal(await store.takePending(userId, stale?.revision ?? -1), false, 'a replaced enrollment cannot be taken by an old read')

    t.same(await store.removeAll(userId), { active, pending: true })
    t.same(await store.removeAll(userId), { active: undefined, pending: false })
    t.equal(await store.getActive(userId), undefined)
  })

  t.test('faults fail closed as UNAVAILABLE', async (t) => {
    const nc = await connect({ servers: infra.nats.url })
    const store = createStoreEnrollmentStore(await createKvStoreFactory(nc).open<TotpRecord>(TOTP_BUCKET))
    await nc.close()
    await t.rejects(store.getActive(uniqueUserId()), { code: 'UNAVAILABLE' }, 'the store')

    const redis = new Redis(infra.redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
    redis.on('error', () => {})
    const guard = createRedisUsedStepGuard(redis, { prefix: 'totp-test' })
    await infra.redis.kill()
    await t.rejects(guard.claim(uniqueUserId(), 1), { code: 'UNAVAILABLE' }, 'the replay ledger')
    redis.disconnect()
  })
})
