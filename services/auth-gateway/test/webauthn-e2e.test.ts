// End to end: security keys and passkeys through the REST API, with the gateway and the real
// factor-webauthn (the built service, as its own process) over real NATS and Redis. The browser
// is the testkit's software authenticator, so every misbehaviour can be asked for. The other
// factors are fakes on the bus. Challenge expiry (which needs a moved clock) is proven in
// factor-webauthn's own tests.
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose'
import { createSoftAuthenticator, startInfra, startServiceProcess, type CreationOptionsJSON, type GetOverrides, type RequestOptionsJSON, type SoftAuthenticator } from '@warden/testkit'
import { createKvStoreFactory } from '@warden/store'
import t from 'tap'
import { expectCleanLogs, expectError, startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startFakeFactors, startFakeTotp } from './fixtures/fake-factors.js'

const ORIGIN = 'https://login.example.com'
const infra = await startInfra(t)
const gw = await startGateway(t, { infra })
await startFakeTotp(t, gw.nc)
await startFakeFactors(t, gw.nc, ['push', 'sms', 'recovery'])
const webauthnService = await startServiceProcess(t, 'factor-webauthn', {
  NATS_URL: infra.nats.url,
  REDIS_URL: infra.redis.url,
  WEBAUTHN_RP_ID: 'example.com',
  WEBAUTHN_ORIGINS: `${ORIGIN},https://example.com`,
  // Room for the many refusals below before the factor locks (the lock itself is in the conformance suite).
  WEBAUTHN_MAX_FAILURES: '100',
  WEBAUTHN_FREE_FAILURES: '100',
  WEBAUTHN_SUSPEND_AFTER: '100',
})

const key = (o: { kind?: 'security-key' | 'passkey', userVerification?: boolean } = {}): SoftAuthenticator => createSoftAuthenticator({ origin: ORIGIN, ...o })
const assertions: string[] = []

interface User { username: string, token: string, mfa?: string }

async function newUser (): Promise<User> {
  const username = uniqueUsername('wa')
  const token = await gw.login(username)
  gw.issued.push(token)
  return { username, token }
}

const mfaHeader = (u: User): Record<string, string> => (u.mfa === undefined ? {} : { 'x-mfa-token': u.mfa })

/** POST /v1/me/webauthn/options, then the authenticator, then POST /v1/me/webauthn. */
async function register (u: User, auth: SoftAuthenticator, o: Parameters<SoftAuthenticator['create']>[1] = {}, name = 'YubiKey 5') {
  const opt = await gw.call('POST', '/v1/me/webauthn/options', { token: u.token, headers: mfaHeader(u) })
  if (opt.statusCode !== 200) throw new Error(`options: ${opt.statusCode} ${opt.body}`)
  const { options } = opt.json() as { options: CreationOptionsJSON }
  return gw.call('POST', '/v1/me/webauthn', { token: u.token, headers: mfaHeader(u), body: { response: auth.create(options, o), name } })
}

/** A sign-in transaction with the webauthn challenge started: its id and the request options. */
async function challenge (u: User, body: Record<string, unknown> = {}) {
  const start = await gw.call('POST', '/v1/signin', { token: u.token, body })
  const { transactionId: id } = start.json() as { transactionId: string }
  const c = await gw.call('POST', `/v1/signin/${id}/challenge`, { token: u.token, body: { method: 'webauthn' } })
  if (c.statusCode !== 200) throw new Error(`challenge: ${c.statusCode} ${c.body}`)
  return { id, options: (c.json() as { options: RequestOptionsJSON }).options }
}

async function verify (u: User, id: string, response: object) {
  assertions.push(JSON.stringify(response))
  return gw.call('POST', `/v1/signin/${id}/verify`, { token: u.token, body: { method: 'webauthn', response } })
}

async function signIn (u: User, auth: SoftAuthenticator, o: GetOverrides = {}, body: Record<string, unknown> = {}) {
  const { id, options } = await challenge(u, body)
  return verify(u, id, auth.get(options, o))
}

async function jwks (): Promise<ReturnType<typeof createLocalJWKSet>> {
  return createLocalJWKSet((await gw.call('GET', '/.well-known/jwks.json')).json() as { keys: JWK[] })
}

