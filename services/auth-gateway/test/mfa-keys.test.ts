// Managed MFA signing keys (SECRET_KEYS set, no MFA_SIGNING_KEY_PEM): one ring in the gateway's
// KV bucket, sealed with SECRET_KEYS, shared by every replica, rotated by the first replica that
// finds the signing key due. Two gateways on one real NATS/Redis, on one manual clock.
import t from 'tap'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose'
import { createLogger, generateKeyRingSpec, parseKeyRing } from '@warden/service-kit'
import { manualClock, startInfra } from '@warden/testkit'
import { createKvStoreFactory } from '@warden/store'
import { managedMfaKeys, MFA_KEYS_KEY, type StoredMfaKeyRing } from '../src/adapters/mfa-keys.js'
import { MFA_KEYS_BUCKET } from '../src/plugins/tokens.js'
import { startGateway, type Gateway } from './fixtures/gateway.js'

const DAY = 86_400_000
const clock = manualClock(new Date('2026-06-01T08:00:00.000Z'))
const infra = await startInfra(t)
const SECRET_KEYS = generateKeyRingSpec('gw1')
const env = { SECRET_KEYS, MFA_KEY_ROTATION_DAYS: '30' }
const a = await startGateway(t, { clock, infra, env })
const b = await startGateway(t, { clock, infra, env })

const jwks = async (gw: Gateway): Promise<{ keys: JWK[] }> => (await gw.call('GET', '/.well-known/jwks.json')).json()
const kids = async (gw: Gateway): Promise<string[]> => (await jwks(gw)).keys.map((k) => k.kid as string)
const mfa = (gw: Gateway, sub = 'alice'): Promise<string> =>
  gw.app.tokens.signMfa({ sub, aud: 'demo-app', amr: ['otp', 'mfa'], acr: 'aal2', authTime: Math.floor(clock.now().getTime() / 1000) })
const kidOf = (token: string): string => decodeProtectedHeader(token).kid as string

t.test('replicas share one signing key: same JWKS, tokens of one verify at the other', async (t) => {
  t.same(await kids(a), await kids(b))
  t.equal((await jwks(a)).keys.length, 1)
  const token = await mfa(a)
  t.equal(kidOf(token), (await kids(b))[0])
  t.match(await b.app.tokens.verifyMfa(token), { sub: 'alice', acr: 'aal2' })
  const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks(b)), { issuer: 'warden', audience: 'demo-app', currentDate: clock.now() })
  t.equal(payload.sub, 'alice')
})

t.test('the ring in KV holds no private key in clear', async (t) => {
  const bucket = await createKvStoreFactory(a.nc).open(MFA_KEYS_BUCKET)
  const entries = await bucket.list([])
  t.equal(entries.length, 1, 'one record')
  const raw = [JSON.stringify((await bucket.get(MFA_KEYS_KEY))?.value)]
  t.notMatch(raw.join(''), /PRIVATE KEY|"d":/, 'no PEM, no JWK private part')
  t.match(raw[0], /"sealedPrivateKey":"v1\.gw1\./, 'sealed under the SECRET_KEYS key id')
})

t.test('rotation: after 30 days a new key signs; the previous one verifies until its tokens are gone', async (t) => {
  const first = (await kids(a))[0] as string
  clock.advance(30 * DAY - 60_000)
  const late = await mfa(a) // signed a minute before the rotation
  t.equal(kidOf(late), first)
  clock.advance(2 * 60_000)
  const fresh = await mfa(b) // b finds the key due and rotates
  const second = kidOf(fresh)
  t.not(second, first, 'a new key signs')
  t.same(await kids(b), [second, first], 'JWKS: the current key, then the previous one')
  // a read its ring a while ago; an unknown kid makes it look again.
  t.match(await a.app.tokens.verifyMfa(fresh), { sub: 'alice' }, 'the other replica verifies the new key at once')
  t.same(await kids(a), [second, first], 'and serves the same JWKS')
  t.equal(kidOf(await mfa(a)), second, 'and signs with it')
  t.match(await a.app.tokens.verifyMfa(late), { sub: 'alice' }, 'a token signed just before the rotation still verifies')

  // The next rotation drops the key that has not signed for 30 days.
  clock.advance(30 * DAY)
  const third = kidOf(await mfa(a))
  t.same(await kids(a), [third, second])
  t.same(await kids(b), [third, second], 'the other replica follows within its refresh interval')
})

t.test('replicas finding the key due at the same moment make one key between them', async (t) => {
  clock.advance(31 * DAY)
  const tokens = await Promise.all([mfa(a), mfa(b), mfa(a), mfa(b)])
  t.equal(new Set(tokens.map(kidOf)).size, 1, 'one new signing key')
  t.same(await kids(a), await kids(b))
  t.equal((await kids(a)).length, 2)
})

t.test('a replica without the sealing key cannot start', async (t) => {
  await t.rejects(startGateway(t, { clock, infra, env: { SECRET_KEYS: generateKeyRingSpec('other') } }), /SECRET_KEYS lacks the key/)
})

t.test('an explicit MFA_SIGNING_KEY_PEM wins over the managed ring', async (t) => {
  const { generateKeyPairSync } = await import('node:crypto')
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const c = await startGateway(t, { clock, infra, env: { ...env, MFA_SIGNING_KEY_PEM: pem } })
  t.equal((await kids(c)).length, 1)
  t.notOk((await kids(a)).includes((await kids(c))[0] as string))
})

t.test('the key store away: the keys already held keep signing and verifying; without any, 503', async (t) => {
  const real = await createKvStoreFactory(a.nc).open<StoredMfaKeyRing>('gateway_keys_flaky')
  let down = false
  const flaky = new Proxy(real, {
    get: (target, prop) => down ? async () => { throw new Error('nats: connection closed') } : target[prop as keyof typeof target],
  })
  const opts = { store: flaky, secrets: parseKeyRing(SECRET_KEYS), clock, log: createLogger({ name: 'test', level: 'silent' }), rotationMs: 30 * DAY, retireAfterMs: 3_600_000 }
  const keys = await managedMfaKeys(opts)
  const kid = (await keys.signing()).kid
  down = true
  clock.advance(61_000)
  t.equal((await keys.signing()).kid, kid, 'past the refresh interval: still the loaded key')
  t.equal((await keys.jwks()).keys[0]?.kid, kid, 'and the JWKS still answers')
  clock.advance(31 * DAY)
  t.equal((await keys.signing()).kid, kid, 'a rotation that cannot be written waits for the store')
  await t.rejects(managedMfaKeys(opts), { code: 'UNAVAILABLE' }, 'a replica starting without the store has no key: it does not start')
  down = false
  t.not((await keys.signing()).kid, kid, 'the store back: the overdue rotation happens')
})

t.test('no key material in the logs', async (t) => {
  const text = a.log.text() + b.log.text()
  t.match(text, /MFA signing key rotated/)
  t.notMatch(text, /PRIVATE KEY|sealedPrivateKey/)
})
