import { connect } from '@nats-io/transport-node'
import { createAttemptGate, createRedisAttemptLimiter, createRedisOutcomeLedger, generateKeyRingSpec, parseKeyRing } from '@warden/service-kit'
import { createKvStoreFactory } from '@warden/store'
import { manualClock, startInfra, uniqueUserId } from '@warden/testkit'
import { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createArgon2CodeHasher, DEFAULT_ARGON2_PARAMS } from '../src/adapters/argon2-code-hasher.js'
import { createKeyRingCodeSealer } from '../src/adapters/key-ring-code-sealer.js'
import { createRandomCodeSource } from '../src/adapters/random-code-source.js'
import { createRandomIds } from '../src/adapters/random-ids.js'
import { createStoreRecoveryStore, RECOVERY_BUCKET } from '../src/adapters/store-recovery-store.js'
import { RECOVERY_CODE_LENGTH } from '../src/code-format.js'
import { loadRecoveryConfig } from '../src/config.js'
import type { RecordedVerify, RecoveryRecord } from '../src/ports.js'
import { createRecoveryService } from '../src/service.js'
import { CHEAP_ARGON2 } from './fakes.js'

t.test('random code source: 80 CSPRNG bits as 16 base32 characters', async (t) => {
  t.test('RFC 4648 base32 of exactly 10 bytes', async (t) => {
    const fixed = (bytes: Uint8Array) => createRandomCodeSource(() => Uint8Array.from(bytes)).newCode()
    t.equal(fixed(new TextEncoder().encode('foobarfoob')), 'MZXW6YTBOJTG633C')
    t.equal(fixed(Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])), 'AAAQEAYEAUDAOCAJ')
    t.equal(fixed(new Uint8Array(10).fill(255)), '7777777777777777', 'every bit is used: 16 × 5 = 80')
    t.throws(() => createRandomCodeSource(() => new Uint8Array(8)).newCode(), 'never fewer bits')
  })

  t.test('asks the CSPRNG for 10 bytes and wipes them', async (t) => {
    let given: Uint8Array | undefined
    createRandomCodeSource((size) => { t.equal(size, 10); given = randomBytes(size); return given }).newCode()
    t.same([...given ?? []], new Array(10).fill(0))
  })

  t.test('entropy: distinct, and every character equally likely in every position', async (t) => {
    const source = createRandomCodeSource()
    const n = 4000
    const codes = Array.from({ length: n }, () => source.newCode())
    t.equal(new Set(codes).size, n, 'no repeats')
    for (const c of codes.slice(0, 50)) t.match(c, /^[A-Z2-7]{16}$/)
    // Pearson's chi-square over the 32 symbols (31 degrees of freedom): 80 is beyond the
    // 99.999th percentile, so a fair source fails this about once in a hundred thousand runs.
    const chiSquare = (counts: number[], total: number) => counts.reduce((s, c) => s + (c - total / 32) ** 2 / (total / 32), 0)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
    const all = new Array(32).fill(0)
    for (const c of codes) for (const ch of c) all[alphabet.indexOf(ch)]++
    t.ok(chiSquare(all, n * RECOVERY_CODE_LENGTH) < 80, 'uniform over the alphabet')
    for (const pos of [0, 7, 15]) {
      const counts = new Array(32).fill(0)
      for (const c of codes) counts[alphabet.indexOf(c[pos] ?? '')]++
      t.ok(chiSquare(counts, n) < 80, `uniform at position ${pos}`)
    }
  })
})

t.test('argon2 code hasher', async (t) => {
  const hasher = createArgon2CodeHasher(CHEAP_ARGON2)
  const code = createRandomCodeSource().newCode()
  const h = await hasher.hash(code)
  t.match(h, /^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/, 'Argon2id, its parameters and a 128-bit salt')
  t.notOk(h.includes(code))
  t.ok(await hasher.matches(h, code))
  t.notOk(await hasher.matches(h, code.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))), 'one character off')
  t.notOk(await hasher.matches(h, code.toLowerCase()), 'the service normalises, not the hasher')
  t.not(await hasher.hash(code), h, 'a fresh salt each time')
  t.ok(await createArgon2CodeHasher(DEFAULT_ARGON2_PARAMS).matches(h, code), 'the parameters travel with the hash')
  await t.rejects(hasher.matches('$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', code), /not an Argon2id/, 'only Argon2id')
  await t.rejects(hasher.matches('plaintext', code))

  const start = process.hrtime.bigint()
  await createArgon2CodeHasher().hash(code)
  t.comment(`one hash with the default parameters (19 MiB, t=2): ${Number(process.hrtime.bigint() - start) / 1e6} ms`)
})

