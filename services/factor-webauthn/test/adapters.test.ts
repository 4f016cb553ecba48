import { randomBytes } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import { connectRedis, createAttemptGate, createRedisAttemptLimiter, createRedisOutcomeLedger, systemClock } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { startInfra, uniqueUserId } from '@warden/testkit'
import { createSoftAuthenticator, type CreationOptionsJSON, type RequestOptionsJSON } from '@warden/testkit'
import { Redis } from 'ioredis'
import t from 'tap'
import { createRandomIds } from '../src/adapters/random-ids.js'
import { createRedisChallengeStore } from '../src/adapters/redis-challenge-store.js'
import { createSimpleWebauthnCeremony } from '../src/adapters/simplewebauthn-ceremony.js'
import { createStoreCredentialStore, WEBAUTHN_BUCKET, type WebauthnRecord } from '../src/adapters/store-credential-store.js'
import { loadWebauthnConfig, webauthnSettings } from '../src/config.js'
import type { CredentialRecord, PendingChallenge } from '../src/ports.js'
import { createWebauthnService } from '../src/service.js'
import type { VerifyWebauthnResponse as VerifyResponse } from '@warden/contracts'

const flowId = (): string => `txn_${randomBytes(32).toString('base64url')}`

function record (over: Partial<CredentialRecord> = {}): CredentialRecord {
  const credentialId = over.credentialId ?? randomBytes(32).toString('base64url')
  return {
    id: createRandomIds().credentialHandle(credentialId),
    credentialId,
    publicKey: randomBytes(77).toString('base64url'),
    counter: 0,
    transports: ['usb'],
    deviceType: 'singleDevice',
    backedUp: false,
    name: 'Key',
    createdAt: '2026-03-01T12:00:00.000Z',
    aaguid: '00000000-0000-0000-0000-000000000000',
    fmt: 'none',
    ...over,
  }
}

