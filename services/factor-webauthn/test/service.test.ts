import { randomBytes } from 'node:crypto'
import { DEFAULT_ATTEMPT_LIMITS } from '@warden/service-kit'
import { uniqueUserId } from '@warden/testkit'
import {
  createSoftAuthenticator, type CreateOverrides, type CreationOptionsJSON, type GetOverrides, type RequestOptionsJSON,
  type SoftAuthenticator, type SoftAuthenticatorOptions,
} from '@warden/testkit'
import t from 'tap'
import { createWebauthnService, type WebauthnService } from '../src/service.js'
import type { WebauthnOptionsRequest as OptionsRequest } from '@warden/contracts'
import { fakeDeps, ORIGIN, unavailableChallenges, type FakeOptions } from './fakes.js'

const flowId = (): string => `txn_${randomBytes(32).toString('base64url')}`
const key = (o: Partial<SoftAuthenticatorOptions> = {}): SoftAuthenticator => createSoftAuthenticator({ origin: ORIGIN, ...o })

function setup (opts: FakeOptions = {}) {
  const f = fakeDeps(opts)
  return { ...f, svc: createWebauthnService(f.deps) }
}

async function enroll (svc: WebauthnService, userId: string, auth: SoftAuthenticator, o: CreateOverrides = {}, name = 'YubiKey 5') {
  const { options } = await svc.enroll({ userId })
  return svc.confirm({ userId, name, response: auth.create(options as CreationOptionsJSON, o) })
}

async function enrolled (svc: WebauthnService, userId: string, auth: SoftAuthenticator) {
  const res = await enroll(svc, userId, auth)
  if (res.result !== 'registered') throw new Error(`registration failed: ${res.reason}`)
  return res.credential
}

async function signIn (svc: WebauthnService, userId: string, auth: SoftAuthenticator, o: GetOverrides = {}, req: Partial<OptionsRequest> = {}) {
  const flow = flowId()
  const { options } = await svc.options({ userId, flowId: flow, ...req })
  const response = auth.get(options as RequestOptionsJSON, o)
  return { flow, response, result: await svc.verify({ userId, flowId: flow, response }) }
}

t.test('register, then sign in', async (t) => {
  t.test('a security key: device-bound, amr hwk, counter stored', async (t) => {
    const { svc, events } = setup()
    const user = uniqueUserId()
    const auth = key()
    const cred = await enrolled(svc, user, auth)
    t.match(cred, { id: /^wak_[A-Za-z0-9_-]{43}$/, credentialId: auth.credentialIds()[0], name: 'YubiKey 5', synced: false, backedUp: false, transports: ['usb'] })
    t.same(events, [{ subject: 'warden.events.v1.factor.enrolled', body: { userId: user, factor: 'webauthn', itemId: cred.id } }])
    const { result } = await signIn(svc, user, auth)
    t.match(result, { result: 'verified', id: cred.id, credentialId: cred.credentialId, userVerified: true, amr: 'hwk' })
    const listed = await svc.list({ userId: user })
    t.equal(listed.rpId, 'localhost')
    t.match(listed.userHandle, /^[A-Za-z0-9_-]{43}$/)
    t.match(listed.credentials[0], { lastUsedAt: '2026-03-01T12:00:00.000Z' })
    const { result: again } = await signIn(svc, user, auth)
    t.match(again, { result: 'verified' }, 'a second sign-in with a higher counter')
  })

  t.test('a synced passkey: amr swk; 0 with 0 passes every time', async (t) => {
    const { svc, credentials } = setup()
    const user = uniqueUserId()
    const passkey = key({ kind: 'passkey' })
    const cred = await enrolled(svc, user, passkey)
    t.match(cred, { synced: true, backedUp: true })
    for (let i = 0; i < 3; i++) {
      const { result } = await signIn(svc, user, passkey)
      t.match(result, { result: 'verified', amr: 'swk' })
    }
    t.equal(credentials.records.get(user)?.get(cred.id)?.value.counter, 0)
  })

  t.test('describe shows the keys by name; list, rename and remove', async (t) => {
    const { svc, events, credentials } = setup()
    const user = uniqueUserId()
    t.same(await svc.describe({ userId: user }), { factor: 'webauthn', enrolled: false, items: [] })
    const a = await enrolled(svc, user, key())
    const b = await enrolled(svc, user, key({ kind: 'passkey' }))
    t.match(await svc.describe({ userId: user }), { factor: 'webauthn', enrolled: true, items: [{ id: a.id, label: 'YubiKey 5' }, { id: b.id }] })
    t.match(await svc.rename({ userId: user, id: a.id, name: '  Office key ' }), { credential: { id: a.id, name: 'Office key' } })
    await t.rejects(svc.rename({ userId: user, id: a.id, name: '   ' }), { code: 'BAD_REQUEST' })
    await t.rejects(svc.rename({ userId: user, id: a.id, name: 'x'.repeat(65) }), { code: 'BAD_REQUEST' })
    await t.rejects(svc.rename({ userId: user, id: a.id, name: 'new\nline' }), { code: 'BAD_REQUEST' })
    await t.rejects(svc.rename({ userId: uniqueUserId(), id: a.id, name: 'mine now' }), { code: 'NOT_FOUND' }, 'another user cannot rename it')
    await t.rejects(svc.remove({ userId: uniqueUserId(), id: a.id }), { code: 'NOT_FOUND' }, 'nor remove it')
    t.same(await svc.remove({ userId: user, id: a.id }), { removed: true, credentialId: a.credentialId })
    t.match(events.at(-1), { subject: 'warden.events.v1.factor.removed', body: { userId: user, factor: 'webauthn', itemId: a.id } })
    await t.rejects(svc.remove({ userId: user, id: a.id }), { code: 'NOT_FOUND' })
    t.notOk(credentials.index.has(a.id), 'its id is free again')
    t.match((await svc.list({ userId: user })).credentials, [{ id: b.id }])
  })

  t.test('user.reset forgets every key, the user handle and the attempt counter', async (t) => {
    const { svc, credentials, limiter, challenges } = setup()
    const user = uniqueUserId()
    const cred = await enrolled(svc, user, key())
    await svc.enroll({ userId: user })
    await signIn(svc, user, key(), { credentialId: cred.credentialId, tamper: 'signature' }).catch(() => undefined)
    await svc.reset(user)
    await svc.reset(user)
    t.same(await svc.describe({ userId: user }), { factor: 'webauthn', enrolled: false, items: [] })
    t.notOk(credentials.index.has(cred.id))
    t.notOk(credentials.handles.has(user))
    t.notOk(limiter.state.has(user))
    t.notOk([...challenges.slots.keys()].some((k) => k.startsWith(`${user}/registration`)))
  })
})

