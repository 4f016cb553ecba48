import { confirmTotp, enrollTotp, removeTotp, verifyTotp } from '@warden/contracts'
import { uniqueUserId } from '@warden/testkit'
import t from 'tap'
import { createTotpService, SKEW_SEARCH_STEPS } from '../src/service.js'
import { codeAt, fakeDeps, unavailableUsedSteps, waitOutThrottle, wrongCode } from './fakes.js'

const FLOW = 'txn_' + 'A'.repeat(43)

type Fakes = ReturnType<typeof fakeDeps>

/** Enrolls and confirms a user, then moves past the burnt confirming step (and its window). */
async function enrolledUser (f: Fakes, userId = uniqueUserId()) {
  const totp = createTotpService(f.deps)
  const e = await totp.enroll({ userId, accountName: 'alice@example.com' })
  const res = await totp.confirm({ userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, f.clock.now()) })
  if (res.result !== 'confirmed') throw new Error('setup: confirm failed')
  f.clock.advance(90_000)
  f.events.length = 0
  return { totp, userId, secret: e.secret }
}

const verifyReq = (userId: string, code: string) => ({ userId, flowId: FLOW, code })

t.test('enroll', async (t) => {
  t.test('returns a 160-bit secret, an explicit otpauth URI, a QR and a 10-minute expiry; stores only a pending enrollment', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    const res = await totp.enroll({ userId, accountName: 'alice@example.com' })
    t.ok(enrollTotp.isResponse(res), 'the response matches the contract')
    t.match(res.secret, /^[A-Z2-7]{32}$/, '32 base32 characters = 160 bits')
    t.equal(res.otpauthUri, `otpauth://totp/Warden:alice%40example.com?secret=${res.secret}&issuer=Warden&algorithm=SHA1&digits=6&period=30`)
    t.equal(res.qrSvg, `<svg data-len="${res.otpauthUri.length}"/>`, 'the QR encodes the URI')
    t.equal(res.expiresAt, new Date(f.clock.now().getTime() + 600_000).toISOString())
    t.equal(f.enrollments.active.size, 0, 'nothing active before confirmation')
    const pending = f.enrollments.pending.get(userId)?.value
    t.equal(pending?.enrollmentId, res.enrollmentId)
    t.equal(pending?.expiresAt, res.expiresAt)
    t.notOk(JSON.stringify(pending).includes(res.secret), 'the stored enrollment does not hold the seed in clear')
    t.same(await totp.describe({ userId }), { factor: 'totp', enrolled: false, items: [] })
    t.same(f.events, [], 'no event before confirmation')
  })

  t.test('encodes issuer and account name in the label', async (t) => {
    const f = fakeDeps({ issuer: 'ACME 2FA' })
    const res = await createTotpService(f.deps).enroll({ userId: uniqueUserId(), accountName: 'a b:c' })
    t.ok(res.otpauthUri.startsWith('otpauth://totp/ACME%202FA:a%20b%3Ac?secret='))
    t.ok(res.otpauthUri.includes('&issuer=ACME%202FA&'))
  })

  t.test('an account name too long for the contract\'s URI is BAD_REQUEST and stores nothing', async (t) => {
    const f = fakeDeps()
    const userId = uniqueUserId()
    await t.rejects(createTotpService(f.deps).enroll({ userId, accountName: 'é'.repeat(100) }), { code: 'BAD_REQUEST' })
    t.equal(f.enrollments.pending.size, 0)
  })

  t.test('each enrollment has its own secret and id', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    const a = await totp.enroll({ userId, accountName: 'x' })
    const b = await totp.enroll({ userId, accountName: 'x' })
    t.not(a.secret, b.secret)
    t.not(a.enrollmentId, b.enrollmentId)
    t.equal(f.enrollments.pending.get(userId)?.value.enrollmentId, b.enrollmentId, 'the newer enrollment replaces the pending one')
  })
})