t.test('key-ring code sealer', async (t) => {
  const sealer = createKeyRingCodeSealer(parseKeyRing(generateKeyRingSpec('k1')))
  const sealed = sealer.seal('ABCDEFGHIJKLMNOP', 'usr_a', 'rcv_1')
  t.match(sealed, /^v1\.k1\./)
  t.notOk(sealed.includes('ABCDEFGHIJKLMNOP'))
  t.equal(sealer.open(sealed, 'usr_a', 'rcv_1'), 'ABCDEFGHIJKLMNOP')
  t.throws(() => sealer.open(sealed, 'usr_b', 'rcv_1'), 'bound to its user')
  t.throws(() => sealer.open(sealed, 'usr_a', 'rcv_2'), 'bound to its code')
})

t.test('ids', async (t) => {
  const ids = createRandomIds()
  t.match(ids.codeId(), /^rcv_[A-Za-z0-9_-]{22}$/)
  t.not(ids.codeId(), ids.codeId())
})

t.test('config', async (t) => {
  const SECRET_KEYS = generateKeyRingSpec()
  const c = loadRecoveryConfig({ SECRET_KEYS })
  t.equal(c.RECOVERY_ARGON2_MEMORY_KIB, 19_456)
  t.equal(c.RECOVERY_ARGON2_TIME_COST, 2)
  t.equal(c.RECOVERY_RETRY_WINDOW_SEC, 300)
  t.equal(c.SUPPORT_CODE_TTL_SEC, 3_600)
  t.equal(c.SUPPORT_CODE_MAX_TTL_SEC, 86_400)
  t.equal(c.RECOVERY_MAX_FAILURES, 10)
  t.equal(c.RECOVERY_LOCK_SEC, 900)
  t.equal(c.RECOVERY_SUSPEND_AFTER, 100)
  t.throws(() => loadRecoveryConfig({}), /SECRET_KEYS/)
  t.throws(() => loadRecoveryConfig({ SECRET_KEYS, SUPPORT_CODE_MAX_TTL_SEC: '90000' }), /SUPPORT_CODE_MAX_TTL_SEC/, 'never beyond 24 h')
  t.throws(() => loadRecoveryConfig({ SECRET_KEYS, SUPPORT_CODE_TTL_SEC: '7200', SUPPORT_CODE_MAX_TTL_SEC: '3600' }), /SUPPORT_CODE_TTL_SEC/)
  let message = ''
  try { loadRecoveryConfig({ SECRET_KEYS: 'k1:short' }) } catch (err) { message = String(err) }
  t.match(message, /SECRET_KEYS/)
  t.notOk(message.includes('k1:short'), 'the error names the field, never its value')
})

