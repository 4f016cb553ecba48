// The sign-in transaction's guards (src/flows.ts): pure functions of (state, now), no I/O.
import t from 'tap'
import {
  assertActiveChallenge, assertOpen, assertReadable, isForward, markReset, markVerified, newFlow, pollWaitMs, recordRejection, withChallenge,
} from '../src/flows.js'

t.test('transaction guards are pure functions of (state, now) and only move forward', async (t) => {
  const now = new Date('2026-03-01T10:00:00.000Z')
  const later = (ms: number) => new Date(now.getTime() + ms)
  const flow = newFlow({ id: `txn_${'A'.repeat(43)}`, userId: 'u', clientId: 'app', purpose: 'signin', methods: ['push', 'totp'], now, ttlMs: 600_000 })
  t.equal(flow.state, 'challenge')
  t.equal(assertOpen(flow, later(599_999)), flow)
  t.throws(() => assertReadable(flow, later(600_000)), { code: 'FLOW_EXPIRED' })
  t.throws(() => assertOpen(flow, later(600_000)), { code: 'FLOW_EXPIRED' })

  const pushed = withChallenge(flow, { method: 'push', startedAt: now.toISOString(), data: { challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA' } })
  t.ok(isForward(flow, pushed))
  /** The push challenge `id` of a transaction (what the push strategy's long-poll asks). */
  const assertPushChallenge = (f: typeof flow, id: string, at: Date) => assertActiveChallenge(f, 'push', (data) => data.challengeId === id, at)
  t.equal(assertPushChallenge(pushed, 'pch_AAAAAAAAAAAAAAAAAAAAAA', now).active.method, 'push')
  t.throws(() => assertPushChallenge(pushed, 'pch_BBBBBBBBBBBBBBBBBBBBBB', now), { code: 'NOT_FOUND' })
  t.throws(() => assertPushChallenge(flow, 'pch_AAAAAAAAAAAAAAAAAAAAAA', now), { code: 'NOT_FOUND' }, 'no push started')
  t.throws(() => assertActiveChallenge(pushed, 'sms', () => true, now), { code: 'NOT_FOUND' }, 'another method is active')
  t.throws(() => assertPushChallenge(pushed, 'pch_AAAAAAAAAAAAAAAAAAAAAA', later(600_000)), { code: 'FLOW_EXPIRED' })
  t.equal(pollWaitMs(pushed, 25, now), 25_000)
  t.equal(pollWaitMs(pushed, 25, later(590_000)), 10_000, 'never past the transaction\'s end')
  t.equal(pollWaitMs(pushed, 25, later(700_000)), 0)

  const rejected = recordRejection(pushed)
  t.ok(isForward(pushed, rejected))
  t.equal(rejected.attempts, 1)
  const verified = markVerified(rejected, 'push', now)
  t.ok(isForward(rejected, verified))
  t.equal(verified.state, 'verified')
  t.notOk('active' in verified, 'the active challenge goes with the open state')
  t.throws(() => assertOpen(verified, now), { code: 'CONFLICT' })
  t.equal(assertReadable(verified, now), verified, 'a completed transaction can still be read')
  const reset = markReset(rejected, 'recovery', now)
  t.equal(reset.state, 'reset')
  t.throws(() => assertOpen(reset, now), { code: 'CONFLICT' })

  // Never backwards, never out of a terminal state, never skipping a revision, never another transaction.
  t.notOk(isForward(verified, { ...flow, rev: verified.rev + 1 }), 'verified → challenge')
  t.notOk(isForward(verified, { ...verified, rev: verified.rev + 1 }), 'verified → verified')
  t.notOk(isForward(reset, { ...verified, rev: reset.rev + 1 }), 'reset → verified')
  t.notOk(isForward(flow, { ...pushed, rev: flow.rev + 2 }), 'a skipped revision')
  t.notOk(isForward(flow, { ...pushed, id: `txn_${'B'.repeat(43)}` }), 'another transaction')
  t.notOk(isForward(flow, { ...pushed, userId: 'v' }), 'another user')
})
