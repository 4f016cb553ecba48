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
  const sign = async (claims: Record<string, unknown>, key = privateKey, aud = 'bank-app') => 'Bearer ' + await new SignJWT({ token_use: 'mfa', amr: ['otp', 'mfa'], acr: 'urn:warden:acr:mfa', auth_time: nowSec - 60, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('usr_1').setIssuer('warden').setAudience(aud)
    .setIssuedAt(nowSec - 60).setExpirationTime(nowSec + 600).sign(key)

  const good = await verifier.check(await sign({ action: 'change-bank-details' }), { action: 'change-bank-details', maxAgeSec: 300 }, now)
  t.match(good, { ok: true, claims: { sub: 'usr_1', action: 'change-bank-details' } })

  const wrongAction = await verifier.check(await sign({ action: 'login' }), { action: 'change-bank-details' }, now)
  t.match(wrongAction, { ok: false, status: 401, error: 'insufficient_user_authentication' })

  const stale = await verifier.check(await sign({ auth_time: nowSec - 3600 }), { maxAgeSec: 300, acrValues: ['urn:warden:acr:mfa'] }, now)
  t.match(stale, { ok: false, error: 'insufficient_user_authentication' })
  t.match((stale as { wwwAuthenticate: string }).wwwAuthenticate, /^Bearer error="insufficient_user_authentication", error_description="[^"]+", acr_values="urn:warden:acr:mfa", max_age="300"$/)

  t.match(await verifier.check(await sign({ acr: 'urn:warden:acr:pwd' }), { acrValues: ['urn:warden:acr:mfa'] }, now), { ok: false, error: 'insufficient_user_authentication' })
  t.match(await verifier.check(undefined, {}, now), { ok: false, error: 'invalid_token' })
  t.match(await verifier.check('Bearer x.y.z', {}, now), { ok: false, error: 'invalid_token' })
  t.match(await verifier.check(await sign({}, other.privateKey), {}, now), { ok: false, error: 'invalid_token' }, 'foreign key refused')
  t.match(await verifier.check(await sign({}, privateKey, 'other-app'), {}, now), { ok: false, error: 'invalid_token' }, 'other audience refused')
  t.match(await verifier.check(await sign({ token_use: 'primary' }), {}, now), { ok: false, error: 'invalid_token' }, 'other token types refused')
  t.match(await verifier.check(await sign({}), {}, new Date(now.getTime() + 3600_000)), { ok: false, error: 'invalid_token', description: 'the token has expired' })
})