t.test('confirm', async (t) => {
  t.test('a correct code activates the factor, removes the pending one, emits factor.enrolled and burns the step', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    const e = await totp.enroll({ userId, accountName: 'alice' })
    const code = codeAt(e.secret, f.clock.now())
    const res = await totp.confirm({ userId, enrollmentId: e.enrollmentId, code })
    t.same(res, { result: 'confirmed', confirmedAt: f.clock.now().toISOString() })
    t.ok(confirmTotp.isResponse(res))
    t.equal(f.enrollments.active.get(userId)?.factorId, e.enrollmentId)
    t.notOk(f.enrollments.pending.has(userId))
    t.match(f.events, [{ subject: 'warden.events.v1.factor.enrolled', body: { userId, factor: 'totp', itemId: e.enrollmentId } }])
    t.same(await totp.describe({ userId }), { factor: 'totp', enrolled: true, createdAt: f.clock.now().toISOString(), items: [] })
    t.match(await totp.verify(verifyReq(userId, code)), { result: 'rejected', reason: 'replayed' }, 'the confirming code cannot sign in')
  })

  t.test('accepts T-1 and T+1 too', async (t) => {
    for (const d of [-1, 1]) {
      const f = fakeDeps()
      const totp = createTotpService(f.deps)
      const userId = uniqueUserId()
      const e = await totp.enroll({ userId, accountName: 'alice' })
      t.match(await totp.confirm({ userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, f.clock.now(), d) }), { result: 'confirmed' }, `step ${d}`)
    }
  })

  t.test('a wrong code keeps the factor inactive and counts a confirm failure only', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    const e = await totp.enroll({ userId, accountName: 'alice' })
    t.same(await totp.confirm({ userId, enrollmentId: e.enrollmentId, code: wrongCode(e.secret, f.clock.now()) }), { result: 'rejected', reason: 'invalid_code' })
    t.equal(f.enrollments.active.size, 0)
    t.ok(f.enrollments.pending.has(userId), 'the user can try again')
    t.equal(f.confirmLimiter.state.get(userId)?.consecutive, 1)
    t.equal(f.limiter.state.get(userId), undefined, 'sign-in attempts are untouched')
    t.same(f.events, [])
  })

  t.test('a code from a skewed device clock is rejected with the offset', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    const e = await totp.enroll({ userId, accountName: 'alice' })
    t.same(await totp.confirm({ userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, f.clock.now(), -4) }), { result: 'rejected', reason: 'clock_skew', offsetSec: -120 })
    t.equal(f.enrollments.active.size, 0)
  })

  t.test('an unknown or superseded enrollment id is NOT_FOUND', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    await t.rejects(totp.confirm({ userId, enrollmentId: 'totp_0000000000000000', code: '123456' }), { code: 'NOT_FOUND' })
    const first = await totp.enroll({ userId, accountName: 'alice' })
    await totp.enroll({ userId, accountName: 'alice' })
    await t.rejects(totp.confirm({ userId, enrollmentId: first.enrollmentId, code: codeAt(first.secret, f.clock.now()) }), { code: 'NOT_FOUND' })
    const other = uniqueUserId()
    await t.rejects(totp.confirm({ userId: other, enrollmentId: first.enrollmentId, code: codeAt(first.secret, f.clock.now()) }), { code: 'NOT_FOUND' }, 'enrollment ids are per user')
    t.equal(f.enrollments.active.size, 0)
  })

  t.test('an expired enrollment is ENROLLMENT_EXPIRED, even with a correct code', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    const e = await totp.enroll({ userId, accountName: 'alice' })
    f.clock.advance(10 * 60_000 - 1)
    t.match(await totp.confirm({ userId, enrollmentId: e.enrollmentId, code: wrongCode(e.secret, f.clock.now()) }), { result: 'rejected' }, 'still pending 1 ms before expiry')
    f.clock.advance(1)
    await t.rejects(totp.confirm({ userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, f.clock.now()) }), { code: 'ENROLLMENT_EXPIRED' })
    t.equal(f.enrollments.active.size, 0)
  })

  t.test('re-enrolling keeps the active factor working until the new one is confirmed', async (t) => {
    const f = fakeDeps()
    const { totp, userId, secret: oldSecret } = await enrolledUser(f)
    const e = await totp.enroll({ userId, accountName: 'alice' })
    t.match(await totp.verify(verifyReq(userId, codeAt(oldSecret, f.clock.now()))), { result: 'verified' }, 'old factor works while the new one is pending')
    t.match(await totp.describe({ userId }), { enrolled: true })
    f.clock.advance(90_000)
    t.match(await totp.confirm({ userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, f.clock.now()) }), { result: 'confirmed' })
    f.clock.advance(90_000)
    t.match(await totp.verify(verifyReq(userId, codeAt(oldSecret, f.clock.now()))), { result: 'rejected' }, 'the old secret is replaced')
    t.match(await totp.verify(verifyReq(userId, codeAt(e.secret, f.clock.now()))), { result: 'verified' }, 'the new one works')
  })

  t.test('parallel confirmations of one enrollment: exactly one wins', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    const e = await totp.enroll({ userId, accountName: 'alice' })
    const code = codeAt(e.secret, f.clock.now())
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => totp.confirm({ userId, enrollmentId: e.enrollmentId, code })))
    t.equal(results.filter((r) => r.status === 'fulfilled' && r.value.result === 'confirmed').length, 1)
    t.equal(results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'NOT_FOUND').length, 4)
    t.equal(f.events.filter((ev) => ev.subject.endsWith('enrolled')).length, 1, 'one factor.enrolled')
  })

  t.test('confirm attempts are limited on their own counter; confirming resets the sign-in counter', async (t) => {
    const f = fakeDeps()
    const { totp, userId, secret } = await enrolledUser(f)
    for (let i = 0; i < 3; i++) await totp.verify(verifyReq(userId, wrongCode(secret, f.clock.now())))
    const e = await totp.enroll({ userId, accountName: 'alice' })
    for (let i = 0; i < 10; i++) {
      await totp.confirm({ userId, enrollmentId: e.enrollmentId, code: wrongCode(e.secret, f.clock.now()) })
      if (i < 9) waitOutThrottle(f, userId, 'confirmLimiter')
    }
    await t.rejects(totp.confirm({ userId, enrollmentId: e.enrollmentId, code: codeAt(e.secret, f.clock.now()) }), { code: 'FACTOR_LOCKED', retryAfterSec: 900 })
    t.equal(await f.limiter.lockedUntil(userId), undefined, 'sign-in is not locked by failed confirmations')
    t.equal(f.limiter.state.get(userId)?.consecutive, 3, 'nor are they counted as sign-in failures')
    f.clock.advance(15 * 60_000)
    const e2 = await totp.enroll({ userId, accountName: 'alice' })
    t.match(await totp.confirm({ userId, enrollmentId: e2.enrollmentId, code: codeAt(e2.secret, f.clock.now()) }), { result: 'confirmed' })
    t.match(f.limiter.state.get(userId), { count: 0, consecutive: 0 }, 'a confirmed authenticator resets the sign-in counter')
  })
})