t.test('against real Redis and NATS', async (t) => {
  const infra = await startInfra(t)
  const redis = await connectRedis(infra.redis.url, 'factor-webauthn-test')
  const nc = await connect({ servers: infra.nats.url })
  t.teardown(async () => { redis.disconnect(); await nc.close() })
  const kv = await createKvStoreFactory(nc).open<WebauthnRecord>(WEBAUTHN_BUCKET)

  t.test('Redis challenge store', async (t) => {
    const challenges = createRedisChallengeStore(redis, { prefix: 'webauthn' })
    const user = uniqueUserId()
    const pending: PendingChallenge = { challenge: randomBytes(32).toString('base64url'), userVerification: 'preferred', expiresAt: '2026-03-01T12:05:00.000Z' }

    t.test('take is single use, even in parallel', async (t) => {
      const slot = { kind: 'authentication', userId: user, flowId: flowId() } as const
      await challenges.put(slot, pending, 300_000)
      const ttl = await redis.pttl(`webauthn:challenge:{${user}}:txn:${slot.flowId}`)
      t.ok(ttl > 299_000 && ttl <= 300_000, 'kept at most the TTL')
      const taken = await Promise.all(Array.from({ length: 8 }, () => challenges.take(slot)))
      t.same(taken.filter((x) => x !== undefined), [pending], 'exactly one taker')
      t.equal(await challenges.take(slot), undefined)
    })

    t.test('slots are per transaction and per user; a new put replaces', async (t) => {
      const a = { kind: 'authentication', userId: user, flowId: flowId() } as const
      const b = { kind: 'authentication', userId: user, flowId: flowId() } as const
      const other = { kind: 'authentication', userId: uniqueUserId(), flowId: a.flowId } as const
      await challenges.put(a, pending, 300_000)
      t.equal(await challenges.take(b), undefined, 'not another transaction')
      t.equal(await challenges.take(other), undefined, 'not another user with the same transaction id')
      const newer = { ...pending, challenge: randomBytes(32).toString('base64url') }
      await challenges.put(a, newer, 300_000)
      t.same(await challenges.take(a), newer)
    })

    t.test('forget drops the registration challenge only', async (t) => {
      const u = uniqueUserId()
      const txn = { kind: 'authentication', userId: u, flowId: flowId() } as const
      await challenges.put({ kind: 'registration', userId: u }, pending, 300_000)
      await challenges.put(txn, pending, 300_000)
      await challenges.forget(u)
      t.equal(await challenges.take({ kind: 'registration', userId: u }), undefined)
      t.same(await challenges.take(txn), pending)
    })

    t.test('fails closed when Redis is away', async (t) => {
      const dead = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
      dead.on('error', () => undefined)
      const down = createRedisChallengeStore(dead, { prefix: 'webauthn' })
      await t.rejects(down.take({ kind: 'registration', userId: user }), { code: 'UNAVAILABLE', message: 'the challenge store is unavailable' })
      await t.rejects(down.put({ kind: 'registration', userId: user }, pending, 1000), { code: 'UNAVAILABLE' })
    })
  })

  t.test('KV credential store', async (t) => {
    const store = createStoreCredentialStore(kv)

    t.test('the user handle is made once, also when asked in parallel', async (t) => {
      const user = uniqueUserId()
      t.equal(await store.findUserHandle(user), undefined)
      const handles = await Promise.all(Array.from({ length: 5 }, () => store.userHandle(user)))
      t.equal(new Set(handles).size, 1)
      t.match(handles[0], /^[A-Za-z0-9_-]{43}$/)
      t.equal(await store.findUserHandle(user), handles[0])
    })

    t.test('add claims the id for one user; a duplicate, or a racing claim, loses', async (t) => {
      const alice = uniqueUserId()
      const bob = uniqueUserId()
      const r = record()
      t.equal(await store.add(alice, r), true)
      t.equal(await store.add(bob, { ...r, name: 'mine' }), false, 'another user')
      t.equal(await store.add(alice, r), false, 'the same user again')
      t.same((await store.list(bob)), [])
      const racing = record()
      const users = Array.from({ length: 4 }, () => uniqueUserId())
      const wins = await Promise.all(users.map((u) => store.add(u, racing)))
      t.equal(wins.filter(Boolean).length, 1, 'one winner')
      const holders = (await Promise.all(users.map((u) => store.list(u)))).filter((l) => l.length > 0)
      t.equal(holders.length, 1, 'one holder')
    })

    t.test('a 1023-byte credential id makes a short key', async (t) => {
      const user = uniqueUserId()
      const r = record({ credentialId: randomBytes(1023).toString('base64url') })
      t.equal(await store.add(user, r), true)
      t.same((await store.get(user, r.id))?.value, r)
    })

    t.test('update is compare-and-set: one of parallel writers wins', async (t) => {
      const user = uniqueUserId()
      const r = record()
      await store.add(user, r)
      const current = await store.get(user, r.id)
      if (current === undefined) throw new Error('missing')
      const results = await Promise.all([1, 2, 3, 4].map((n) => store.update(user, { ...r, counter: n }, current.revision)))
      t.equal(results.filter(Boolean).length, 1)
      const after = await store.get(user, r.id)
      t.equal(after?.value.counter, [1, 2, 3, 4][results.indexOf(true)])
      t.equal(await store.update(user, { ...r, counter: 9 }, current.revision), false, 'a stale revision loses')
    })

    t.test('remove frees the id; removeAll forgets the user', async (t) => {
      const user = uniqueUserId()
      const a = record()
      const b = record()
      await store.userHandle(user)
      await store.add(user, a)
      await store.add(user, b)
      t.same((await store.remove(user, a.id)), a)
      t.equal(await store.remove(user, a.id), undefined)
      t.equal(await store.add(uniqueUserId(), a), true, 'the id can be registered again')
      t.same(await store.removeAll(user), [b.id])
      t.same(await store.list(user), [])
      t.equal(await store.findUserHandle(user), undefined)
      t.equal(await store.add(uniqueUserId(), b), true)
      t.same(await store.removeAll(user), [], 'idempotent')
    })

    t.test('another user\'s remove does not free an id it does not own', async (t) => {
      const owner = uniqueUserId()
      const r = record()
      await store.add(owner, r)
      t.equal(await store.remove(uniqueUserId(), r.id), undefined)
      t.equal(await store.add(uniqueUserId(), r), false)
    })

    t.test('fails closed when NATS is away', async (t) => {
      const nc2 = await connect({ servers: infra.nats.url })
      const closedStore = createStoreCredentialStore(await createKvStoreFactory(nc2).open<WebauthnRecord>(WEBAUTHN_BUCKET))
      await nc2.close()
      await t.rejects(closedStore.list(uniqueUserId()), { code: 'UNAVAILABLE', message: 'the credential store is unavailable' })
      await t.rejects(closedStore.add(uniqueUserId(), record()), { code: 'UNAVAILABLE' })
    })
  })

  t.test('the service on the real adapters', async (t) => {
    const config = loadWebauthnConfig({ WEBAUTHN_ORIGINS: 'http://localhost:8080' })
    const settings = webauthnSettings(config)
    const svc = createWebauthnService({
      credentials: createStoreCredentialStore(kv),
      challenges: createRedisChallengeStore(redis, { prefix: 'webauthn' }),
      ceremony: createSimpleWebauthnCeremony(),
      attempts: createAttemptGate({ factor: 'webauthn', limiter: createRedisAttemptLimiter(redis, { prefix: 'webauthn', clock: systemClock }), clock: systemClock }),
      verifyOutcomes: createRedisOutcomeLedger<VerifyResponse>(redis, { prefix: 'webauthn' }),
      clock: systemClock,
      events: { emit: async () => undefined },
      ids: createRandomIds(),
      settings,
    })
    const origin = 'http://localhost:8080'

    t.test('register, sign in, replay refused, duplicate refused', async (t) => {
      const user = uniqueUserId()
      const auth = createSoftAuthenticator({ origin })
      const { options } = await svc.enroll({ userId: user })
      const reg = await svc.confirm({ userId: user, name: 'YubiKey', response: auth.create(options as CreationOptionsJSON) })
      t.match(reg, { result: 'registered', credential: { name: 'YubiKey', synced: false } })
      const flow = flowId()
      const o = await svc.options({ userId: user, flowId: flow })
      const response = auth.get(o.options as RequestOptionsJSON)
      t.match(await svc.verify({ userId: user, flowId: flow, response }), { result: 'verified', amr: 'hwk' })
      t.same(await svc.verify({ userId: user, flowId: flow, response }), { result: 'rejected', reason: 'no_challenge' })
      const other = uniqueUserId()
      const again = await svc.enroll({ userId: other })
      const dup = auth.create(again.options as CreationOptionsJSON, { credentialId: Buffer.from(auth.credentialIds()[0] ?? '', 'base64url') })
      t.same(await svc.confirm({ userId: other, name: 'copy', response: dup }), { result: 'rejected', reason: 'already_registered' })
    })

    t.test('parallel assertions leave the highest counter in the KV store', async (t) => {
      const user = uniqueUserId()
      const auth = createSoftAuthenticator({ origin })
      const { options } = await svc.enroll({ userId: user })
      const reg = await svc.confirm({ userId: user, name: 'k', response: auth.create(options as CreationOptionsJSON) })
      if (reg.result !== 'registered') throw new Error('not registered')
      const prepared = []
      for (let i = 0; i < 5; i++) {
        const flow = flowId()
        const o = await svc.options({ userId: user, flowId: flow })
        prepared.push({ flow, response: auth.get(o.options as RequestOptionsJSON) })
      }
      const results = await Promise.all(prepared.map((p) => svc.verify({ userId: user, flowId: p.flow, response: p.response })))
      const stored = await createStoreCredentialStore(kv).get(user, reg.credential.id)
      t.equal(stored?.value.counter, 5, 'the highest counter is stored')
      t.ok(results.some((r) => r.result === 'verified'))
      t.ok(results.every((r) => r.result === 'verified' || r.reason !== 'no_challenge'), 'each used its own challenge')
    })
  })
})

