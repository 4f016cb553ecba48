import { uniqueUserId } from '@warden/testkit'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { RecoveryMode } from '@warden/contracts'
import { normalizeRecoveryCode } from '../src/code-format.js'
import { createRecoveryService, type RecoveryService } from '../src/service.js'
import { everythingKept, fakeDeps, someOtherCode, unavailableStore, waitOut, type Fakes } from './fakes.js'

const SHOWN = /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/
const flowId = (): string => `txn_${randomBytes(32).toString('base64url')}`
const key = (): string => randomBytes(16).toString('base64url')

function signIn (userId: string, code: string, mode: RecoveryMode, opts: { flowId?: string, idempotencyKey?: string } = {}) {
  return { userId, flowId: opts.flowId ?? flowId(), code, mode, ...(opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey }) }
}

function setup (opts: Parameters<typeof fakeDeps>[0] = {}): { f: Fakes, svc: RecoveryService } {
  const f = fakeDeps(opts)
  return { f, svc: createRecoveryService(f.deps) }
}

/** The code in the (canonical) form a hash is made of, and the forms a person may type. */
const canonical = (shown: string): string => shown.replaceAll('-', '')

t.test('issue', async (t) => {
  t.test('80 bits as 16 base32 characters in four groups, shown once, only its hash kept', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const issued = await svc.issue({ userId })
    t.match(issued.code, SHOWN)
    t.match(issued.codeId, /^rcv_[A-Za-z0-9_-]{22}$/)
    t.equal(issued.createdAt, '2026-03-01T12:00:00.000Z')
    const stored = f.store.entries.get(userId)?.value
    t.match(stored?.code?.hash, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/, 'an Argon2id PHC string with a 128-bit salt')
    t.equal(stored?.code?.reveal, undefined, 'without an idempotency key nothing is kept to show it again')
    t.notOk(everythingKept(f).includes(canonical(issued.code)), 'no plaintext in the store or the events')
    t.notOk(everythingKept(f).includes(issued.code))
    t.same(f.events, [{ subject: 'warden.events.v1.factor.enrolled', body: { userId, factor: 'recovery', itemId: issued.codeId } }])
    t.same(await svc.describe({ userId }), {
      factor: 'recovery', enrolled: true, createdAt: issued.createdAt,
      items: [{ id: issued.codeId, label: 'Emergency code', createdAt: issued.createdAt, verified: false }],
    })
  })

  t.test('every code is new', async (t) => {
    const { svc } = setup()
    const codes = new Set<string>()
    for (let i = 0; i < 20; i++) codes.add((await svc.issue({ userId: uniqueUserId() })).code)
    t.equal(codes.size, 20)
  })

  t.test('regenerating invalidates the old code in the same write', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const first = await svc.issue({ userId })
    const second = await svc.issue({ userId })
    t.not(second.code, first.code)
    t.equal(f.store.entries.get(userId)?.value.code?.codeId, second.codeId, 'one code per user')
    t.same(f.events.map((e) => e.subject), ['warden.events.v1.factor.enrolled', 'warden.events.v1.recovery.regenerated'], 'the first binds, the second replaces')
    t.same(f.events[1]?.body, { userId, itemId: second.codeId, reason: 'regenerated' })
    t.match(await svc.verify(signIn(userId, first.code, 'temporary')), { result: 'rejected', reason: 'invalid_code' })
    t.match(await svc.verify(signIn(userId, second.code, 'temporary')), { result: 'verified' })
  })

  t.test('a retry with the same idempotency key gets the same code, kept sealed until acknowledged or the window ends', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const k = key()
    const first = await svc.issue({ userId, idempotencyKey: k })
    const sealed = f.store.entries.get(userId)?.value.code?.reveal
    t.match(sealed, { attempt: `issue/${k}`, until: '2026-03-01T12:05:00.000Z' })
    t.notOk(everythingKept(f).includes(canonical(first.code)), 'sealed, not plaintext')
    f.clock.advance(4 * 60_000)
    t.same(await svc.issue({ userId, idempotencyKey: k }), first, 'the same code, not a new one')
    t.equal(f.events.length, 1, 'one enrollment event')
    const other = await svc.issue({ userId, idempotencyKey: key() })
    t.not(other.code, first.code, 'another key is another request')
    t.match(await svc.verify(signIn(userId, first.code, 'temporary')), { result: 'rejected', reason: 'invalid_code' })
  })

  t.test('past the retry window the same key makes a new code', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const k = key()
    const first = await svc.issue({ userId, idempotencyKey: k })
    f.clock.advance(5 * 60_000)
    const again = await svc.issue({ userId, idempotencyKey: k })
    t.not(again.code, first.code)
  })
  t.test('a sealed copy past its window is dropped at the next write', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    await svc.issue({ userId, idempotencyKey: key() })
    f.clock.advance(5 * 60_000)
    await svc.issueSupportCode({ userId })
    t.equal(f.store.entries.get(userId)?.value.code?.reveal, undefined)
  })
})

