import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type WebAuthnCredential,
} from '@simplewebauthn/server'
import t from 'tap'
import { AuthenticatorError, createSoftAuthenticator, type SoftAuthenticator } from '../src/soft-authenticator.js'

// The software authenticator is checked against an independent verifier: SimpleWebAuthn's own
// checks, called directly, with nothing of Warden in between.
const rpID = 'localhost'
const origin = 'http://localhost:8080'

async function register (auth: SoftAuthenticator): Promise<WebAuthnCredential & { deviceType: string, backedUp: boolean }> {
  const opts = await generateRegistrationOptions({ rpName: 'Test', rpID, userName: 'alice', attestationType: 'none' })
  const reg = await verifyRegistrationResponse({ response: auth.create(opts), expectedChallenge: opts.challenge, expectedOrigin: origin, expectedRPID: rpID, requireUserVerification: false })
  if (!reg.verified) throw new Error('registration not verified')
  return { ...reg.registrationInfo.credential, deviceType: reg.registrationInfo.credentialDeviceType, backedUp: reg.registrationInfo.credentialBackedUp }
}

async function assert (auth: SoftAuthenticator, credential: WebAuthnCredential, overrides = {}) {
  const opts = await generateAuthenticationOptions({ rpID, allowCredentials: [{ id: credential.id }] })
  return verifyAuthenticationResponse({
    response: auth.get(opts, overrides), expectedChallenge: opts.challenge, expectedOrigin: origin, expectedRPID: rpID, credential, requireUserVerification: false,
  })
}

t.test('a security key registers with none attestation and signs ES256 assertions with a rising counter', async (t) => {
  const key = createSoftAuthenticator({ origin })
  const cred = await register(key)
  t.equal(cred.deviceType, 'singleDevice', 'device-bound: BE=0')
  t.equal(cred.backedUp, false)
  t.equal(cred.counter, 0)
  const first = await assert(key, cred)
  t.ok(first.verified)
  t.equal(first.authenticationInfo.newCounter, 1)
  t.equal(first.authenticationInfo.userVerified, true)
  const second = await assert(key, { ...cred, counter: 1 })
  t.equal(second.authenticationInfo.newCounter, 2)
  t.equal(key.counterOf(cred.id), 2)
})

t.test('a passkey is discoverable, synced (BE=1, BS=1) and keeps its counter at 0', async (t) => {
  const passkey = createSoftAuthenticator({ origin, kind: 'passkey' })
  const opts = await generateRegistrationOptions({ rpName: 'Test', rpID, userName: 'alice', attestationType: 'none' })
  const response = passkey.create(opts)
  t.same(response.clientExtensionResults, { credProps: { rk: true } })
  const reg = await verifyRegistrationResponse({ response, expectedChallenge: opts.challenge, expectedOrigin: origin, expectedRPID: rpID })
  t.ok(reg.verified)
  t.equal(reg.registrationInfo?.credentialDeviceType, 'multiDevice')
  t.equal(reg.registrationInfo?.credentialBackedUp, true)
  // Discoverable: answers options that list no credential, with its user handle.
  const authOpts = await generateAuthenticationOptions({ rpID })
  const assertion = passkey.get(authOpts)
  t.equal(assertion.response.userHandle, opts.user.id)
  const ok = await verifyAuthenticationResponse({ response: assertion, expectedChallenge: authOpts.challenge, expectedOrigin: origin, expectedRPID: rpID, credential: reg.registrationInfo!.credential })
  t.ok(ok.verified)
  t.equal(ok.authenticationInfo.newCounter, 0)
})

t.test('tampering after signing breaks the signature', async (t) => {
  const key = createSoftAuthenticator({ origin })
  const cred = await register(key)
  for (const tamper of ['authenticatorData', 'clientDataJSON', 'signature'] as const) {
    const res = await assert(key, { ...cred, counter: 0 }, { tamper }).catch((err: Error) => ({ verified: false, err }))
    t.equal(res.verified, false, `${tamper} tampered`)
  }
})

