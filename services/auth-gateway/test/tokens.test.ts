// The gateway's tokens against real NATS and Redis, with a fake factor-totp (and placeholder
// factors) on the bus: which primary tokens it accepts, other key sources (PEM, JWKS), the MFA
// signing key and its rotation, what counts as a step-up proof, and the logs.
import { createServer } from 'node:http'
import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JWK } from 'jose'
import { freePort, manualClock } from '@warden/testkit'
import { loadGatewayConfig } from '../src/config.js'
import { buildApp } from '../src/app.js'
import { expectError, hsToken, loginAs, mfaToken, startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
await startPlaceholders(t, gw.nc)
const fake = await startFakeTotp(t, gw.nc)

t.test('primary tokens', async (t) => {
  const { username, token } = await loginAs(gw)
  const get = (headers: Record<string, string>) => gw.call('GET', '/v1/me/factors', { headers })

  t.equal((await gw.call('GET', '/v1/me/factors', { token })).statusCode, 200, 'a demo token works')

  t.test('missing, garbage and malformed Authorization headers are 401', async (t) => {
    for (const headers of [{}, { authorization: 'Bearer garbage' }, { authorization: 'Bearer ' }, { authorization: `Basic ${token}` },
      { authorization: token }, { authorization: `Bearer ${token} extra` }, { authorization: `Bearer ${token}x` },
      { authorization: `Bearer ${'a'.repeat(9000)}.b.c` }, { authorization: 'Bearer a.b.c' }]) {
      const res = await get(headers)
      expectError(t, res, 401, 'UNAUTHENTICATED')
    }
  })

  t.test('alg none is refused', async (t) => {
    const now = Math.floor(clock.now().getTime() / 1000)
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${part({ alg, typ: 'JWT' })}.${part({ sub: username, iat: now, exp: now + 600, token_use: 'primary' })}.`
      expectError(t, await get({ authorization: `Bearer ${unsigned}` }), 401, 'UNAUTHENTICATED')
    }
    // The same token with the valid signature stripped.
    const [h, p] = token.split('.')
    expectError(t, await get({ authorization: `Bearer ${h}.${p}.` }), 401, 'UNAUTHENTICATED')
  })

  t.test('HS256 signed with another secret is refused', async (t) => {
    const forged = await hsToken(clock, 'another-secret-that-is-long-enough-to-use', { sub: username, token_use: 'primary' })
    expectError(t, await get({ authorization: `Bearer ${forged}` }), 401, 'UNAUTHENTICATED')
  })

  t.test('expired tokens are refused; an external IdP token without token_use is accepted', async (t) => {
    const now = Math.floor(clock.now().getTime() / 1000)
    const expired = await hsToken(clock, gw.secret, { sub: username }, { exp: now - 5 })
    expectError(t, await get({ authorization: `Bearer ${expired}` }), 401, 'UNAUTHENTICATED')
    const external = await hsToken(clock, gw.secret, { sub: username, azp: 'shop' })
    t.equal((await get({ authorization: `Bearer ${external}` })).statusCode, 200)
  })

  t.test('tokens without a usable subject or expiry are refused', async (t) => {
    expectError(t, await get({ authorization: `Bearer ${await hsToken(clock, gw.secret, { token_use: 'primary' })}` }), 401, 'UNAUTHENTICATED')
    expectError(t, await get({ authorization: `Bearer ${await hsToken(clock, gw.secret, { sub: 'with space' })}` }), 401, 'UNAUTHENTICATED')
    expectError(t, await get({ authorization: `Bearer ${await hsToken(clock, gw.secret, { sub: 42 })}` }), 401, 'UNAUTHENTICATED')
    const noExp = await new SignJWT({ sub: username }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(gw.secret))
    expectError(t, await get({ authorization: `Bearer ${noExp}` }), 401, 'UNAUTHENTICATED')
  })

  t.test('an MFA token is never a primary token', async (t) => {
    const u = await loginAs(gw)
    fake.enroll(u.username)
    const mfa = await mfaToken(gw, u.token)
    expectError(t, await get({ authorization: `Bearer ${mfa}` }), 401, 'UNAUTHENTICATED')
    // Even signed with the primary key: the token type decides.
    const typed = await hsToken(clock, gw.secret, { sub: u.username, token_use: 'mfa', amr: ['otp', 'mfa'] })
    expectError(t, await get({ authorization: `Bearer ${typed}` }), 401, 'UNAUTHENTICATED')
    const other = await hsToken(clock, gw.secret, { sub: u.username, token_use: 'remember' })
    expectError(t, await get({ authorization: `Bearer ${other}` }), 401, 'UNAUTHENTICATED')
    // And a primary token is no MFA token either.
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token: u.token, headers: { 'x-mfa-token': u.token } }), 403, 'STEP_UP_REQUIRED')
  })
})

t.test('other key sources: PEM public key and JWKS', async (t) => {
  const base = { NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, LOG_LEVEL: 'silent' }
  const build = async (env: Record<string, string>) => {
    const app = await buildApp(loadGatewayConfig({ ...base, ...env }), { nc: gw.nc, redis: gw.redis, clock })
    t.teardown(() => app.close())
    return app
  }
  const now = () => Math.floor(clock.now().getTime() / 1000)
  const factors = (app: Awaited<ReturnType<typeof build>>, token: string) =>
    app.inject({ method: 'GET', url: '/v1/me/factors', headers: { authorization: `Bearer ${token}` } })
  const sub = uniqueUsername()

  t.test('an RSA public key allows RS256 only: HS256 keyed with the PEM (key confusion) is refused', async (t) => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const app = await build({ PRIMARY_JWT_PUBLIC_KEY_PEM: pem, PRIMARY_JWT_ISSUER: 'https://idp.example', PRIMARY_JWT_AUDIENCE: 'warden' })
    const rs = (claims: Record<string, unknown>, iss = 'https://idp.example', aud = 'warden') => new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256' }).setIssuedAt(now()).setExpirationTime(now() + 600).setIssuer(iss).setAudience(aud).sign(privateKey)
    t.equal((await factors(app, await rs({ sub }))).statusCode, 200)
    expectError(t, await factors(app, await rs({ sub }, 'https://evil.example')), 401, 'UNAUTHENTICATED')
    expectError(t, await factors(app, await rs({ sub }, 'https://idp.example', 'other')), 401, 'UNAUTHENTICATED')
    const confused = await new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now()).setExpirationTime(now() + 600)
      .setIssuer('https://idp.example').setAudience('warden').sign(new TextEncoder().encode(pem))
    expectError(t, await factors(app, confused), 401, 'UNAUTHENTICATED')
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const wrongKey = await new SignJWT({ sub }).setProtectedHeader({ alg: 'ES256' }).setIssuedAt(now()).setExpirationTime(now() + 600)
      .setIssuer('https://idp.example').setAudience('warden').sign(ec.privateKey)
    expectError(t, await factors(app, wrongKey), 401, 'UNAUTHENTICATED')
    t.equal((await app.inject({ method: 'POST', url: '/v1/demo/login', payload: { username: 'a', password: 'demo' } })).statusCode, 404, 'no demo IdP')
  })

  t.test('configuration mistakes fail at start', async (t) => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
    await t.rejects(build({ PRIMARY_JWT_PUBLIC_KEY_PEM: rsa, PRIMARY_JWT_ALGORITHMS: 'HS256' }), /does not fit/)
    await t.rejects(build({ PRIMARY_JWT_PUBLIC_KEY_PEM: rsa, PRIMARY_JWT_ALGORITHMS: 'ES256' }), /does not fit/)
    await t.rejects(build({ PRIMARY_JWT_HS256_SECRET: 'x'.repeat(40), PRIMARY_JWT_ALGORITHMS: 'RS256' }), /does not fit/)
    t.throws(() => loadGatewayConfig({ ...base, PRIMARY_JWT_HS256_SECRET: 'x'.repeat(40), PRIMARY_JWT_ALGORITHMS: 'none' }), /none/)
    t.throws(() => loadGatewayConfig({ ...base, PRIMARY_JWT_HS256_SECRET: 'x'.repeat(40), PRIMARY_JWT_PUBLIC_KEY_PEM: rsa }), /only one/)
    t.throws(() => loadGatewayConfig({ ...base }), /required/)
    t.throws(() => loadGatewayConfig({ ...base, PRIMARY_JWT_HS256_SECRET: 'short' }), /PRIMARY_JWT_HS256_SECRET/)
    t.throws(() => loadGatewayConfig({ ...base, DEMO_MODE: 'true', PRIMARY_JWT_PUBLIC_KEY_PEM: rsa }), /DEMO_MODE/)
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    await t.rejects(build({ PRIMARY_JWT_HS256_SECRET: 'x'.repeat(40), MFA_SIGNING_KEY_PEM: p384 }), /ES256/)
    const defaults = loadGatewayConfig({ ...base, DEMO_MODE: 'true' })
    t.match(defaults, { PORT: 8080, HOST: '127.0.0.1', MFA_ISSUER: 'warden', FACTOR_TIMEOUT_MS: 3000, DESCRIBE_TIMEOUT_MS: 300, MFA_TOKEN_TTL_SEC: 900, STEP_UP_MAX_AGE_SEC: 600, SIGNIN_TTL_SEC: 600 })
  })

  t.test('a configured MFA key signs MFA tokens under its thumbprint kid', async (t) => {
    const pk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const a = await build({ PRIMARY_JWT_HS256_SECRET: 'x'.repeat(40), MFA_SIGNING_KEY_PEM: pk })
    const b = await build({ PRIMARY_JWT_HS256_SECRET: 'x'.repeat(40), MFA_SIGNING_KEY_PEM: pk })
    const ka = (await a.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
    const kb = (await b.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
    t.same(ka, kb, 'replicas with one key publish the same JWKS')
    t.match(ka, { keys: [{ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: /^[A-Za-z0-9_-]{43}$/ }] })
    t.notOk('d' in ka.keys[0], 'no private part')
  })

  t.test('JWKS: keys fetched by kid; an unknown kid is 401; an unreachable JWKS is 503', async (t) => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwk = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }
    let fetches = 0
    const server = createServer((_req, res) => { fetches++; res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ keys: [jwk] })) })
    const port = await freePort()
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => server.close(() => { resolve() })))
    const app = await build({ PRIMARY_JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, PRIMARY_JWT_ALGORITHMS: 'ES256' })
    const es = (kid: string, key = ec.privateKey) => new SignJWT({ sub }).setProtectedHeader({ alg: 'ES256', kid })
      .setIssuedAt(now()).setExpirationTime(now() + 600).sign(key)
    t.equal((await factors(app, await es('k1'))).statusCode, 200)
    t.equal((await factors(app, await es('k1'))).statusCode, 200)
    t.equal(fetches, 1, 'cached')
    expectError(t, await factors(app, await es('k2')), 401, 'UNAUTHENTICATED')
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    expectError(t, await factors(app, await es('k1', other.privateKey)), 401, 'UNAUTHENTICATED')
    const hs = await new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuedAt(now()).setExpirationTime(now() + 600)
      .sign(new TextEncoder().encode(JSON.stringify(jwk)))
    expectError(t, await factors(app, hs), 401, 'UNAUTHENTICATED')

    const deadPort = await freePort()
    const dead = await build({ PRIMARY_JWT_JWKS_URL: `http://127.0.0.1:${deadPort}/jwks.json` })
    const res = await factors(dead, await es('k1'))
    expectError(t, res, 503, 'UNAVAILABLE')
    t.ok(Number(res.headers['retry-after']) > 0)
  })
})

t.test('MFA signing key rotation: JWKS serves the current and the previous key', async (t) => {
  const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const [k1, k2, k3] = [pem(), pem(), pem()]
  const priv = (k: ReturnType<typeof pem>) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const pub = (k: ReturnType<typeof pem>) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const secret = 'y'.repeat(40)
  const base = { NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, LOG_LEVEL: 'silent', PRIMARY_JWT_HS256_SECRET: secret }
  const build = async (env: Record<string, string>) => {
    const app = await buildApp(loadGatewayConfig({ ...base, ...env }), { nc: gw.nc, redis: gw.redis, clock })
    t.teardown(() => app.close())
    return app
  }
  const before = await build({ MFA_SIGNING_KEY_PEM: priv(k1) })
  // The rotation: k2 signs from now on; k1 (public part only) still verifies.
  const after = await build({ MFA_SIGNING_KEY_PEM: priv(k2), MFA_PREVIOUS_PUBLIC_KEYS_PEM: pub(k1) })
  const stranger = await build({ MFA_SIGNING_KEY_PEM: priv(k3) })

  const kidsOf = async (app: typeof after) => ((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: JWK[] })
  const oldKeys = await kidsOf(before)
  const newKeys = await kidsOf(after)
  t.equal(newKeys.keys.length, 2)
  t.equal(newKeys.keys[1]?.kid, oldKeys.keys[0]?.kid, 'the previous key is still published, after the current one')
  t.notOk(newKeys.keys.some((k) => 'd' in k), 'no private part')

  const { username } = await loginAs(gw)
  fake.enroll(username)
  const now = Math.floor(clock.now().getTime() / 1000)
  const claims = { sub: username, aud: 'demo-app', amr: ['otp', 'mfa'] as const, acr: 'aal2' as const, authTime: now }
  const fromOld = await before.tokens.signMfa(claims)
  const fromNew = await after.tokens.signMfa(claims)
  const fromUnknown = await stranger.tokens.signMfa(claims)
  t.equal(decodeProtectedHeader(fromNew).kid, newKeys.keys[0]?.kid, 'new tokens are signed with the current key')

  const set = createLocalJWKSet(newKeys as { keys: JWK[] })
  const opts = { issuer: 'warden', audience: 'demo-app', algorithms: ['ES256'], currentDate: clock.now() }
  t.match((await jwtVerify(fromOld, set, opts)).payload, { sub: username }, 'a token of the previous key verifies against the JWKS')
  t.match((await jwtVerify(fromNew, set, opts)).payload, { sub: username })
  await t.rejects(jwtVerify(fromUnknown, set, opts), 'a token of an unknown key does not')
  t.ok(await after.tokens.verifyMfa(fromOld))
  t.ok(await after.tokens.verifyMfa(fromNew))
  t.equal(await after.tokens.verifyMfa(fromUnknown), undefined)
  t.equal(await before.tokens.verifyMfa(fromNew), undefined, 'the old deployment does not know the new key')

  // And as a step-up proof on the rotated gateway.
  const primary = await hsToken(clock, secret, { sub: username, azp: 'demo-app' })
  const del = (app: typeof after, mfa: string) => app.inject({ method: 'DELETE', url: '/v1/me/totp', headers: { authorization: `Bearer ${primary}`, 'x-mfa-token': mfa } })
  expectError(t, await del(after, fromUnknown), 403, 'STEP_UP_REQUIRED')
  t.equal((await del(after, fromOld)).statusCode, 200, 'a step-up signed before the rotation still counts')

  await t.rejects(build({ MFA_SIGNING_KEY_PEM: priv(k2), MFA_PREVIOUS_PUBLIC_KEYS_PEM: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString() }), /ES256/)
  await t.rejects(build({ MFA_SIGNING_KEY_PEM: priv(k2), MFA_PREVIOUS_PUBLIC_KEYS_PEM: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }), /MFA_PREVIOUS_PUBLIC_KEYS_PEM/)
  t.throws(() => loadGatewayConfig({ ...base, MFA_PREVIOUS_PUBLIC_KEYS_PEM: 'not a pem' }), /MFA_PREVIOUS_PUBLIC_KEYS_PEM/)
})

t.test('MFA tokens of the wrong type, key or algorithm are no step-up proof', async (t) => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const secret = 'z'.repeat(40)
  const app = await buildApp(loadGatewayConfig({
    NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, LOG_LEVEL: 'silent', PRIMARY_JWT_HS256_SECRET: secret,
    MFA_SIGNING_KEY_PEM: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  }), { nc: gw.nc, redis: gw.redis, clock })
  t.teardown(() => app.close())
  const kid = ((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: JWK[] }).keys[0]?.kid as string
  const { username } = await loginAs(gw)
  fake.enroll(username)
  const primary = await hsToken(clock, secret, { sub: username, azp: 'demo-app' })
  const now = Math.floor(clock.now().getTime() / 1000)
  const good = { sub: username, aud: 'demo-app', iss: 'warden', amr: ['otp', 'mfa'], acr: 'aal2', auth_time: now, token_use: 'mfa' }
  const es = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid, ...header }).setIssuedAt(now).setExpirationTime(now + 600).sign(key.privateKey)
  const tryIt = (mfa: string) => app.inject({ method: 'POST', url: '/v1/me/totp', headers: { authorization: `Bearer ${primary}`, 'x-mfa-token': mfa } })

  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const refused: Array<[string, string]> = [
    ['token_use primary', await es({ ...good, token_use: 'primary' })],
    ['no token_use', await es({ ...good, token_use: undefined })],
    ['token_use remember', await es({ ...good, token_use: 'remember' })],
    ['acr aal1 (not_required, skipped)', await es({ ...good, acr: 'aal1' })],
    ['no mfa in amr', await es({ ...good, amr: ['otp'] })],
    ['another issuer', await es({ ...good, iss: 'evil' })],
    ['an unknown kid', await es(good, { kid: 'other' })],
    ['no kid', await new SignJWT(good).setProtectedHeader({ alg: 'ES256' }).setIssuedAt(now).setExpirationTime(now + 600).sign(key.privateKey)],
    ['HS256 keyed with the public JWK (alg confusion)', await new SignJWT(good).setProtectedHeader({ alg: 'HS256', kid }).setIssuedAt(now).setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(JSON.stringify(key.publicKey.export({ format: 'jwk' }))))],
    ['HS256 keyed with the primary secret', await new SignJWT(good).setProtectedHeader({ alg: 'HS256', kid }).setIssuedAt(now).setExpirationTime(now + 600).sign(new TextEncoder().encode(secret))],
    ['alg none', `${part({ alg: 'none', kid })}.${part({ ...good, iat: now, exp: now + 600 })}.`],
    ['ES384 from another key under our kid', await new SignJWT(good).setProtectedHeader({ alg: 'ES384', kid }).setIssuedAt(now).setExpirationTime(now + 600)
      .sign(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey)],
    ['a primary token', primary],
  ]
  for (const [what, mfa] of refused) {
    await t.test(`refused: ${what}`, async (t) => { expectError(t, await tryIt(mfa), 403, 'STEP_UP_REQUIRED') })
  }
  // An enrollment token where an MFA token is needed: POST /v1/me/totp is an enrollment route (it
  // takes one), so it is tried on DELETE.
  const enrollment = await app.tokens.signEnrollment({ sub: username, aud: 'demo-app', amr: [], authTime: now })
  expectError(t, await app.inject({ method: 'DELETE', url: '/v1/me/totp', headers: { authorization: `Bearer ${primary}`, 'x-mfa-token': enrollment } }), 403, 'STEP_UP_REQUIRED')
  t.equal((await tryIt(await es(good))).statusCode, 200, 'the same token with the right claims is accepted')
})

t.test('logs never carry tokens or secrets', async (t) => {
  const text = gw.log.text()
  t.ok(text.length > 0)
  t.ok(gw.issued.length >= 5)
  // A JWT by its signature.
  for (const token of gw.issued) t.notOk(text.includes(token.split('.')[2] as string), 'no token in the logs')
  t.notOk(text.includes(gw.secret), 'no primary secret')
  t.notOk(text.includes('JBSWY3DPEHPK3PXP'), 'no TOTP secret')
  t.notOk(/authorization/i.test(text), 'no Authorization header')
})