t.test('acknowledge ("I have safely copied and stored this code.")', async (t) => {
  const { f, svc } = setup()
  const userId = uniqueUserId()
  await t.rejects(svc.acknowledge({ userId }), { code: 'NOT_ENROLLED' })
  const issued = await svc.issue({ userId, idempotencyKey: key() })
  await t.rejects(svc.acknowledge({ userId, codeId: 'rcv_AAAAAAAAAAAAAAAAAAAAAA' }), { code: 'CONFLICT' }, 'a code that was replaced since it was shown')
  f.clock.advance(1000)
  const ack = await svc.acknowledge({ userId, codeId: issued.codeId })
  t.same(ack, { codeId: issued.codeId, acknowledgedAt: '2026-03-01T12:00:01.000Z' })
  t.equal(f.store.entries.get(userId)?.value.code?.reveal, undefined, 'the sealed copy is gone: it is never shown again')
  f.clock.advance(1000)
  t.same(await svc.acknowledge({ userId }), ack, 'idempotent')
  t.match((await svc.describe({ userId })).items, [{ id: issued.codeId, verified: true }])
  const next = await svc.issue({ userId })
  t.match((await svc.describe({ userId })).items, [{ id: next.codeId, verified: false }], 'a new code needs its own acknowledgement')
})