t.test('against real Redis and NATS KV', async (t) => {
  const infra = await startInfra(t)
  const nc = await connect({ servers: infra.nats.url })
  t.teardown(() => nc.drain())
  const kvStore = await createKvStoreFactory(nc).open<RecoveryRecord>(RECOVERY_BUCKET)

  t.test('store: one entry per user, compare-and-set', async (t) => {
    const store = createStoreRecoveryStore(kvStore)
    const userId = uniqueUserId()
    const a: RecoveryRecord = { v: 1, code: { codeId: 'rcv_aaaaaaaaaaaaaaaaaaaaaa', hash: '$argon2id$a', createdAt: '2026-01-01T00:00:00.000Z' } }
    const b: RecoveryRecord = { v: 1, code: { codeId: 'rcv_bbbbbbbbbbbbbbbbbbbbbb', hash: '$argon2id$b', createdAt: '2026-01-01T00:00:00.000Z' } }
    t.equal(await store.get(userId), undefined)
    const creates = await Promise.all([store.save(userId, a, undefined), store.save(userId, b, undefined)])
    t.equal(creates.filter(Boolean).length, 1, 'one creator')
    const first = await store.get(userId)
    const updates = await Promise.all([1, 2, 3].map(() => store.save(userId, b, first?.revision)))
    t.equal(updates.filter(Boolean).length, 1, 'one writer per revision')
    t.same((await store.get(userId))?.value, b)
    t.equal(await store.save(userId, a, first?.revision), false, 'a stale revision loses')
    t.equal(await store.save(userId, a, undefined), false, 'create loses when the entry exists')
    t.equal(await store.removeAll(userId), true)
    t.equal(await store.removeAll(userId), false, 'idempotent')
    t.equal(await store.get(userId), undefined)
    t.equal(await store.save(userId, a, undefined), true, 'created again after a reset')
    t.same((await store.get(userId))?.value, a)
  })

  t.test('the service on real adapters', async (t) => {
    const redis = new Redis(infra.redis.url)
    t.teardown(() => redis.quit())
    const clock = manualClock(new Date())
    const svc = createRecoveryService({
      store: createStoreRecoveryStore(kvStore),
      hasher: createArgon2CodeHasher(),
      codes: createRandomCodeSource(),
      sealer: createKeyRingCodeSealer(parseKeyRing(generateKeyRingSpec())),
      gate: createAttemptGate({ factor: 'recovery', limiter: createRedisAttemptLimiter(redis, { prefix: 'recovery-test', clock }), clock }),
      verifyOutcomes: createRedisOutcomeLedger<RecordedVerify>(redis, { prefix: 'recovery-test', ttlMs: 5 * 60_000 }),
      clock,
      events: { emit: async () => {} },
      ids: createRandomIds(),
      settings: { retryWindowMs: 5 * 60_000, supportCodeTtlMs: 3_600_000, supportCodeMaxTtlMs: 86_400_000 },
    })
    const flowId = () => `txn_${randomBytes(32).toString('base64url')}`
    const rawBucket = async (): Promise<string> => JSON.stringify(await kvStore.list([]))

    t.test('two parallel uses: exactly one winner and exactly one new code hash', async (t) => {
      const userId = uniqueUserId()
      const issued = await svc.issue({ userId, idempotencyKey: randomBytes(16).toString('base64url') })
      const raw = await rawBucket()
      t.notOk(raw.includes(issued.code) || raw.includes(issued.code.replaceAll('-', '')), 'no plaintext in the bucket')
      const results = await Promise.all(Array.from({ length: 4 }, (_, i) => svc.verify({
        userId, flowId: flowId(), code: issued.code, mode: i === 3 ? 'permanent' : 'temporary', idempotencyKey: randomBytes(16).toString('base64url'),
      })))
      const winners = results.filter((r) => r.result === 'verified')
      t.equal(winners.length, 1, 'one winner')
      t.equal(results.filter((r) => r.result === 'rejected' && r.reason === 'replayed').length, 3, 'three too late')
      const record = (await kvStore.get([userId]))?.value
      const winner = winners[0]
      if (winner?.result === 'verified' && winner.newCode !== undefined) {
        t.not(record?.code?.codeId, undefined, 'exactly one new code hash')
        const after = await rawBucket()
        t.notOk(after.includes(winner.newCode) || after.includes(winner.newCode.replaceAll('-', '')), 'the new code is only kept sealed')
        t.match(await svc.verify({ userId, flowId: flowId(), code: winner.newCode, mode: 'temporary' }), { result: 'verified' })
      } else {
        t.equal(record?.code, undefined, 'the permanent use won: no code left')
      }
    })

    t.test('temporary loss: a retry after a lost reply gets the same new code; the old one is dead', async (t) => {
      const userId = uniqueUserId()
      const issued = await svc.issue({ userId })
      const req = { userId, flowId: flowId(), code: issued.code, mode: 'temporary' as const, idempotencyKey: randomBytes(16).toString('base64url') }
      const first = await svc.verify(req)
      t.match(first, { result: 'verified', newCode: /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/ })
      t.same(await svc.verify(req), first, 'the same answer, from the ledger')
      await redis.del(`recovery-test:outcome:{${userId}}:${req.idempotencyKey}`)
      t.same(await svc.verify(req), first, 'the same answer, from the store, when the ledger lost it')
      t.match(await svc.verify({ ...req, flowId: flowId(), idempotencyKey: randomBytes(16).toString('base64url') }), { result: 'rejected', reason: 'invalid_code' })
    })

    t.test('throttling on the Redis limiter: the right code is refused while locked', async (t) => {
      const userId = uniqueUserId()
      const issued = await svc.issue({ userId })
      const wrong = createRandomCodeSource().newCode()
      for (let i = 0; i < 10; i++) {
        clock.advance(2 ** Math.max(0, i - 3) * 1000)
        await svc.verify({ userId, flowId: flowId(), code: wrong, mode: 'temporary' })
      }
      await t.rejects(svc.verify({ userId, flowId: flowId(), code: issued.code, mode: 'temporary' }), { code: 'FACTOR_LOCKED' })
      clock.advance(15 * 60_000)
      t.match(await svc.verify({ userId, flowId: flowId(), code: issued.code, mode: 'permanent' }), { result: 'verified' })
    })

    t.test('support code expiry with a moved clock', async (t) => {
      const userId = uniqueUserId()
      const support = await svc.issueSupportCode({ userId, ttlSec: 60 })
      clock.advance(60_000)
      t.match(await svc.verify({ userId, flowId: flowId(), code: support.code, mode: 'temporary' }), { result: 'rejected', reason: 'expired' })
    })
  })

  t.test('a store fault fails closed as UNAVAILABLE', async (t) => {
    const nc2 = await connect({ servers: infra.nats.url })
    const store = createStoreRecoveryStore(await createKvStoreFactory(nc2).open<RecoveryRecord>(RECOVERY_BUCKET))
    await nc2.close()
    await t.rejects(store.get(uniqueUserId()), { code: 'UNAVAILABLE' })
    await t.rejects(store.save(uniqueUserId(), { v: 1 }, undefined), { code: 'UNAVAILABLE' })
  })
})