t.test('verify', async (t) => {
  t.test('accepts T-1, T and T+1', async (t) => {
    for (const d of [-1, 0, 1]) {
      const f = fakeDeps()
      const { totp, userId, secret } = await enrolledUser(f)
      const res = await totp.verify(verifyReq(userId, codeAt(secret, f.clock.now(), d)))
      t.same(res, { result: 'verified', verifiedAt: f.clock.now().toISOString() }, `step T${d < 0 ? d : '+' + d}`)
      t.ok(verifyTotp.isResponse(res))
    }
  })

  t.test('rejects T-2 and T+2 with a clock-skew hint, counting a failure', async (t) => {
    for (const d of [-2, 2]) {
      const f = fakeDeps()
      const { totp, userId, secret } = await enrolledUser(f)
      t.same(await totp.verify(verifyReq(userId, codeAt(secret, f.clock.now(), d))), { result: 'rejected', reason: 'clock_skew', offsetSec: d * 30, attemptsLeft: 9 })
    }
  })

  t.test('a code hinted as "clock ahead" can never be used later, when its step arrives', async (t) => {
    const f = fakeDeps()
    const { totp, userId, secret } = await enrolledUser(f)
    const ahead = codeAt(secret, f.clock.now(), 5)
    t.match(await totp.verify(verifyReq(userId, ahead)), { reason: 'clock_skew', offsetSec: 150 })
    f.clock.advance(5 * 30_000)
    t.match(await totp.verify(verifyReq(userId, ahead)), { result: 'rejected', reason: 'replayed' }, 'the hinted code is burnt')
    t.match(await totp.verify(verifyReq(userId, codeAt(secret, f.clock.now(), 1))), { result: 'verified' }, 'the next step still works')
  })

  t.test('the clock-skew hint reaches ±20 steps (10 min), then it is just an invalid code', async (t) => {
    const f = fakeDeps()
    const { totp, userId, secret } = await enrolledUser(f)
    t.equal(SKEW_SEARCH_STEPS, 20)
    t.match(await totp.verify(verifyReq(userId, codeAt(secret, f.clock.now(), 20))), { reason: 'clock_skew', offsetSec: 600 })
    t.match(await totp.verify(verifyReq(userId, codeAt(secret, f.clock.now(), -13))), { reason: 'clock_skew', offsetSec: -390 })
    const far = codeAt(secret, f.clock.now(), 21)
    // A code 21 steps away can collide with one inside ±20 (1 in 25 000); only assert when it does not.
    const inRange = Array.from({ length: 41 }, (_, i) => codeAt(secret, f.clock.now(), i - 20))
    if (!inRange.includes(far)) t.match(await totp.verify(verifyReq(userId, far)), { reason: 'invalid_code' })
    t.match(await totp.verify(verifyReq(userId, wrongCode(secret, f.clock.now()))), { reason: 'invalid_code', attemptsLeft: inRange.includes(far) ? 7 : 6 })
  })

  t.test('a used step is replayed, and so is any older one', async (t) => {
    const f = fakeDeps()
    const { totp, userId, secret } = await enrolledUser(f)
    const code = codeAt(secret, f.clock.now(), 1)
    t.match(await totp.verify(verifyReq(userId, code)), { result: 'verified' })
    t.same(await totp.verify(verifyReq(userId, code)), { result: 'rejected', reason: 'replayed', attemptsLeft: 9 })
    t.same(await totp.verify(verifyReq(userId, codeAt(secret, f.clock.now(), 0))), { result: 'rejected', reason: 'replayed', attemptsLeft: 8 }, 'an older step after a newer one')
  })

  t.test('idempotency key: the recorded success stays the caller\'s; any other attempt with the code is a replay', async (t) => {
    // The replay of one key (answered from the record, counted once) is the conformance suite's.
    const f = fakeDeps()
    const { totp, userId, secret } = await enrolledUser(f)
    const code = codeAt(secret, f.clock.now())
    const first = { ...verifyReq(userId, code), idempotencyKey: 'attempt-0000000001' }
    t.match(await totp.verify(first), { result: 'verified' })
    t.match(await totp.verify(first), { result: 'verified' }, 'the same attempt again: verified, not replayed')
    t.same(await totp.verify({ ...first, idempotencyKey: 'attempt-0000000002' }), { result: 'rejected', reason: 'replayed', attemptsLeft: 9 }, 'another attempt with the code is a replay')
    t.same(await totp.verify(verifyReq(userId, code)), { result: 'rejected', reason: 'replayed', attemptsLeft: 8 }, 'and so is one without a key')
  })

  t.test('parallel requests with one code: exactly one verified; the surplus attempts lock, announced once', async (t) => {
    const f = fakeDeps()
    const { totp, userId, secret } = await enrolledUser(f)
    const code = codeAt(secret, f.clock.now())
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => totp.verify(verifyReq(userId, code))))
    const verified = results.filter((r) => r.status === 'fulfilled' && r.value.result === 'verified')
    const replayed = results.filter((r) => r.status === 'fulfilled' && r.value.result === 'rejected' && r.value.reason === 'replayed')
    const locked = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'FACTOR_LOCKED')
    t.equal(verified.length, 1, 'exactly one winner')
    t.equal(replayed.length + locked.length, 19, 'every other request is a replay or refused')
    // 20 attempts in flight exceed the 10 allowed: counted before evaluation, they lock the factor.
    t.equal(locked.length, 10)
    const lockEvents = f.events.filter((e) => e.subject === 'warden.events.v1.factor.locked')
    t.ok(lockEvents.length >= 1, 'the lock is announced')
    t.equal(new Set(lockEvents.map((e) => e.body.eventId)).size, 1, 'with one event id, so the stream keeps it once')
  })

  t.test('NOT_ENROLLED without an active factor (a pending one does not count), with no attempt counted', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    await t.rejects(totp.verify(verifyReq(userId, '123456')), { code: 'NOT_ENROLLED' })
    const e = await totp.enroll({ userId, accountName: 'alice' })
    await t.rejects(totp.verify(verifyReq(userId, codeAt(e.secret, f.clock.now()))), { code: 'NOT_ENROLLED' })
    t.equal(f.limiter.state.get(userId), undefined)
  })

  t.test('while locked, the correct code is refused before it is evaluated: no step is claimed, no failure counted', async (t) => {
    // The lock itself (when, how long, its answer and event) is the attempt gate's, tested in service-kit.
    const f = fakeDeps()
    const { totp, userId, secret } = await enrolledUser(f)
    const lastUsed = f.usedSteps.last.get(userId)
    for (let i = 1; i <= 10; i++) {
      t.match(await totp.verify(verifyReq(userId, wrongCode(secret, f.clock.now()))), { result: 'rejected', reason: 'invalid_code', attemptsLeft: 10 - i })
      waitOutThrottle(f, userId)
    }
    t.match(f.events, [{ subject: 'warden.events.v1.factor.locked', body: { userId, factor: 'totp' } }], 'the lock is announced')
    t.match(await totp.describe({ userId }), { enrolled: true, lockedUntil: /^2026-/ })
    await t.rejects(totp.verify(verifyReq(userId, codeAt(secret, f.clock.now()))), { code: 'FACTOR_LOCKED', retryAfterSec: 900 })
    t.equal(f.usedSteps.last.get(userId), lastUsed, 'nothing was claimed while locked')
    t.equal(f.limiter.state.get(userId)?.consecutive, 10, 'the refusal is not a failure')
  })

  t.test('a success resets the counter', async (t) => {
    const f = fakeDeps()
    const { totp, userId, secret } = await enrolledUser(f)
    const wrongAndWait = async (): Promise<void> => { await totp.verify(verifyReq(userId, wrongCode(secret, f.clock.now()))); waitOutThrottle(f, userId) }
    for (let i = 0; i < 9; i++) await wrongAndWait()
    t.match(await totp.verify(verifyReq(userId, codeAt(secret, f.clock.now()))), { result: 'verified' })
    for (let i = 0; i < 9; i++) await wrongAndWait()
    t.match(await totp.verify(verifyReq(userId, wrongCode(secret, f.clock.now()))), { attemptsLeft: 0 }, 'the 10th failure after the success locks, not the 1st')
  })

  t.test('a replay ledger that is down is UNAVAILABLE, never verified', async (t) => {
    const f = fakeDeps()
    const { userId, secret } = await enrolledUser(f)
    const totp = createTotpService({ ...f.deps, usedSteps: unavailableUsedSteps() })
    await t.rejects(totp.verify(verifyReq(userId, codeAt(secret, f.clock.now()))), { code: 'UNAVAILABLE' })
  })
})