t.test('verify, temporary loss', async (t) => {
  t.test('signs in once and answers a new code; the old one is dead', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const issued = await svc.issue({ userId })
    await svc.acknowledge({ userId })
    f.events.length = 0
    const res = await svc.verify(signIn(userId, issued.code, 'temporary', { idempotencyKey: key() }))
    t.match(res, { result: 'verified', verifiedAt: '2026-03-01T12:00:00.000Z', newCode: SHOWN })
    if (res.result !== 'verified' || res.newCode === undefined) return
    t.not(res.newCode, issued.code)
    const record = f.store.entries.get(userId)?.value
    t.not(record?.code?.codeId, issued.codeId, 'a new code id')
    t.equal(record?.code?.acknowledgedAt, undefined, 'the new code has yet to be stored by the user')
    t.notOk(everythingKept(f).includes(canonical(res.newCode)), 'the new code is not kept in plaintext, nor in the ledger')
    t.same(f.events, [
      { subject: 'warden.events.v1.emergencycode.used', body: { userId, itemId: issued.codeId, kind: 'emergency', mode: 'temporary' } },
      { subject: 'warden.events.v1.recovery.regenerated', body: { userId, itemId: record?.code?.codeId, reason: 'temporary_loss' } },
    ], 'the use, and the replacement')
    t.match(await svc.verify(signIn(userId, issued.code, 'temporary')), { result: 'rejected', reason: 'invalid_code' }, 'the old code is dead')
    t.match(await svc.verify(signIn(userId, res.newCode, 'temporary')), { result: 'verified', newCode: SHOWN }, 'the new one works')
  })

  t.test('accepts lowercase, spaces and dashes', async (t) => {
    const { svc } = setup()
    const userId = uniqueUserId()
    const issued = await svc.issue({ userId })
    const typed = ` ${canonical(issued.code).toLowerCase().replace(/(.{4})/g, '$1 ').trim()} `
    t.match(await svc.verify(signIn(userId, typed, 'temporary')), { result: 'verified' })
  })

  t.test('a retry after a lost reply gets the same new code, never a third', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const issued = await svc.issue({ userId })
    const attempt = signIn(userId, issued.code, 'temporary', { idempotencyKey: key() })
    const first = await svc.verify(attempt)
    const newCodeId = f.store.entries.get(userId)?.value.code?.codeId
    f.clock.advance(60_000)
    t.same(await svc.verify(attempt), first, 'answered from the record, with the same code')
    t.equal(f.store.entries.get(userId)?.value.code?.codeId, newCodeId, 'no third code')

    // The ledger lost its record too (Redis restarted): the store's receipt answers.
    f.verifyOutcomes.entries.clear()
    t.same(await svc.verify(attempt), first, 'answered from the store')
    t.equal(f.store.entries.get(userId)?.value.code?.codeId, newCodeId, 'still no third code')
    t.equal(f.events.length, 3, 'one enrollment, one use, one replacement event')

    // Past the window the code is no longer shown; the user is signed in and can make a new one.
    f.clock.advance(5 * 60_000)
    const late = await svc.verify(attempt)
    t.same(late, { result: 'verified', verifiedAt: '2026-03-01T12:00:00.000Z' })
    t.equal(f.store.entries.get(userId)?.value.code?.codeId, newCodeId)
  })

  t.test('the same key in another transaction is another attempt', async (t) => {
    const { svc } = setup()
    const userId = uniqueUserId()
    const issued = await svc.issue({ userId })
    const k = key()
    await svc.verify(signIn(userId, issued.code, 'temporary', { idempotencyKey: k }))
    await t.rejects(svc.verify(signIn(userId, issued.code, 'temporary', { idempotencyKey: k })), { code: 'CONFLICT' }, 'a key reused for another flow is a caller bug')
  })

  t.test('two parallel uses: exactly one winner, exactly one new code', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const issued = await svc.issue({ userId })
    const results = await Promise.all([
      svc.verify(signIn(userId, issued.code, 'temporary', { idempotencyKey: key() })),
      svc.verify(signIn(userId, issued.code, 'temporary', { idempotencyKey: key() })),
      svc.verify(signIn(userId, issued.code, 'permanent', { idempotencyKey: key() })),
    ])
    const winners = results.filter((r) => r.result === 'verified')
    t.equal(winners.length, 1, 'one winner')
    t.equal(results.filter((r) => r.result === 'rejected' && r.reason === 'replayed').length, 2, 'the others were too late')
    const record = f.store.entries.get(userId)?.value
    const winner = winners[0]
    if (winner?.result === 'verified' && winner.newCode !== undefined) {
      t.not(record?.code?.codeId, issued.codeId)
      t.match(await svc.verify(signIn(userId, winner.newCode, 'temporary')), { result: 'verified' }, 'the one new code is the winner\'s')
    } else {
      t.equal(record?.code, undefined, 'the permanent use won: no code left')
    }
    t.equal(f.events.filter((e) => e.subject === 'warden.events.v1.emergencycode.used').length, 1)
  })

  t.test('a parallel acknowledgement does not make the right code lose', async (t) => {
    const { svc } = setup()
    const userId = uniqueUserId()
    const issued = await svc.issue({ userId })
    const [res] = await Promise.all([svc.verify(signIn(userId, issued.code, 'temporary')), svc.acknowledge({ userId })])
    t.match(res, { result: 'verified', newCode: SHOWN })
  })
})