t.test('a security key: register, list, then sign in (amr hwk)', async (t) => {
  const u = await newUser()
  const auth = key()
  const options = await gw.call('POST', '/v1/me/webauthn/options', { token: u.token })
  t.equal(options.statusCode, 200, 'no step-up before the user has 2FA')
  const o = options.json() as { options: CreationOptionsJSON & { challenge: string }, expiresAt: string }
  t.equal(Buffer.from(o.options.challenge, 'base64url').length, 32)
  t.match(o.options, { rp: { id: 'example.com' }, user: { name: u.username }, authenticatorSelection: { residentKey: 'preferred' }, attestation: 'none' })

  const reg = await gw.call('POST', '/v1/me/webauthn', { token: u.token, body: { response: auth.create(o.options), name: 'YubiKey 5' } })
  t.equal(reg.statusCode, 200)
  t.match(reg.json(), { status: 'registered', credential: { id: /^wak_/, name: 'YubiKey 5', synced: false, backedUp: false } })

  const factors = (await gw.call('GET', '/v1/me/factors', { token: u.token })).json()
  t.match(factors, { twoFactor: 'enrolled', factors: [{ factor: 'push' }, { factor: 'webauthn', enrolled: true, items: [{ label: 'YubiKey 5' }] }] })
  const list = (await gw.call('GET', '/v1/me/webauthn', { token: u.token })).json() as { rpId: string, userHandle: string, credentials: Array<{ credentialId: string }> }
  t.match(list, { rpId: 'example.com', userHandle: /^[A-Za-z0-9_-]{43}$/ })
  t.same(list.credentials.map((c) => c.credentialId), auth.credentialIds())

  const start = (await gw.call('POST', '/v1/signin', { token: u.token, body: {} })).json()
  t.match(start, { status: 'challenge', defaultMethod: 'webauthn' })
  const ok = await signIn(u, auth)
  t.match(ok.json(), { status: 'verified' })
  const { payload } = await jwtVerify(ok.json().token as string, await jwks())
  t.same(payload.amr, ['hwk', 'mfa'], 'a device-bound key is hwk')
  t.match((await gw.call('GET', '/v1/me/webauthn', { token: u.token })).json(), { credentials: [{ lastUsedAt: /^20/ }] })
})

t.test('a synced passkey: amr swk, 0 with 0 passes', async (t) => {
  const u = await newUser()
  const passkey = key({ kind: 'passkey' })
  t.match((await register(u, passkey, {}, 'MacBook passkey')).json(), { status: 'registered', credential: { synced: true, backedUp: true } })
  for (let i = 0; i < 2; i++) {
    const ok = await signIn(u, passkey)
    t.match(ok.json(), { status: 'verified' })
    t.same(decodeJwt(ok.json().token as string).amr, ['swk', 'mfa'], 'a synced passkey is swk')
  }
})

t.test('challenges: replayed, from another transaction, or spent by a failed attempt, refused', async (t) => {
  const u = await newUser()
  const auth = key()
  await register(u, auth)
  const first = await challenge(u)
  const firstAssertion = auth.get(first.options)
  t.match((await verify(u, first.id, firstAssertion)).json(), { status: 'verified' })
  t.equal((await verify(u, first.id, firstAssertion)).statusCode, 409, 'the transaction is done')

  const second = await challenge(u)
  t.match((await verify(u, second.id, firstAssertion)).json(), { status: 'rejected', reason: 'invalid_assertion' }, 'an old assertion in a new transaction')
  t.match((await verify(u, second.id, auth.get(second.options))).json(), { status: 'rejected', reason: 'no_challenge' }, 'the failed attempt spent the challenge')

  const a = await challenge(u)
  const b = await challenge(u)
  const forA = auth.get(a.options)
  t.match((await verify(u, b.id, forA)).json(), { status: 'rejected', reason: 'invalid_assertion' }, 'another transaction\'s challenge')
  t.match((await verify(u, a.id, forA)).json(), { status: 'verified' }, 'its own transaction takes it')
})

t.test('the exact origin and RP ID; webauthn.create and cross-origin refused', async (t) => {
  const u = await newUser()
  const auth = key()
  await register(u, auth)
  const refusals: Array<[string, GetOverrides]> = [
    ['a look-alike suffix', { origin: 'https://login.example.com.evil.test' }],
    ['a look-alike subdomain', { origin: 'https://evil-login.example.com' }],
    ['http instead of https', { origin: 'http://login.example.com' }],
    ['another port', { origin: 'https://login.example.com:8443' }],
    ['another RP ID', { rpId: 'evil.test' }],
    ['a parent of the RP ID', { rpId: 'com' }],
    ['webauthn.create at sign-in', { type: 'webauthn.create' }],
    ['a cross-origin iframe', { crossOrigin: true }],
    ['a top origin', { topOrigin: 'https://evil.test' }],
  ]
  for (const [what, o] of refusals) t.match((await signIn(u, auth, o)).json(), { status: 'rejected', reason: 'invalid_assertion' }, what)
  t.match((await signIn(u, auth, { origin: 'https://example.com' })).json(), { status: 'verified' }, 'the other listed origin')
})