t.test('config', async (t) => {
  t.test('defaults: RP ID localhost, the demo origin, none attestation, 300 s, UV preferred', async (t) => {
    const c = loadWebauthnConfig({})
    const s = webauthnSettings(c)
    t.same(s.rp, { rpId: 'localhost', rpName: 'Warden', origins: ['http://localhost:8080'] })
    t.same(s.attestation, { conveyance: 'none' })
    t.equal(s.challengeTtlMs, 300_000)
    t.equal(s.userVerification, 'preferred')
  })

  t.test('an exact origin list', async (t) => {
    const ok = loadWebauthnConfig({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com, https://login.example.com:8443' })
    t.same(webauthnSettings(ok).rp.origins, ['https://example.com', 'https://login.example.com:8443'])
    const bad: Array<[string, Record<string, string>]> = [
      ['an IP as RP ID', { WEBAUTHN_RP_ID: '127.0.0.1', WEBAUTHN_ORIGINS: 'https://127.0.0.1' }],
      ['http off localhost', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'http://example.com' }],
      ['a path', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com/login' }],
      ['a trailing slash', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com/' }],
      ['a wildcard', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://*.example.com' }],
      ['a look-alike host', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com.evil.test' }],
      ['a suffix that is not a subdomain', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://badexample.com' }],
      ['uppercase', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://Example.com' }],
      ['the default port written out', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com:443' }],
      ['not a URL', { WEBAUTHN_ORIGINS: 'localhost:8080' }],
      ['direct attestation without roots', { WEBAUTHN_ATTESTATION: 'direct' }],
      ['a challenge TTL over 600 s', { WEBAUTHN_CHALLENGE_TTL_SEC: '601' }],
    ]
    for (const [what, env] of bad) t.throws(() => loadWebauthnConfig(env), /invalid configuration: [A-Z_]+/, what)
    const message = (() => { try { loadWebauthnConfig({ WEBAUTHN_ORIGINS: 'https://secret-value.evil.test' }); return '' } catch (err) { return (err as Error).message } })()
    t.match(message, /^invalid configuration: WEBAUTHN_ORIGINS/)
    t.notMatch(message, /secret-value/, 'never echoes the value')
  })

  t.test('direct attestation with roots and an AAGUID list', async (t) => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'
    const c = loadWebauthnConfig({ WEBAUTHN_ATTESTATION: 'direct', WEBAUTHN_ATTESTATION_ROOTS: `${pem}\n${pem}`, WEBAUTHN_ATTESTATION_AAGUIDS: 'cb69481e-8ff7-4039-93ec-0a2729a154a8' })
    t.same(webauthnSettings(c).attestation, { conveyance: 'direct', aaguids: ['cb69481e-8ff7-4039-93ec-0a2729a154a8'] })
  })
})
