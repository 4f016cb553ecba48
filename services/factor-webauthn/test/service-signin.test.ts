// factor-webauthn's service.ts on in-memory fakes: sign-in: challenges, and what an assertion must prove.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { DEFAULT_ATTEMPT_LIMITS } from '@warden/service-kit'
import { uniqueUserId, type RequestOptionsJSON } from '@warden/testkit'
import { createWebauthnService } from '../src/service.js'
import { ORIGIN, unavailableChallenges } from './fakes.js'
import { flowId, key, setup, enrolled, signIn } from './ceremonies.js'

t.test('sign-in challenges', async (t) => {
  t.test('options: 32 random bytes, the user\'s usable keys, bound to the transaction', async (t) => {
    const { svc, challenges } = setup()
    const user = uniqueUserId()
    const a = await enrolled(svc, user, key())
    const flow = flowId()
    const { options, expiresAt } = await svc.options({ userId: user, flowId: flow })
    const o = options as RequestOptionsJSON & { timeout: number }
    t.equal(Buffer.from(o.challenge, 'base64url').length, 32)
    t.same(o.allowCredentials?.map((c) => c.id), [a.credentialId])
    t.equal(o.rpId, 'localhost')
    t.equal(o.userVerification, 'preferred')
    t.equal(o.timeout, 300_000)
    t.equal(expiresAt, '2026-03-01T12:05:00.000Z')
    t.ok(challenges.slots.has(`${user}/txn/${flow}`))
    const second = await svc.options({ userId: user, flowId: flow })
    t.not((second.options as RequestOptionsJSON).challenge, o.challenge, 'a fresh challenge each time')
    await t.rejects(svc.options({ userId: uniqueUserId(), flowId: flow }), { code: 'NOT_ENROLLED' })
  })

  t.test('a replayed assertion is refused: the challenge went with the first use', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    const { flow, response, result } = await signIn(svc, user, auth)
    t.match(result, { result: 'verified' })
    t.same(await svc.verify({ userId: user, flowId: flow, response }), { result: 'rejected', reason: 'no_challenge' })
    t.same(await svc.verify({ userId: user, flowId: flow, response: auth.replay() }), { result: 'rejected', reason: 'no_challenge' })
  })

  t.test('the challenge is consumed by a failed attempt too', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    const flow = flowId()
    const { options } = await svc.options({ userId: user, flowId: flow })
    const bad = auth.get(options as RequestOptionsJSON, { tamper: 'signature' })
    t.match(await svc.verify({ userId: user, flowId: flow, response: bad }), { result: 'rejected', reason: 'invalid_assertion' })
    const good = auth.get(options as RequestOptionsJSON)
    t.same(await svc.verify({ userId: user, flowId: flow, response: good }), { result: 'rejected', reason: 'no_challenge' })
  })

  t.test('an expired challenge is refused', async (t) => {
    const { svc, clock } = setup()
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    const flow = flowId()
    const { options } = await svc.options({ userId: user, flowId: flow })
    clock.advance(299_999)
    const early = flowId()
    const { options: o2 } = await svc.options({ userId: user, flowId: early })
    clock.advance(1)
    t.same(await svc.verify({ userId: user, flowId: flow, response: auth.get(options as RequestOptionsJSON) }), { result: 'rejected', reason: 'expired' })
    t.match(await svc.verify({ userId: user, flowId: early, response: auth.get(o2 as RequestOptionsJSON) }), { result: 'verified' }, 'one issued later still works')
  })

  t.test('a challenge from another transaction is refused', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    const a = flowId()
    const { options } = await svc.options({ userId: user, flowId: a })
    const forA = auth.get(options as RequestOptionsJSON)
    t.same(await svc.verify({ userId: user, flowId: flowId(), response: forA }), { result: 'rejected', reason: 'no_challenge' }, 'a transaction without a challenge')
    const b = flowId()
    await svc.options({ userId: user, flowId: b })
    t.match(await svc.verify({ userId: user, flowId: b, response: forA }), { result: 'rejected', reason: 'invalid_assertion' }, 'a transaction with a challenge of its own')
    t.match(await svc.verify({ userId: user, flowId: a, response: forA }), { result: 'verified' }, 'its own transaction still takes it')
  })

  t.test('an unenrolled user is NOT_ENROLLED; a down challenge store is UNAVAILABLE', async (t) => {
    const { svc, deps } = setup()
    await t.rejects(svc.verify({ userId: uniqueUserId(), flowId: flowId(), response: {} }), { code: 'NOT_ENROLLED' })
    const down = createWebauthnService({ ...deps, challenges: unavailableChallenges() })
    const user = uniqueUserId()
    await enrolled(svc, user, key())
    await t.rejects(down.options({ userId: user, flowId: flowId() }), { code: 'UNAVAILABLE' })
    await t.rejects(down.verify({ userId: user, flowId: flowId(), response: {} }), { code: 'UNAVAILABLE' })
  })
})