t.test('verify, permanent loss', async (t) => {
  const { f, svc } = setup()
  const userId = uniqueUserId()
  const issued = await svc.issue({ userId })
  const attempt = signIn(userId, issued.code, 'permanent', { idempotencyKey: key() })
  const res = await svc.verify(attempt)
  t.same(res, { result: 'verified', verifiedAt: '2026-03-01T12:00:00.000Z' }, 'no new code: the caller resets 2FA')
  t.equal(f.store.entries.get(userId)?.value.code, undefined, 'the code is spent')
  t.same(await svc.describe({ userId }), { factor: 'recovery', enrolled: false, items: [] })
  f.verifyOutcomes.entries.clear()
  t.same(await svc.verify(attempt), res, 'a retry after a lost reply is still verified (the store\'s receipt)')
  await t.rejects(svc.verify(signIn(userId, issued.code, 'permanent')), { code: 'NOT_ENROLLED' }, 'anyone else finds nothing to spend')
  t.match(f.events.at(-1), { subject: 'warden.events.v1.emergencycode.used', body: { kind: 'emergency', mode: 'permanent' } })
})

t.test('refusals', async (t) => {
  t.test('NOT_ENROLLED without a code; nothing counted', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    await t.rejects(svc.verify(signIn(userId, someOtherCode(), 'temporary')), { code: 'NOT_ENROLLED' })
    t.equal(f.limiter.state.get(userId), undefined)
  })

  t.test('a malformed code is BAD_REQUEST, never counted, never a match', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const issued = await svc.issue({ userId })
    for (const code of ['', canonical(issued.code).slice(0, 15), canonical(issued.code) + 'A', canonical(issued.code).replace(/.$/, '0'), 'ß'.repeat(8) + 'AAAAAAAA', 'x'.repeat(100)]) {
      await t.rejects(svc.verify(signIn(userId, code, 'temporary')), { code: 'BAD_REQUEST' }, JSON.stringify(code))
    }
    t.equal(f.limiter.state.get(userId), undefined, 'no attempt counted')
    t.match(await svc.verify(signIn(userId, issued.code, 'temporary')), { result: 'verified' }, 'the code is untouched')
  })

  t.test('a wrong code is an answer with the attempts left', async (t) => {
    const { svc } = setup()
    const userId = uniqueUserId()
    await svc.issue({ userId })
    t.same(await svc.verify(signIn(userId, someOtherCode(), 'temporary')), { result: 'rejected', reason: 'invalid_code', attemptsLeft: 9 })
  })

  t.test('a store that is down fails closed', async (t) => {
    const f = fakeDeps()
    const down = createRecoveryService({ ...f.deps, store: unavailableStore() })
    await t.rejects(down.verify(signIn(uniqueUserId(), someOtherCode(), 'temporary')), { code: 'UNAVAILABLE' })
    await t.rejects(down.issue({ userId: uniqueUserId() }), { code: 'UNAVAILABLE' })
    await t.rejects(down.describe({ userId: uniqueUserId() }), { code: 'UNAVAILABLE' })
  })
})

t.test('throttling: its own budget, the right code refused while locked', async (t) => {
  const { f, svc } = setup()
  const userId = uniqueUserId()
  const issued = await svc.issue({ userId })
  f.events.length = 0
  let last
  for (let i = 0; i < 10; i++) {
    waitOut(f, userId)
    last = await svc.verify(signIn(userId, someOtherCode(), 'temporary'))
  }
  t.same(last, { result: 'rejected', reason: 'invalid_code', attemptsLeft: 0 })
  const lockedUntil = new Date(f.clock.now().getTime() + 15 * 60_000).toISOString()
  t.equal((await svc.describe({ userId })).lockedUntil, lockedUntil, 'describe shows the lock')
  t.same(f.events.map((e) => e.subject), ['warden.events.v1.factor.locked'])
  t.match(f.events[0]?.body, { userId, factor: 'recovery', lockedUntil })
  await t.rejects(svc.verify(signIn(userId, issued.code, 'temporary')), { code: 'FACTOR_LOCKED', retryAfterSec: 900 }, 'the right code is refused while locked')
  t.equal(f.store.entries.get(userId)?.value.code?.codeId, issued.codeId, 'and stays unspent')
  f.clock.set(new Date(lockedUntil))
  t.match(await svc.verify(signIn(userId, issued.code, 'temporary')), { result: 'verified' }, 'after the lock the right code works')
  t.equal((await svc.describe({ userId })).lockedUntil, undefined)
})