t.test('tampered authenticatorData, clientDataJSON or signature refused', async (t) => {
  const u = await newUser()
  const auth = key()
  await register(u, auth)
  for (const tamper of ['authenticatorData', 'clientDataJSON', 'signature'] as const) {
    t.match((await signIn(u, auth, { tamper })).json(), { status: 'rejected', reason: 'invalid_assertion' }, tamper)
  }
  t.match((await signIn(u, auth)).json(), { status: 'verified' })
})

t.test('a step-up requires user verification', async (t) => {
  const u = await newUser()
  const noPin = key({ userVerification: false })
  await register(u, noPin)
  t.match((await signIn(u, noPin)).json(), { status: 'verified' }, 'a sign-in takes a key without UV (policy: preferred)')
  const { options } = await challenge(u, { purpose: 'step-up', action: 'change-email' })
  t.equal(options.userVerification, 'required')
  t.match((await signIn(u, noPin, {}, { purpose: 'step-up', action: 'change-email' })).json(), { status: 'rejected', reason: 'user_verification_required' })
  const ok = await signIn(u, noPin, { uv: true }, { purpose: 'step-up', action: 'change-email' })
  t.match(decodeJwt(ok.json().token as string), { action: 'change-email', amr: ['hwk', 'mfa'] })
})

t.test('another user\'s key, and a duplicate registration, refused', async (t) => {
  const alice = await newUser()
  const bob = await newUser()
  const aliceKey = key()
  const bobKey = key()
  await register(alice, aliceKey)
  // Bob registers Alice's credential id: the index says it is taken.
  const dup = await register(bob, bobKey, { credentialId: Buffer.from(aliceKey.credentialIds()[0] ?? '', 'base64url') })
  t.same(dup.json(), { status: 'rejected', reason: 'already_registered' })
  t.same((await gw.call('GET', '/v1/me/webauthn', { token: bob.token })).json().credentials, [])
  t.match((await register(bob, bobKey)).json(), { status: 'registered' })
  // Bob's valid key, answering Alice's challenge.
  const { id, options } = await challenge(alice)
  const bobs = bobKey.get({ ...options, allowCredentials: [] }, { credentialId: bobKey.credentialIds().at(-1) ?? '' })
  t.match((await verify(alice, id, bobs)).json(), { status: 'rejected', reason: 'unknown_credential' })
  // A credential id longer than 1023 bytes.
  bob.mfa = (await signIn(bob, bobKey, {}, { purpose: 'step-up', action: 'manage-2fa' })).json().token as string
  t.same((await register(bob, key(), { credentialId: new Uint8Array(1024).fill(9) })).json(), { status: 'rejected', reason: 'invalid_response' })
})

t.test('a counter regression flags the key', async (t) => {
  const u = await newUser()
  const auth = key()
  await register(u, auth)
  const copy = auth.clone()
  t.match((await signIn(u, auth)).json(), { status: 'verified' })
  t.match((await signIn(u, auth)).json(), { status: 'verified' })
  // The copy's first signature says 1: behind the stored 2, so the key is flagged as possibly cloned.
  t.match((await signIn(u, copy)).json(), { status: 'rejected', reason: 'suspected_clone' })
  const listed = (await gw.call('GET', '/v1/me/webauthn', { token: u.token })).json() as { credentials: Array<{ suspectedClone?: boolean }> }
  t.equal(listed.credentials[0]?.suspectedClone, true)
  // Blocked for good, even for the original: the user removes it and registers a key again.
  const id = (await gw.call('POST', '/v1/signin', { token: u.token, body: {} })).json().transactionId as string
  expectError(t, await gw.call('POST', `/v1/signin/${id}/challenge`, { token: u.token, body: { method: 'webauthn' } }), 409, 'NOT_ENROLLED')
})