t.test('registration options and checks', async (t) => {
  t.test('options: 32-byte challenge, excludeCredentials, residentKey preferred, none attestation, 300 s', async (t) => {
    const { svc, challenges } = setup()
    const user = uniqueUserId()
    const first = await enrolled(svc, user, key())
    const { options, expiresAt } = await svc.enroll({ userId: user, userName: 'alice@example.com' })
    const o = options as CreationOptionsJSON & { challenge: string, timeout: number, attestation: string, pubKeyCredParams: Array<{ alg: number }> }
    t.equal(Buffer.from(o.challenge, 'base64url').length, 32)
    t.same(o.excludeCredentials?.map((c) => c.id), [first.credentialId])
    t.match(o.authenticatorSelection, { residentKey: 'preferred', userVerification: 'preferred' })
    t.equal(o.attestation, 'none')
    t.equal(o.timeout, 300_000)
    t.match(o.rp, { id: 'localhost', name: 'Warden test' })
    t.equal(o.user.name, 'alice@example.com')
    t.not(Buffer.from(o.user.id, 'base64url').toString('utf8'), user, 'the user handle is not the user id')
    t.same(o.pubKeyCredParams.map((p) => p.alg), [-8, -7, -257])
    t.equal(expiresAt, '2026-03-01T12:05:00.000Z')
    t.equal([...challenges.slots.values()].at(-1)?.ttlMs, 300_000)
  })

  t.test('the registration challenge is single use, expires, and must be asked for', async (t) => {
    const { svc, clock } = setup()
    const user = uniqueUserId()
    t.same(await svc.confirm({ userId: user, name: 'k', response: key().create({ challenge: 'AAAA', rp: { id: 'localhost', name: 'x' }, user: { id: 'AAAA', name: 'a', displayName: '' } }) }), { result: 'rejected', reason: 'no_challenge' })
    const { options } = await svc.enroll({ userId: user })
    const auth = key()
    const bad = auth.create(options as CreationOptionsJSON, { origin: 'http://localhost:9999' })
    t.same(await svc.confirm({ userId: user, name: 'k', response: bad }), { result: 'rejected', reason: 'invalid_response' })
    const good = key().create(options as CreationOptionsJSON)
    t.same(await svc.confirm({ userId: user, name: 'k', response: good }), { result: 'rejected', reason: 'no_challenge' }, 'spent by the failed attempt')
    const late = await svc.enroll({ userId: user })
    clock.advance(300_000)
    t.same(await svc.confirm({ userId: user, name: 'k', response: key().create(late.options as CreationOptionsJSON) }), { result: 'rejected', reason: 'expired' })
  })

  t.test('a credential id registered to anyone is refused, racing or not', async (t) => {
    const { svc, credentials } = setup()
    const alice = uniqueUserId()
    const bob = uniqueUserId()
    const id = randomBytes(32)
    await enrolled(svc, alice, key())
    const taken = await enroll(svc, alice, key(), { credentialId: id })
    t.equal(taken.result, 'registered')
    t.same(await enroll(svc, bob, key(), { credentialId: id }), { result: 'rejected', reason: 'already_registered' }, 'another user')
    t.same(await enroll(svc, alice, key(), { credentialId: id }), { result: 'rejected', reason: 'already_registered' }, 'the same user again')
    // Two users registering one new id at the same moment: the index has one winner.
    const racing = randomBytes(32)
    const [x, y] = [uniqueUserId(), uniqueUserId()]
    const [ox, oy] = await Promise.all([svc.enroll({ userId: x }), svc.enroll({ userId: y })])
    const results = await Promise.all([
      svc.confirm({ userId: x, name: 'k', response: key().create(ox.options as CreationOptionsJSON, { credentialId: racing }) }),
      svc.confirm({ userId: y, name: 'k', response: key().create(oy.options as CreationOptionsJSON, { credentialId: racing }) }),
    ])
    t.same(results.map((r) => r.result).sort(), ['registered', 'rejected'])
    const owners = [x, y].filter((u) => (credentials.records.get(u)?.size ?? 0) > 0)
    t.equal(owners.length, 1, 'exactly one user holds it')
  })

  t.test('a credential id over 1023 bytes is refused; 1023 is accepted', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    t.same(await enroll(svc, user, key(), { credentialId: new Uint8Array(1024).fill(3) }), { result: 'rejected', reason: 'invalid_response' })
    t.match(await enroll(svc, user, key(), { credentialId: randomBytes(1023) }), { result: 'registered' })
  })

  t.test('the answer must be the authenticator\'s: reported id, type, origin, RP ID, cross-origin', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const cases: Array<[string, CreateOverrides]> = [
      ['reported id differs from the authenticator data', { reportedId: randomBytes(32).toString('base64url') }],
      ['webauthn.get at registration', { type: 'webauthn.get' }],
      ['another origin', { origin: 'http://localhost:8080.evil.test' }],
      ['https instead of http', { origin: 'https://localhost:8080' }],
      ['another RP ID', { rpId: 'evil.test' }],
      ['cross-origin iframe', { crossOrigin: true }],
      ['a top origin', { topOrigin: 'https://evil.test' }],
      ['another challenge', { challenge: randomBytes(32).toString('base64url') }],
      ['no user presence', { up: false }],
      ['backed up but not backup-eligible', { be: false, bs: true }],
    ]
    for (const [what, o] of cases) t.same(await enroll(svc, user, key(), o), { result: 'rejected', reason: 'invalid_response' }, what)
    for (const junk of [{}, { id: 'x', rawId: 'x', type: 'public-key', response: {} }, { id: 'x', rawId: 'y', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } }]) {
      await svc.enroll({ userId: user })
      t.same(await svc.confirm({ userId: user, name: 'k', response: junk }), { result: 'rejected', reason: 'invalid_response' }, `junk ${JSON.stringify(junk)}`)
    }
    t.same((await svc.list({ userId: user })).credentials, [], 'nothing was stored')
  })

  t.test('UV is required at registration when the policy or the caller asks', async (t) => {
    const strict = setup({ userVerification: 'required' })
    const user = uniqueUserId()
    t.same(await enroll(strict.svc, user, key({ userVerification: false })), { result: 'rejected', reason: 'user_verification_required' })
    t.match(await enroll(strict.svc, user, key()), { result: 'registered' })
    const lax = setup()
    t.match(await enroll(lax.svc, user, key({ userVerification: false })), { result: 'registered' }, 'preferred: a key without UV is fine')
    const { options } = await lax.svc.enroll({ userId: user, userVerification: 'required' })
    t.same(await lax.svc.confirm({ userId: user, name: 'k', response: key({ userVerification: false }).create(options as CreationOptionsJSON) }), { result: 'rejected', reason: 'user_verification_required' })
  })

  t.test('the direct attestation policy refuses none attestation', async (t) => {
    const { svc } = setup({ attestation: { conveyance: 'direct' } })
    const user = uniqueUserId()
    const { options } = await svc.enroll({ userId: user })
    t.equal((options as { attestation: string }).attestation, 'direct')
    t.same(await svc.confirm({ userId: user, name: 'k', response: key().create(options as CreationOptionsJSON) }), { result: 'rejected', reason: 'attestation_refused' })
  })

  t.test('at most maxCredentials keys', async (t) => {
    const { svc } = setup({ maxCredentials: 2 })
    const user = uniqueUserId()
    await enrolled(svc, user, key())
    await enrolled(svc, user, key())
    await t.rejects(svc.enroll({ userId: user }), { code: 'LIMIT_REACHED' })
    await svc.remove({ userId: user, id: (await svc.list({ userId: user })).credentials[0]?.id ?? '' })
    t.ok(await svc.enroll({ userId: user }), 'room again after a removal')
  })

  t.test('a bad name is refused before the challenge is spent', async (t) => {
    const { svc } = setup()
    const user = uniqueUserId()
    const { options } = await svc.enroll({ userId: user })
    const response = key().create(options as CreationOptionsJSON)
    await t.rejects(svc.confirm({ userId: user, name: '', response }), { code: 'BAD_REQUEST' })
    t.match(await svc.confirm({ userId: user, name: 'Key', response }), { result: 'registered' })
  })
})

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
