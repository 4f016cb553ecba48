import t from 'tap'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createStepUpVerifier } from '../src/index.js'

t.test('RFC 9470 step-up decisions', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const other = await generateKeyPair('ES256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  const verifier = createStepUpVerifier({ jwks: { keys: [jwk] }, issuer: 'warden', audience: 'bank-app' })
  const now = new Date('2026-05-01T12:00:00Z')
  const nowSec = Math.floor(now.getTime() / 1000)
  const sign = async (claims: Record<string, unknown>, key = privateKey, aud = 'bank-app') => 'Bearer ' + await new SignJWT({ token_use: 'mfa', amr: ['otp', 'mfa'], acr: 'aal2', auth_time: nowSec - 60, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('usr_1').setIssuer('warden').setAudience(aud)
    .setIssuedAt(nowSec - 60).setExpirationTime(nowSec + 600).sign(key)

  const good = await verifier.check(await sign({ action: 'change-bank-details' }), { action: 'change-bank-details', maxAgeSec: 300 }, now)
  t.match(good, { ok: true, claims: { sub: 'usr_1', action: 'change-bank-details' } })

  const wrongAction = await verifier.check(await sign({ action: 'login' }), { action: 'change-bank-details' }, now)
  t.match(wrongAction, { ok: false, status: 401, error: 'insufficient_user_authentication' })

  const stale = await verifier.check(await sign({ auth_time: nowSec - 3600 }), { maxAgeSec: 300, acrValues: ['aal2'] }, now)
  t.match(stale, { ok: false, error: 'insufficient_user_authentication' })
  t.match((stale as { wwwAuthenticate: string }).wwwAuthenticate, /^Bearer error="insufficient_user_authentication", error_description="[^"]+", acr_values="aal2", max_age="300"$/)

  t.match(await verifier.check(await sign({ acr: 'aal1' }), { acrValues: ['aal2'] }, now), { ok: false, error: 'insufficient_user_authentication' })
  // By default a token must show a verified second factor: a skipped sign-in's token never passes.
  const skipped = await verifier.check(await sign({ acr: 'aal1', amr: [], remembered: true }), { maxAgeSec: 300 }, now)
  t.match(skipped, { ok: false, error: 'insufficient_user_authentication' })
  t.match((skipped as { wwwAuthenticate: string }).wwwAuthenticate, /acr_values="aal2", max_age="300"$/)
  t.match(await verifier.check(await sign({ acr: 'aal1', amr: [] }), {}, now), { ok: false, error: 'insufficient_user_authentication' }, 'policy off: no factor')
  t.match(await verifier.check(await sign({ remembered: true }), { acrValues: ['aal1', 'aal2'] }, now), { ok: false, error: 'insufficient_user_authentication' }, 'remembered is refused even when aal1 is allowed')
  t.match(await verifier.check(await sign({ amr: ['otp'] }), {}, now), { ok: false, error: 'insufficient_user_authentication' }, 'amr without mfa')
  t.match(await verifier.check(undefined, {}, now), { ok: false, error: 'invalid_token' })
  t.match(await verifier.check('Bearer x.y.z', {}, now), { ok: false, error: 'invalid_token' })
  t.match(await verifier.check(await sign({}, other.privateKey), {}, now), { ok: false, error: 'invalid_token' }, 'foreign key refused')
  t.match(await verifier.check(await sign({}, privateKey, 'other-app'), {}, now), { ok: false, error: 'invalid_token' }, 'other audience refused')
  t.match(await verifier.check(await sign({ token_use: 'primary' }), {}, now), { ok: false, error: 'invalid_token' }, 'other token types refused')
  t.match(await verifier.check(await sign({}), {}, new Date(now.getTime() + 3600_000)), { ok: false, error: 'invalid_token', description: 'the token has expired' })
})