t.test('remove', async (t) => {
  t.test('removes the active and pending enrollments and emits factor.removed', async (t) => {
    const f = fakeDeps()
    const { totp, userId, secret } = await enrolledUser(f)
    await totp.enroll({ userId, accountName: 'alice' })
    const factorId = f.enrollments.active.get(userId)?.factorId
    const res = await totp.remove({ userId })
    t.same(res, { removed: true })
    t.ok(removeTotp.isResponse(res))
    t.notOk(f.enrollments.active.has(userId))
    t.notOk(f.enrollments.pending.has(userId))
    t.match(f.events, [{ subject: 'warden.events.v1.factor.removed', body: { userId, factor: 'totp', itemId: factorId } }])
    await t.rejects(totp.verify(verifyReq(userId, codeAt(secret, f.clock.now()))), { code: 'NOT_ENROLLED' })
    t.same(await totp.remove({ userId }), { removed: false }, 'a second removal removes nothing')
    t.equal(f.events.length, 1)
  })

  t.test('a pending-only enrollment is removed without a factor.removed event', async (t) => {
    const f = fakeDeps()
    const totp = createTotpService(f.deps)
    const userId = uniqueUserId()
    await totp.enroll({ userId, accountName: 'alice' })
    t.same(await totp.remove({ userId }), { removed: true })
    t.same(f.events, [])
  })
})