t.test('100 wrong codes in a row turn code recovery off until support acts', async (t) => {
  const { f, svc } = setup()
  const userId = uniqueUserId()
  const issued = await svc.issue({ userId })
  for (let i = 0; i < 100; i++) {
    waitOut(f, userId)
    const res = await svc.verify(signIn(userId, someOtherCode(), 'temporary'))
    t.equal(res.result, 'rejected', `failure ${i + 1}`)
  }
  waitOut(f, userId)
  f.clock.advance(24 * 3600_000)
  await t.rejects(svc.verify(signIn(userId, issued.code, 'temporary')), { code: 'FACTOR_LOCKED', message: /support/ }, 'the right code, a day later')
  t.equal((await svc.describe({ userId })).lockedUntil, '9999-12-31T23:59:59.999Z', 'describe shows it as locked for good')
  const support = await svc.issueSupportCode({ userId })
  t.equal((await svc.describe({ userId })).lockedUntil, undefined, 'support acted')
  t.match(await svc.verify(signIn(userId, support.code, 'temporary')), { result: 'verified', newCode: SHOWN })
})

t.test('support code', async (t) => {
  t.test('emergency-code format, ≤ 24 h, audited; replaces nothing until it is used', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const own = await svc.issue({ userId })
    f.events.length = 0
    const support = await svc.issueSupportCode({ userId })
    t.match(support.code, SHOWN)
    t.equal(support.expiresAt, '2026-03-01T13:00:00.000Z', 'one hour by default')
    t.notOk(everythingKept(f).includes(canonical(support.code)), 'no plaintext kept')
    t.same(f.events, [{ subject: 'warden.events.v1.supportcode.issued', body: { userId, itemId: support.codeId, expiresAt: support.expiresAt } }])
    t.match(await svc.describe({ userId }), {
      enrolled: true, createdAt: own.createdAt,
      items: [{ id: own.codeId, label: 'Emergency code' }, { id: support.codeId, label: 'Support code' }],
    })
    t.equal(f.store.entries.get(userId)?.value.code?.codeId, own.codeId, 'the emergency code is untouched')
    t.equal((await svc.issueSupportCode({ userId, ttlSec: 86_400 })).expiresAt, '2026-03-02T12:00:00.000Z', '24 h at most')
    const capped = createRecoveryService({ ...f.deps, settings: { ...f.deps.settings, supportCodeMaxTtlMs: 2 * 3600_000 } })
    t.equal((await capped.issueSupportCode({ userId, ttlSec: 86_400 })).expiresAt, '2026-03-01T14:00:00.000Z', 'capped at the configured maximum')
  })

  t.test('temporary: gives a new emergency code; single use; the old emergency code dies', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const own = await svc.issue({ userId })
    const support = await svc.issueSupportCode({ userId })
    const res = await svc.verify(signIn(userId, support.code, 'temporary'))
    t.match(res, { result: 'verified', newCode: SHOWN })
    t.match(f.events.at(-2), { body: { itemId: support.codeId, kind: 'support', mode: 'temporary' } })
    t.match(f.events.at(-1), { subject: 'warden.events.v1.recovery.regenerated', body: { reason: 'temporary_loss' } })
    t.match(await svc.verify(signIn(userId, support.code, 'temporary')), { result: 'rejected', reason: 'invalid_code' }, 'single use')
    t.match(await svc.verify(signIn(userId, own.code, 'temporary')), { result: 'rejected', reason: 'invalid_code' }, 'it replaced the lost emergency code')
    if (res.result === 'verified' && res.newCode !== undefined) {
      t.match(await svc.verify(signIn(userId, res.newCode, 'permanent')), { result: 'verified' }, 'the new emergency code works')
    }
  })

  t.test('permanent: spent, and 2FA is the caller\'s to reset; works for a user without an emergency code', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    const support = await svc.issueSupportCode({ userId })
    t.match(await svc.describe({ userId }), { enrolled: true, items: [{ label: 'Support code' }] })
    t.same(await svc.verify(signIn(userId, support.code, 'permanent')), { result: 'verified', verifiedAt: '2026-03-01T12:00:00.000Z' })
    t.equal(f.store.entries.get(userId)?.value.support, undefined)
    await t.rejects(svc.verify(signIn(userId, support.code, 'permanent')), { code: 'NOT_ENROLLED' }, 'single use')
  })

  t.test('expiry, with a moved clock', async (t) => {
    const { f, svc } = setup()
    const userId = uniqueUserId()
    await svc.issue({ userId })
    const support = await svc.issueSupportCode({ userId, ttlSec: 600 })
    f.clock.advance(600_000)
    t.same(await svc.verify(signIn(userId, support.code, 'temporary')), { result: 'rejected', reason: 'expired', attemptsLeft: 9 })
    t.match(await svc.describe({ userId }), { items: [{ label: 'Emergency code' }] }, 'no longer offered')
    t.equal((await svc.describe({ userId })).items.length, 1)
  })

  t.test('a newer support code replaces an older one', async (t) => {
    const { svc } = setup()
    const userId = uniqueUserId()
    const older = await svc.issueSupportCode({ userId })
    const newer = await svc.issueSupportCode({ userId })
    t.match(await svc.verify(signIn(userId, older.code, 'temporary')), { result: 'rejected', reason: 'invalid_code' })
    t.match(await svc.verify(signIn(userId, newer.code, 'temporary')), { result: 'verified' })
  })
})