t.test('parallel assertions leave the highest counter stored', async (t) => {
  const u = await newUser()
  const auth = key()
  const reg = (await register(u, auth)).json() as { credential: { id: string } }
  const flights = []
  for (let i = 0; i < 5; i++) {
    const c = await challenge(u)
    flights.push({ id: c.id, response: auth.get(c.options) }) // counters 1..5
  }
  const answers = await Promise.all(flights.reverse().map((f) => verify(u, f.id, f.response)))
  t.ok(answers.some((a) => a.json().status === 'verified'), 'at least the first to be stored is verified')
  // Read from factor-webauthn's own bucket: whatever order they were stored in, 5 is what stays.
  const bucket = await createKvStoreFactory(gw.nc).open<{ counter: number }>('factor_webauthn')
  t.equal((await bucket.get(['users', u.username, 'keys', reg.credential.id]))?.value.counter, 5)
})

t.test('rename and remove: step-up once 2FA is on, malformed input 4xx', async (t) => {
  const u = await newUser()
  const auth = key()
  await register(u, auth)
  const { credentials: [cred] } = (await gw.call('GET', '/v1/me/webauthn', { token: u.token })).json() as { credentials: Array<{ id: string, credentialId: string }> }
  if (cred === undefined) throw new Error('no key')
  const patch = async (id: string, body: unknown, headers: Record<string, string> = {}) => gw.app.inject({
    method: 'PATCH', url: `/v1/me/webauthn/${id}`, headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body),
  })
  expectError(t, await patch(cred.id, { name: 'Office' }), 403, 'STEP_UP_REQUIRED')
  expectError(t, await gw.call('DELETE', `/v1/me/webauthn/${cred.id}`, { token: u.token }), 403, 'STEP_UP_REQUIRED')
  expectError(t, await gw.call('POST', '/v1/me/webauthn/options', { token: u.token }), 403, 'STEP_UP_REQUIRED')
  u.mfa = (await signIn(u, auth)).json().token as string
  const mfa = { 'x-mfa-token': u.mfa }

  for (const [what, id, body] of [
    ['an empty name', cred.id, { name: '' }],
    ['a blank name', cred.id, { name: '   ' }],
    ['a name with a space at the end', cred.id, { name: 'Office ' }],
    ['a long name', cred.id, { name: 'x'.repeat(65) }],
    ['a control character', cred.id, { name: 'a\u0007b' }],
    ['no name', cred.id, {}],
    ['an extra field', cred.id, { name: 'ok', extra: 1 }],
    ['a malformed id', 'not-a-key', { name: 'ok' }],
  ] as const) {
    const res = await patch(id, body, mfa)
    t.equal(res.statusCode, 400, what)
    t.match(res.json(), { error: { code: 'BAD_REQUEST' } }, what)
  }
  expectError(t, await patch(`wak_${'Z'.repeat(43)}`, { name: 'ok' }, mfa), 404, 'NOT_FOUND')
  t.match((await patch(cred.id, { name: 'Office key' }, mfa)).json(), { credential: { id: cred.id, name: 'Office key' } })

  for (const body of [{}, { name: 'x' }, { response: {}, name: '' }, { response: 'x', name: 'x' }, { response: {}, name: 'x', more: 1 }, []]) {
    expectError(t, await gw.call('POST', '/v1/me/webauthn', { token: u.token, headers: mfa, body }), 400, 'BAD_REQUEST')
  }
  t.same((await gw.call('POST', '/v1/me/webauthn', { token: u.token, headers: mfa, body: { response: { id: 'x' }, name: 'x' } })).json(), { status: 'rejected', reason: 'no_challenge' })

  expectError(t, await gw.call('DELETE', '/v1/me/webauthn/nope', { token: u.token, headers: mfa }), 400, 'BAD_REQUEST')
  t.same((await gw.call('DELETE', `/v1/me/webauthn/${cred.id}`, { token: u.token, headers: mfa })).json(), { removed: true, credentialId: cred.credentialId })
  expectError(t, await gw.call('DELETE', `/v1/me/webauthn/${cred.id}`, { token: u.token, headers: mfa }), 404, 'NOT_FOUND')
  t.match((await gw.call('GET', '/v1/me/factors', { token: u.token })).json(), { twoFactor: 'none' })
  // Removed, its id is free: another user may register that authenticator now.
  t.match((await register(await newUser(), key(), { credentialId: Buffer.from(cred.credentialId, 'base64url') })).json(), { status: 'registered' })
})

t.test('no assertion, key or token in the logs', async (t) => {
  expectCleanLogs(t, gw, assertions.map((a) => (JSON.parse(a) as { response: { signature: string } }).response.signature))
  t.notMatch(webauthnService.output(), /"signature"|clientDataJSON|authenticatorData|attestationObject/, 'nor in the service\'s')
})