t.test('what an assertion must prove', async (t) => {
  t.test('the exact origin: look-alike suffixes, http vs https, ports, and a wrong RP ID are refused', async (t) => {
    const prod = { rpId: 'example.com', origins: ['https://login.example.com', 'https://example.com'] }
    const { svc } = setup({ rp: prod, limits: { ...DEFAULT_ATTEMPT_LIMITS, freeFailures: 20, maxFailures: 50 } })
    const user = uniqueUserId()
    const auth = key({ origin: 'https://login.example.com' })
    await enrolled(svc, user, auth)
    const wrong = [
      'https://login.example.com.evil.test',
      'https://evil-login.example.com',
      'https://evillogin.example.com',
      'https://example.com.evil.test',
      'http://login.example.com',
      'https://login.example.com:443',
      'https://login.example.com:8443',
      'https://LOGIN.example.com',
      'https://login.example.com/',
      'null',
    ]
    for (const origin of wrong) {
      t.match((await signIn(svc, user, auth, { origin })).result, { result: 'rejected', reason: 'invalid_assertion' }, origin)
    }
    for (const rpId of ['evil.test', 'login.example.com', 'example.co', 'com']) {
      t.match((await signIn(svc, user, auth, { rpId })).result, { result: 'rejected', reason: 'invalid_assertion' }, `RP ID ${rpId}`)
    }
    t.match((await signIn(svc, user, auth, { origin: 'https://example.com' })).result, { result: 'verified' }, 'every listed origin works')
    t.match((await signIn(svc, user, auth)).result, { result: 'verified' })
  })

  t.test('webauthn.create at sign-in, cross-origin and a top origin are refused', async (t) => {
    const { svc } = setup({ limits: { ...DEFAULT_ATTEMPT_LIMITS, freeFailures: 10 } })
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    t.match((await signIn(svc, user, auth, { type: 'webauthn.create' })).result, { reason: 'invalid_assertion' })
    t.match((await signIn(svc, user, auth, { type: 'payment.get' })).result, { reason: 'invalid_assertion' })
    t.match((await signIn(svc, user, auth, { crossOrigin: true })).result, { reason: 'invalid_assertion' })
    t.match((await signIn(svc, user, auth, { crossOrigin: true, topOrigin: ORIGIN })).result, { reason: 'invalid_assertion' })
    t.match((await signIn(svc, user, auth, { topOrigin: 'https://evil.test' })).result, { reason: 'invalid_assertion' })
    t.match((await signIn(svc, user, auth, { up: false })).result, { reason: 'invalid_assertion' }, 'no user presence')
  })

  t.test('UV is required when asked: by the step-up, or by the policy', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const noUv = key({ userVerification: false })
    await enrolled(svc, user, noUv)
    t.match((await signIn(svc, user, noUv)).result, { result: 'verified', userVerified: false }, 'preferred: passes without UV')
    const asked = await signIn(svc, user, noUv, {}, { userVerification: 'required' })
    t.match(asked.result, { result: 'rejected', reason: 'user_verification_required' })
    t.match((await signIn(svc, user, noUv, { uv: true }, { userVerification: 'required' })).result, { result: 'verified', userVerified: true })

    const strict = setup({ userVerification: 'required' })
    const other = uniqueUserId()
    const auth = key()
    await enrolled(strict.svc, other, auth)
    const { options } = await strict.svc.options({ userId: other, flowId: flowId() })
    t.equal((options as RequestOptionsJSON).userVerification, 'required')
    t.match((await signIn(strict.svc, other, auth, { uv: false })).result, { result: 'rejected', reason: 'user_verification_required' })
    t.match((await signIn(strict.svc, other, auth, { uv: false }, { userVerification: 'preferred' })).result, { reason: 'user_verification_required' }, 'a caller cannot lower the policy')
  })

  t.test('another user\'s credential is refused', async (t) => {
    const { svc } = setup()
    const alice = uniqueUserId()
    const bob = uniqueUserId()
    const aliceKey = key()
    const bobKey = key()
    await enrolled(svc, alice, aliceKey)
    await enrolled(svc, bob, bobKey)
    const flow = flowId()
    const { options } = await svc.options({ userId: alice, flowId: flow })
    // Bob's authenticator answers Alice's challenge with Bob's (valid, registered) key.
    const response = bobKey.get({ ...(options as RequestOptionsJSON), allowCredentials: [] }, { credentialId: bobKey.credentialIds()[0] ?? '' })
    t.match(await svc.verify({ userId: alice, flowId: flow, response }), { result: 'rejected', reason: 'unknown_credential' })
    const made = randomBytes(32).toString('base64url')
    t.match((await signIn(svc, alice, aliceKey, {})).result, { result: 'verified' })
    const f2 = flowId()
    const { options: o2 } = await svc.options({ userId: alice, flowId: f2 })
    const forged = { ...aliceKey.get(o2 as RequestOptionsJSON), id: made, rawId: made }
    t.match(await svc.verify({ userId: alice, flowId: f2, response: forged }), { result: 'rejected', reason: 'unknown_credential' }, 'a made-up id')
  })

  t.test('a userHandle that is not the user\'s is refused', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const passkey = key({ kind: 'passkey' })
    await enrolled(svc, user, passkey)
    t.match((await signIn(svc, user, passkey, { userHandle: randomBytes(32).toString('base64url') })).result, { reason: 'invalid_assertion' })
    t.match((await signIn(svc, user, passkey, { userHandle: null })).result, { result: 'verified' }, 'an absent handle is fine')
  })

  t.test('tampered authenticatorData, clientDataJSON or signature is refused and changes nothing', async (t) => {
    const { svc, credentials } = setup()
    const user = uniqueUserId()
    const auth = key()
    const cred = await enrolled(svc, user, auth)
    for (const tamper of ['authenticatorData', 'clientDataJSON', 'signature'] as const) {
      const { result } = await signIn(svc, user, auth, { tamper })
      t.match(result, { result: 'rejected', reason: 'invalid_assertion', attemptsLeft: Number }, tamper)
    }
    const stored = credentials.records.get(user)?.get(cred.id)?.value
    t.equal(stored?.counter, 0, 'the counter did not move')
    t.equal(stored?.suspectedCloneAt, undefined, 'a forged assertion cannot flag a key')
    t.equal(stored?.lastUsedAt, undefined)
  })

  t.test('malformed assertions are refused, never thrown', async (t) => {
    const { svc } = setup({ limits: { ...DEFAULT_ATTEMPT_LIMITS, freeFailures: 20, maxFailures: 50 } })
    const user = uniqueUserId()
    const auth = key()
    const cred = await enrolled(svc, user, auth)
    const id = cred.credentialId
    const junk: object[] = [
      {},
      { id, rawId: id },
      { id, rawId: id, type: 'public-key', response: null },
      { id, rawId: id, type: 'public-key', response: { clientDataJSON: 'not base64!', authenticatorData: 'AA', signature: 'AA' } },
      { id, rawId: id, type: 'public-key', response: { clientDataJSON: Buffer.from('[1]').toString('base64url'), authenticatorData: 'AA', signature: 'AA' } },
      { id, rawId: 'other', type: 'public-key', response: {} },
      { id: 'x'.repeat(1400), rawId: 'x'.repeat(1400), type: 'public-key', response: {} },
      { id, rawId: id, type: 'secret', response: {} },
    ]
    for (const response of junk) {
      const flow = flowId()
      await svc.options({ userId: user, flowId: flow })
      t.match(await svc.verify({ userId: user, flowId: flow, response }), { result: 'rejected' }, JSON.stringify(response).slice(0, 80))
    }
    const flow = flowId()
    const { options } = await svc.options({ userId: user, flowId: flow })
    const real = auth.get(options as RequestOptionsJSON)
    const short = { ...real, response: { ...real.response, authenticatorData: real.response.authenticatorData.slice(0, 20) } }
    t.match(await svc.verify({ userId: user, flowId: flow, response: short }), { result: 'rejected', reason: 'invalid_assertion' }, 'truncated authenticator data')
  })

  t.test('a device-bound key that turns up backup-eligible is refused (BE never changes)', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const auth = key()
    await enrolled(svc, user, auth)
    t.match((await signIn(svc, user, auth, { be: true, bs: false })).result, { result: 'rejected', reason: 'invalid_assertion' })
    t.match((await signIn(svc, user, auth, { be: false, bs: true })).result, { result: 'rejected', reason: 'invalid_assertion' }, 'BS without BE')
    t.match((await signIn(svc, user, auth)).result, { result: 'verified' })
  })

  t.test('the backup state (BS) of a passkey is stored as reported', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const passkey = key({ kind: 'passkey' })
    const cred = await enrolled(svc, user, passkey)
    await signIn(svc, user, passkey, { bs: false })
    t.match((await svc.list({ userId: user })).credentials, [{ id: cred.id, synced: true, backedUp: false }])
  })
})