t.test('user.reset forgets everything, idempotently', async (t) => {
  const { f, svc } = setup()
  const userId = uniqueUserId()
  const own = await svc.issue({ userId })
  await svc.issueSupportCode({ userId })
  waitOut(f, userId)
  await svc.verify(signIn(userId, someOtherCode(), 'temporary'))
  await svc.reset(userId)
  await svc.reset(userId)
  t.same(await svc.describe({ userId }), { factor: 'recovery', enrolled: false, items: [] })
  t.equal(f.limiter.state.get(userId), undefined, 'the attempt counter too')
  await t.rejects(svc.verify(signIn(userId, own.code, 'temporary')), { code: 'NOT_ENROLLED' })
})

t.test('normalisation is shared with the gateway', async (t) => {
  t.equal(normalizeRecoveryCode('abcd-efgh ijkl\tmnop'), 'ABCDEFGHIJKLMNOP')
  t.equal(normalizeRecoveryCode('ABCD–EFGH—IJKL-MNOP'), 'ABCDEFGHIJKLMNOP', 'typographic dashes from a word processor')
  t.equal(normalizeRecoveryCode('ABCD-EFGH-IJKL-MNO0'), undefined, '0 is not in the alphabet')
  t.equal(normalizeRecoveryCode('ABCD-EFGH-IJKL-MNO'), undefined)
  t.equal(normalizeRecoveryCode('ßBCD-EFGH-IJKL-MNO'), undefined, 'no Unicode case folding into the alphabet')
  t.equal(normalizeRecoveryCode('ıBCD-EFGH-IJKL-MNOP'), undefined)
})
