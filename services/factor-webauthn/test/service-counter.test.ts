// factor-webauthn's service.ts on in-memory fakes: the signature counter (clone detection), the attempt budget and idempotency.
import t from 'tap'
import { DEFAULT_ATTEMPT_LIMITS } from '@warden/service-kit'
import { uniqueUserId, type RequestOptionsJSON } from '@warden/testkit'
import { flowId, key, setup, enrolled, signIn } from './ceremonies.js'

t.test('the signature counter', async (t) => {
  t.test('a counter that does not increase flags a possible clone, refuses, and emits an event', async (t) => {
    const { svc, events, credentials } = setup()
    const user = uniqueUserId()
    const original = key()
    const cred = await enrolled(svc, user, original)
    const copy = original.clone()
    t.match((await signIn(svc, user, original)).result, { result: 'verified' })
    t.match((await signIn(svc, user, original)).result, { result: 'verified' })
    // The copy's next signature carries counter 1: lower than the 2 already seen.
    t.match((await signIn(svc, user, copy)).result, { result: 'rejected', reason: 'suspected_clone' })
    t.match(events.at(-1), { subject: 'warden.events.v1.credential.flagged', body: { userId: user, factor: 'webauthn', itemId: cred.id, reason: 'counter_regression', storedCounter: 2, reportedCounter: 1 } })
    const stored = credentials.records.get(user)?.get(cred.id)?.value
    t.equal(stored?.suspectedCloneAt, '2026-03-01T12:00:00.000Z')
    t.equal(stored?.counter, 2, 'the stored counter never goes down')
    t.match((await svc.list({ userId: user })).credentials, [{ id: cred.id, suspectedClone: true }])
    // The flagged key no longer signs in, even with a higher counter; it is not offered either.
    await t.rejects(svc.options({ userId: user, flowId: flowId() }), { code: 'NOT_ENROLLED' })
    await enrolled(svc, user, key())
    const flow = flowId()
    const { options } = await svc.options({ userId: user, flowId: flow })
    t.equal((options as RequestOptionsJSON).allowCredentials?.length, 1)
    const response = original.get({ ...(options as RequestOptionsJSON), allowCredentials: [] }, { credentialId: cred.credentialId })
    t.match(await svc.verify({ userId: user, flowId: flow, response }), { result: 'rejected', reason: 'suspected_clone' })
    t.same((await svc.remove({ userId: user, id: cred.id })).removed, true, 'removing it is how the user gets rid of it')
  })

  t.test('an equal non-zero counter is a regression; a counter from 0 to n is not', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    t.match((await signIn(svc, user, auth, { counter: 5 })).result, { result: 'verified' })
    t.match((await signIn(svc, user, auth, { counter: 5 })).result, { result: 'rejected', reason: 'suspected_clone' })
  })

  t.test('a counter that drops to 0 after being non-zero is a regression', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    t.match((await signIn(svc, user, auth)).result, { result: 'verified' })
    t.match((await signIn(svc, user, auth, { counter: 0 })).result, { result: 'rejected', reason: 'suspected_clone' })
  })

  t.test('parallel assertions leave the highest counter stored', async (t) => {
    const { svc, credentials } = setup()
    const user = uniqueUserId()
    const auth = key()
    const cred = await enrolled(svc, user, auth)
    const prepared = []
    for (let i = 0; i < 6; i++) {
      const flow = flowId()
      const { options } = await svc.options({ userId: user, flowId: flow })
      prepared.push({ flow, response: auth.get(options as RequestOptionsJSON) }) // counters 1..6, in order
    }
    const results = await Promise.all(prepared.reverse().map((p) => svc.verify({ userId: user, flowId: p.flow, response: p.response })))
    t.equal(credentials.records.get(user)?.get(cred.id)?.value.counter, 6)
    t.match(results[0], { result: 'verified' }, 'the highest counter is accepted')
    t.ok(results.every((r) => r.result === 'verified' || r.reason === 'invalid_assertion' || r.reason === 'suspected_clone'))
  })
})

t.test('attempt budget and idempotency', async (t) => {
  t.test('failures count per user, lock the factor, and even a valid assertion is refused while locked', async (t) => {
    const limits = { ...DEFAULT_ATTEMPT_LIMITS, maxFailures: 3, freeFailures: 5 }
    const { svc, events, clock } = setup({ limits })
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    t.match((await signIn(svc, user, auth, { tamper: 'signature' })).result, { attemptsLeft: 2 })
    t.match((await signIn(svc, user, auth, { tamper: 'signature' })).result, { attemptsLeft: 1 })
    t.match((await signIn(svc, user, auth, { tamper: 'signature' })).result, { attemptsLeft: 0 })
    t.match(events.at(-1), { subject: 'warden.events.v1.factor.locked', body: { userId: user, factor: 'webauthn', eventId: /^evt_/ } })
    await t.rejects(signIn(svc, user, auth), { code: 'FACTOR_LOCKED', retryAfterSec: 900 })
    t.match(await svc.describe({ userId: user }), { lockedUntil: '2026-03-01T12:15:00.000Z' })
    clock.advance(limits.lockMs)
    t.match((await signIn(svc, user, auth)).result, { result: 'verified' })
  })

  t.test('a retry with the same idempotency key gets the first outcome', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    const flow = flowId()
    const { options } = await svc.options({ userId: user, flowId: flow })
    const response = auth.get(options as RequestOptionsJSON)
    const req = { userId: user, flowId: flow, response, idempotencyKey: 'k'.repeat(22) }
    const first = await svc.verify(req)
    t.match(first, { result: 'verified' })
    t.same(await svc.verify(req), first, 'answered from the record, not a second evaluation')
    await t.rejects(svc.verify({ ...req, flowId: flowId() }), { code: 'CONFLICT' })
  })
})