t.test('replay returns the very same assertion', async (t) => {
  const key = createSoftAuthenticator({ origin })
  await register(key)
  t.throws(() => createSoftAuthenticator({ origin }).replay(), /nothing to replay/)
  const opts = await generateAuthenticationOptions({ rpID })
  const first = key.get({ ...opts, allowCredentials: [{ id: key.credentialIds()[0] ?? '', type: 'public-key' }] })
  t.same(key.replay(), first)
})

t.test('a clone holds the same key and counter, then counts on its own', async (t) => {
  const key = createSoftAuthenticator({ origin })
  const cred = await register(key)
  await assert(key, cred)
  const copy = key.clone()
  t.same(copy.credentialIds(), key.credentialIds())
  await assert(key, { ...cred, counter: 1 })
  t.equal(key.counterOf(cred.id), 2)
  t.equal(copy.counterOf(cred.id), 1, 'the copy did not see the original\'s second use')
  const fromCopy = await assert(copy, { ...cred, counter: 0 })
  t.ok(fromCopy.verified, 'the copy signs with the same key')
  t.equal(fromCopy.authenticationInfo.newCounter, 2, 'and reuses a counter value the original already reported')
  const forced = await assert(key, { ...cred, counter: 0 }, { counter: 7 })
  t.equal(forced.authenticationInfo.newCounter, 7, 'an explicit counter is reported as given')
})

t.test('flags and client data follow the overrides', async (t) => {
  const key = createSoftAuthenticator({ origin, userVerification: false })
  const cred = await register(key)
  const noUv = await assert(key, cred)
  t.equal(noUv.authenticationInfo.userVerified, false)
  await t.rejects(assert(key, { ...cred, counter: 5 }, { origin: 'http://localhost:8081' }), /origin/)
  await t.rejects(assert(key, { ...cred, counter: 5 }, { type: 'webauthn.create' }), /type/)
  await t.rejects(assert(key, { ...cred, counter: 5 }, { rpId: 'example.com' }), /RP ID/)
  await t.rejects(assert(key, { ...cred, counter: 5 }, { up: false }), /not present/)
  const opts = await generateAuthenticationOptions({ rpID, allowCredentials: [{ id: cred.id }] })
  const crossOrigin = key.get(opts, { crossOrigin: true, be: true, bs: true })
  const clientData = JSON.parse(Buffer.from(crossOrigin.response.clientDataJSON, 'base64url').toString('utf8')) as { crossOrigin: boolean }
  t.equal(clientData.crossOrigin, true)
  const flags = Buffer.from(crossOrigin.response.authenticatorData, 'base64url')[32] ?? 0
  t.equal(flags & 0x18, 0x18, 'BE and BS set')
})

t.test('it refuses like a browser: an excluded credential, or none that fits', async (t) => {
  const key = createSoftAuthenticator({ origin })
  const cred = await register(key)
  const opts = await generateRegistrationOptions({ rpName: 'Test', rpID, userName: 'alice', excludeCredentials: [{ id: cred.id }] })
  t.throws(() => key.create(opts), { name: 'InvalidStateError' })
  t.ok((() => { try { key.create(opts); return false } catch (err) { return err instanceof AuthenticatorError } })(), 'an AuthenticatorError')
  t.doesNotThrow(() => key.create(opts, { ignoreExclude: true }), 'unless told to ignore it')
  const other = createSoftAuthenticator({ origin })
  const authOpts = await generateAuthenticationOptions({ rpID, allowCredentials: [{ id: cred.id }] })
  t.throws(() => other.get(authOpts), { name: 'NotAllowedError' })
})

t.test('a chosen credential id, of any length', async (t) => {
  const key = createSoftAuthenticator({ origin })
  const opts = await generateRegistrationOptions({ rpName: 'Test', rpID, userName: 'alice' })
  const long = key.create(opts, { credentialId: new Uint8Array(1024).fill(7) })
  t.equal(Buffer.from(long.id, 'base64url').length, 1024)
  const again = createSoftAuthenticator({ origin }).create(opts, { credentialId: new Uint8Array(16).fill(1) })
  t.equal(again.id, Buffer.alloc(16, 1).toString('base64url'))
})
