import t from 'tap'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createStepUpVerifier, issuedAtMs } from '../src/index.js'

t.test('revocation: tokens issued at or before the user\'s validAfter are refused', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  const now = new Date('2026-05-01T12:00:00.000Z')
  const nowSec = Math.floor(now.getTime() / 1000)
  const sign = async (sub: string, iatMs: number | undefined, iatSec = nowSec - 60) => 'Bearer ' + await new SignJWT({
    token_use: 'mfa', amr: ['otp', 'mfa'], acr: 'aal2', auth_time: iatSec, ...(iatMs === undefined ? {} : { iat_ms: iatMs }),
  }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject(sub).setIssuer('warden').setAudience('bank-app')
    .setIssuedAt(iatSec).setExpirationTime(nowSec + 600).sign(privateKey)

  const issued = (nowSec - 60) * 1000 + 250
  const revokedAt = new Map<string, Date | number>([['usr_reset', issued], ['usr_later', new Date(issued + 1)], ['usr_before', issued - 1]])
  const asked: string[] = []
  const verifier = createStepUpVerifier({
    jwks: { keys: [jwk] }, issuer: 'warden', audience: 'bank-app',
    validAfter: async (sub) => { asked.push(sub); return revokedAt.get(sub) },
  })

  t.match(await verifier.check(await sign('usr_clean', issued), {}, now), { ok: true }, 'never revoked')
  t.match(await verifier.check(await sign('usr_before', issued), {}, now), { ok: true }, 'revoked before it was issued')
  t.match(await verifier.check(await sign('usr_reset', issued), {}, now), { ok: false, status: 401, error: 'invalid_token', description: 'the token was revoked' }, 'issued at the revocation instant')
  t.match(await verifier.check(await sign('usr_later', issued), {}, now), { ok: false, error: 'invalid_token' }, 'issued before it')
  const refused = await verifier.check(await sign('usr_later', issued), { maxAgeSec: 300 }, now)
  t.match((refused as { wwwAuthenticate: string }).wwwAuthenticate, /^Bearer error="invalid_token", error_description="the token was revoked"$/)
  // Without iat_ms, the token counts from the start of its iat second: a revocation in that second revokes it.
  t.match(await verifier.check(await sign('usr_before', undefined), {}, now), { ok: false, error: 'invalid_token' }, 'no iat_ms: the earliest instant of iat')
  t.same(asked.slice(0, 3), ['usr_clean', 'usr_before', 'usr_reset'], 'asked with the token\'s subject')

  const failing = createStepUpVerifier({ jwks: { keys: [jwk] }, issuer: 'warden', audience: 'bank-app', validAfter: () => { throw new Error('revocation source down') } })
  await t.rejects(failing.check(await sign('usr_clean', issued), {}, now), { message: 'revocation source down' }, 'never a pass when it cannot tell')
  const unasked = createStepUpVerifier({ jwks: { keys: [jwk] }, issuer: 'warden', audience: 'bank-app', validAfter: () => { throw new Error('must not be asked') } })
  t.match(await unasked.check('Bearer a.b.c', {}, now), { ok: false, error: 'invalid_token' }, 'a bad token is refused before asking')

  t.equal(issuedAtMs({ iat: 10, iat_ms: 10_999 }), 10_999)
  t.equal(issuedAtMs({ iat: 10, iat_ms: 11_000 }), 10_000, 'iat_ms that disagrees with iat is ignored')
  t.equal(issuedAtMs({ iat: 10, iat_ms: 10_500.5 }), 10_000, 'not an integer: ignored')
  t.equal(issuedAtMs({ iat: 10, iat_ms: '10500' }), 10_000)
  t.equal(issuedAtMs({ iat: 10 }), 10_000)
})
