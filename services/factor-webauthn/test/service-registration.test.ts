// factor-webauthn's service.ts on in-memory fakes: registration: its options, what an attestation must prove, and the first sign-in.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { uniqueUserId, type CreationOptionsJSON, type CreateOverrides } from '@warden/testkit'
import { key, setup, enroll, enrolled, signIn } from './ceremonies.js'

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
