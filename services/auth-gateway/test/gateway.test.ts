// The gateway against real NATS and Redis, with a fake factor-totp (and placeholder factors) on the
// bus: the edge's own behaviour — errors, tokens, input validation, sign-in transactions, the
// step-up rule, degradation, the OpenAPI document and the logs.
import { createServer } from 'node:http'
import { generateKeyPairSync } from 'node:crypto'
import t, { type Test } from 'tap'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, type JWK } from 'jose'
import { describePush } from '@warden/contracts'
import { freePort, manualClock } from '@warden/testkit'
import { loadGatewayConfig } from '../src/config.js'
import { buildApp } from '../src/app.js'
import { HTTP_STATUS } from '../src/errors.js'
import { startFakeTotp, startGateway, startPlaceholders, uniqueUsername, type Gateway } from './fixtures/gateway.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
const placeholders = await startPlaceholders(t, gw.nc)
const fake = await startFakeTotp(t, gw.nc)

/** Every token the gateway handed out in this file: none may appear in the logs. */
const issued: string[] = []
const WRONG_CODE = '482913'

async function loginAs (username = uniqueUsername(), clientId?: string): Promise<{ username: string, token: string }> {
  const token = await gw.login(username, clientId)
  issued.push(token)
  return { username, token }
}

/** An HS256 token signed with the configured secret (what an upstream IdP sharing it would send). */
async function hsToken (claims: Record<string, unknown>, opts: { secret?: string, exp?: number } = {}): Promise<string> {
  const now = Math.floor(clock.now().getTime() / 1000)
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now).setExpirationTime(opts.exp ?? now + 600)
    .sign(new TextEncoder().encode(opts.secret ?? gw.secret))
}

function expectError (t: Test, res: { statusCode: number, json: () => unknown, body: string }, status: number, code: string): void {
  t.equal(res.statusCode, status, `status ${status} (${res.body.slice(0, 160)})`)
  const body = res.json() as { error?: { code?: string, message?: unknown } }
  t.same(Object.keys(body), ['error'], 'only an error member')
  t.equal(body.error?.code, code)
  t.type(body.error?.message, 'string')
  t.notMatch(res.body, /\bat .+\(.+:\d+:\d+\)|node_modules|\/src\//, 'no stack trace or path')
}

async function jwks (): Promise<ReturnType<typeof createLocalJWKSet>> {
  const res = await gw.call('GET', '/.well-known/jwks.json')
  return createLocalJWKSet(res.json() as { keys: JWK[] })
}

async function startChallenge (token: string): Promise<string> {
  const res = await gw.call('POST', '/v1/signin', { token, body: {} })
  if (res.statusCode !== 200 || res.json().status !== 'challenge') throw new Error(`no challenge: ${res.body}`)
  return res.json().transactionId as string
}

/** A fresh MFA token for a user who has the fake TOTP factor. */
async function mfaToken (token: string): Promise<string> {
  const id = await startChallenge(token)
  const res = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })
  const mfa = res.json().token as string
  issued.push(mfa)
  return mfa
}

t.test('error table: every contract code has an HTTP status; bus BAD_REQUEST never reaches a client as 400', async (t) => {
  t.equal(HTTP_STATUS.NOT_ENROLLED, 409)
  t.equal(HTTP_STATUS.FACTOR_LOCKED, 429)
  t.equal(HTTP_STATUS.TIMEOUT, 503)
  t.equal(HTTP_STATUS.STEP_UP_REQUIRED, 403)
  for (const status of Object.values(HTTP_STATUS)) t.ok(status >= 400 && status < 600)
})

t.test('demo login', async (t) => {
  t.test('any username with password demo gets a 1 h primary token', async (t) => {
    const { username, token } = await loginAs()
    const claims = decodeJwt(token)
    t.equal(decodeProtectedHeader(token).alg, 'HS256')
    t.equal(claims.sub, username)
    t.equal(claims.azp, 'demo-app')
    t.equal(claims.token_use, 'primary')
    t.equal((claims.exp as number) - (claims.iat as number), 3600)
    t.equal(claims.role, undefined)
  })
  t.test('admin gets role warden:admin; clientId becomes azp', async (t) => {
    const res = await gw.call('POST', '/v1/demo/login', { body: { username: 'admin', password: 'demo', clientId: 'console' } })
    t.equal(res.statusCode, 200)
    const claims = decodeJwt(res.json().token)
    t.equal(claims.role, 'warden:admin')
    t.equal(claims.azp, 'console')
    t.equal(res.headers['cache-control'], 'no-store')
  })
  t.test('wrong password is 401 UNAUTHENTICATED', async (t) => {
    const res = await gw.call('POST', '/v1/demo/login', { body: { username: 'alice', password: 'demo ' } })
    expectError(t, res, 401, 'UNAUTHENTICATED')
    t.match(res.headers['www-authenticate'], /^Bearer/)
    expectError(t, await gw.call('POST', '/v1/demo/login', { body: { username: 'alice', password: 'Demo' } }), 401, 'UNAUTHENTICATED')
  })
  t.test('malformed bodies are 400 BAD_REQUEST', async (t) => {
    const bodies: unknown[] = [
      {}, { username: 'alice' }, { password: 'demo' },
      { username: 1, password: 'demo' }, { username: 'alice', password: 1234 }, { username: ['alice'], password: 'demo' },
      { username: 'Alice', password: 'demo' }, { username: 'al ice', password: 'demo' }, { username: '', password: 'demo' },
      { username: 'a'.repeat(65), password: 'demo' }, { username: 'a'.repeat(10_000), password: 'demo' },
      { username: 'alice', password: 'x'.repeat(10_000) }, { username: 'alice', password: '' },
      { username: 'alice', password: 'demo', clientId: 'bad client' }, { username: 'alice', password: 'demo', clientId: 7 },
      { username: 'alice', password: 'demo', extra: true }, [], 'alice', null, 42,
    ]
    for (const body of bodies) {
      expectError(t, await gw.call('POST', '/v1/demo/login', { body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
    }
    expectError(t, await gw.call('POST', '/v1/demo/login', { body: '{"username":"alice",' }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/demo/login', { body: '{"__proto__":{"x":1},"username":"alice","password":"demo"}' }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/demo/login', { body: JSON.stringify({ username: 'alice', password: 'demo', pad: 'x'.repeat(40_000) }) }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/demo/login', { headers: { 'content-type': 'text/plain' }, body: 'username=alice' }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/demo/login'), 400, 'BAD_REQUEST')
  })
})

t.test('primary tokens', async (t) => {
  const { username, token } = await loginAs()
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
    const forged = await hsToken({ sub: username, token_use: 'primary' }, { secret: 'another-secret-that-is-long-enough-to-use' })
    expectError(t, await get({ authorization: `Bearer ${forged}` }), 401, 'UNAUTHENTICATED')
  })

  t.test('expired tokens are refused; an external IdP token without token_use is accepted', async (t) => {
    const now = Math.floor(clock.now().getTime() / 1000)
    const expired = await hsToken({ sub: username }, { exp: now - 5 })
    expectError(t, await get({ authorization: `Bearer ${expired}` }), 401, 'UNAUTHENTICATED')
    const external = await hsToken({ sub: username, azp: 'shop' })
    t.equal((await get({ authorization: `Bearer ${external}` })).statusCode, 200)
  })

  t.test('tokens without a usable subject or expiry are refused', async (t) => {
    expectError(t, await get({ authorization: `Bearer ${await hsToken({ token_use: 'primary' })}` }), 401, 'UNAUTHENTICATED')
    expectError(t, await get({ authorization: `Bearer ${await hsToken({ sub: 'with space' })}` }), 401, 'UNAUTHENTICATED')
    expectError(t, await get({ authorization: `Bearer ${await hsToken({ sub: 42 })}` }), 401, 'UNAUTHENTICATED')
    const noExp = await new SignJWT({ sub: username }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(gw.secret))
    expectError(t, await get({ authorization: `Bearer ${noExp}` }), 401, 'UNAUTHENTICATED')
  })

  t.test('an MFA token is never a primary token', async (t) => {
    const u = await loginAs()
    fake.enroll(u.username)
    const mfa = await mfaToken(u.token)
    expectError(t, await get({ authorization: `Bearer ${mfa}` }), 401, 'UNAUTHENTICATED')
    // Even signed with the primary key: the token type decides.
    const typed = await hsToken({ sub: u.username, token_use: 'mfa', amr: ['otp', 'mfa'] })
    expectError(t, await get({ authorization: `Bearer ${typed}` }), 401, 'UNAUTHENTICATED')
    const other = await hsToken({ sub: u.username, token_use: 'remember' })
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

t.test('sign-in with the (fake) TOTP factor', async (t) => {
  t.test('a user without any factor: not_required, with an aal1 token that is no MFA proof', async (t) => {
    const { username, token } = await loginAs()
    const res = await gw.call('POST', '/v1/signin', { token })
    t.equal(res.statusCode, 200)
    t.equal(res.json().status, 'not_required')
    issued.push(res.json().token)
    const { payload } = await jwtVerify(res.json().token, await jwks(), { issuer: 'warden', audience: 'demo-app', currentDate: clock.now() })
    t.match(payload, { sub: username, acr: 'aal1', amr: [], token_use: 'mfa' })
  })

  t.test('challenge → wrong code → verified → consumed', async (t) => {
    const { username, token } = await loginAs(undefined, 'shop')
    fake.enroll(username)
    const start = await gw.call('POST', '/v1/signin', { token, body: { purpose: 'signin', context: { ip: '203.0.113.7', userAgent: 'tap' } } })
    t.equal(start.statusCode, 200)
    const s = start.json()
    t.match(s, { status: 'challenge', transactionId: /^txn_[A-Za-z0-9_-]{43}$/, methods: [{ method: 'totp', available: true, items: [] }], defaultMethod: 'totp' })
    t.equal(Date.parse(s.expiresAt) - clock.now().getTime(), 600_000)
    t.equal(start.headers['cache-control'], 'no-store')
    const id = s.transactionId as string
    const ttl = await gw.redis.pttl(`gw:signin:${id}`)
    t.ok(ttl > 600_000 && ttl <= 1_200_000, 'kept in Redis past its expiry, to answer 410')

    const view = await gw.call('GET', `/v1/signin/${id}`, { token })
    t.match(view.json(), { transactionId: id, status: 'challenge', purpose: 'signin', methods: [{ method: 'totp', available: true }], defaultMethod: 'totp' })

    const wrong = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: WRONG_CODE } })
    t.equal(wrong.statusCode, 200)
    t.same(wrong.json(), { status: 'rejected', reason: 'invalid_code', attemptsLeft: 9 })
    t.same((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '111111' } })).json(), { status: 'rejected', reason: 'replayed', attemptsLeft: 8 })

    const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })
    t.equal(ok.statusCode, 200)
    t.equal(ok.json().status, 'verified')
    const mfa = ok.json().token as string
    issued.push(mfa)
    const header = decodeProtectedHeader(mfa)
    t.equal(header.alg, 'ES256')
    t.type(header.kid, 'string')
    const { payload } = await jwtVerify(mfa, await jwks(), { issuer: 'warden', audience: 'shop', algorithms: ['ES256'], currentDate: clock.now() })
    t.match(payload, { sub: username, aud: 'shop', amr: ['otp', 'mfa'], acr: 'aal2', token_use: 'mfa' })
    t.equal((payload.exp as number) - (payload.iat as number), 900)
    t.equal(payload.auth_time, Math.floor(clock.now().getTime() / 1000))
    t.equal(payload.action, undefined)

    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } }), 409, 'CONFLICT')
    t.match((await gw.call('GET', `/v1/signin/${id}`, { token })).json(), { status: 'verified', methods: [] })
    t.equal(fake.callsOf(username, 'verify'), 3, 'the consumed transaction did not reach the factor')
  })

  t.test('step-up purpose and action end up in the MFA token', async (t) => {
    const { username, token } = await loginAs()
    fake.enroll(username)
    const start = await gw.call('POST', '/v1/signin', { token, body: { purpose: 'step-up', action: 'account.delete' } })
    const id = start.json().transactionId as string
    t.match((await gw.call('GET', `/v1/signin/${id}`, { token })).json(), { purpose: 'step-up', action: 'account.delete' })
    const res = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })
    issued.push(res.json().token)
    t.equal(decodeJwt(res.json().token).action, 'account.delete')
  })

  t.test('a transaction belongs to its user: others get 404', async (t) => {
    const owner = await loginAs()
    const other = await loginAs()
    fake.enroll(owner.username)
    fake.enroll(other.username)
    const id = await startChallenge(owner.token)
    expectError(t, await gw.call('GET', `/v1/signin/${id}`, { token: other.token }), 404, 'NOT_FOUND')
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token: other.token, body: { method: 'totp', code: '000000' } }), 404, 'NOT_FOUND')
    t.equal(fake.callsOf(other.username, 'verify'), 0)
    t.equal((await gw.call('GET', `/v1/signin/${id}`, { token: owner.token })).json().status, 'challenge', 'untouched')
    const unknown = `txn_${'A'.repeat(43)}`
    expectError(t, await gw.call('GET', `/v1/signin/${unknown}`, { token: owner.token }), 404, 'NOT_FOUND')
    expectError(t, await gw.call('POST', `/v1/signin/${unknown}/verify`, { token: owner.token, body: { method: 'totp', code: '000000' } }), 404, 'NOT_FOUND')
  })

  t.test('an expired transaction is 410 FLOW_EXPIRED and reaches no factor', async (t) => {
    const { username, token } = await loginAs()
    fake.enroll(username)
    const id = await startChallenge(token)
    clock.advance(600_000)
    expectError(t, await gw.call('GET', `/v1/signin/${id}`, { token }), 410, 'FLOW_EXPIRED')
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } }), 410, 'FLOW_EXPIRED')
    t.equal(fake.callsOf(username, 'verify'), 0)
  })

  t.test('parallel verifications: exactly one wins', async (t) => {
    const { username, token } = await loginAs()
    fake.enroll(username)
    const id = await startChallenge(token)
    const answers = await Promise.all(Array.from({ length: 6 }, () =>
      gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })))
    const verified = answers.filter((a) => a.statusCode === 200 && a.json().status === 'verified')
    t.equal(verified.length, 1)
    for (const a of answers) if (a !== verified[0]) expectError(t, a, 409, 'CONFLICT')
    for (const v of verified) issued.push(v.json().token)
  })

  t.test('factor errors at the edge: lock → 429 + Retry-After; not enrolled → 409; a factor BAD_REQUEST → 500', async (t) => {
    const { username, token } = await loginAs()
    fake.enroll(username)
    const id = await startChallenge(token)
    const locked = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '888888' } })
    expectError(t, locked, 429, 'FACTOR_LOCKED')
    t.equal(locked.headers['retry-after'], '120')
    t.equal(locked.json().error.retryAfterSec, 120)

    const ours = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '999999' } })
    expectError(t, ours, 500, 'INTERNAL')
    t.equal(ours.json().error.message, 'internal error')

    await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': await mfaToken(token) } })
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } }), 409, 'NOT_ENROLLED')
  })
})

t.test('malformed input on every route is 400 BAD_REQUEST and changes nothing', async (t) => {
  const { username, token } = await loginAs()
  fake.enroll(username)
  const id = await startChallenge(token)
  const badCodes: unknown[] = ['', '12345', '1234567', '١٢٣٤٥٦', '１２３４５６', 123456, {}, [], null, true, ' 12345', '12345 ', '12 345', '12345a', '+12345', '0x1234', '123456\n']

  for (const code of badCodes) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code } }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: 'enr_AAAAAAAAAAAAAAAAAAAAAA', code } }), 400, 'BAD_REQUEST')
  }
  for (const body of [{}, { code: '000000' }, { method: 'sms' }, { method: 'push', code: '000000' }, { method: 'TOTP', code: '000000' }, { method: 'totp', code: '000000', extra: 1 }, [], 'totp']) {
    expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: '{"method":"totp","code":"000000"' }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', `/v1/signin/${id}/verify`, { token }), 400, 'BAD_REQUEST')

  for (const bad of ['txn_short', 'abc', `txn_${'A'.repeat(42)}!`, `txn_${'A'.repeat(44)}`, `TXN_${'A'.repeat(43)}`, `txn_${'A'.repeat(42)}%00`, 'x'.repeat(300), '%E0%A4%A']) {
    expectError(t, await gw.call('GET', `/v1/signin/${bad}`, { token }), 400, 'BAD_REQUEST')
    expectError(t, await gw.call('POST', `/v1/signin/${bad}/verify`, { token, body: { method: 'totp', code: '000000' } }), 400, 'BAD_REQUEST')
  }

  for (const enrollmentId of ['', 'enr', 'x'.repeat(500), 42, null, 'enr_AAAA AAAAAAAAAAAAAAAAA']) {
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId, code: '000000' } }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { code: '000000' } }), 400, 'BAD_REQUEST')
  expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: '{bad json' }), 400, 'BAD_REQUEST')

  const keysBefore = (await gw.redis.keys('gw:signin:*')).length
  for (const body of [{ purpose: 'login' }, { purpose: 1 }, { action: 'has space' }, { action: 'x'.repeat(65) }, { context: { ip: 'not an ip!' } },
    { context: { userAgent: 'x'.repeat(513) } }, { context: { extra: 1 } }, { context: 'ctx' }, { extra: true }, [], 'signin', 42,
    // A step-up needs its action; an action is only for a step-up; actions are lower case.
    { purpose: 'step-up' }, { purpose: 'step-up', action: '' }, { purpose: 'step-up', action: 'Change-Bank' }, { purpose: 'step-up', action: '-x' },
    { purpose: 'step-up', action: 'a'.repeat(65) }, { purpose: 'step-up', action: 42 }, { action: 'change-bank-details' }, { purpose: 'signin', action: 'x' },
    { rememberToken: 'rd_short' }, { rememberToken: `rd_${'A'.repeat(43)}=` }, { rememberToken: `RD_${'A'.repeat(43)}` }, { rememberToken: 42 }, { rememberToken: null }]) {
    expectError(t, await gw.call('POST', '/v1/signin', { token, body: JSON.stringify(body) }), 400, 'BAD_REQUEST')
  }
  expectError(t, await gw.call('POST', '/v1/signin', { token, body: '{"purpose":' }), 400, 'BAD_REQUEST')
  t.equal((await gw.redis.keys('gw:signin:*')).length, keysBefore, 'no transaction was created')

  t.equal(fake.callsOf(username, 'verify'), 0, 'no verify reached the factor')
  t.equal(fake.callsOf(username, 'confirm'), 0, 'no confirm reached the factor')
  const flow = JSON.parse(await gw.redis.get(`gw:signin:${id}`) as string)
  t.match(flow, { state: 'challenge', attempts: 0, rev: 0 }, 'the transaction is untouched')
  const ok = await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '000000' } })
  t.equal(ok.json().status, 'verified', 'and still usable')
  issued.push(ok.json().token)

  expectError(t, await gw.call('GET', '/v1/nothing-here', { token }), 404, 'NOT_FOUND')
})

t.test('step-up rule for /v1/me changes', async (t) => {
  const { username, token } = await loginAs()

  t.test('without 2FA, the primary token is enough to enroll', async (t) => {
    const enroll = await gw.call('POST', '/v1/me/totp', { token })
    t.equal(enroll.statusCode, 200)
    t.match(enroll.json(), { enrollmentId: /^enr_/, secret: /^[A-Z2-7]{32}$/, otpauthUri: /^otpauth:/, qrSvg: /<svg/, expiresAt: String })
    const enrollmentId = enroll.json().enrollmentId as string
    const wrong = await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId, code: WRONG_CODE } })
    t.equal(wrong.statusCode, 200)
    t.same(wrong.json(), { status: 'rejected', reason: 'invalid_code' })
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: 'enr_BBBBBBBBBBBBBBBBBBBBBB', code: '000000' } }), 404, 'NOT_FOUND')
    const ok = await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId, code: '000000' } })
    t.match(ok.json(), { status: 'confirmed', confirmedAt: String })
    t.match((await gw.call('GET', '/v1/me/factors', { token })).json(), { twoFactor: 'enrolled' })
  })

  t.test('with 2FA, changes need a fresh MFA token of the same user and application', async (t) => {
    const removesBefore = fake.callsOf(username, 'remove')
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('POST', '/v1/me/totp', { token }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId: 'enr_BBBBBBBBBBBBBBBBBBBBBB', code: '000000' } }), 403, 'STEP_UP_REQUIRED')
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': 'garbage' } }), 403, 'STEP_UP_REQUIRED')
    t.equal((await gw.call('GET', '/v1/me/factors', { token })).statusCode, 200, 'reading needs no step-up')

    const someoneElse = await loginAs()
    fake.enroll(someoneElse.username)
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': await mfaToken(someoneElse.token) } }), 403, 'STEP_UP_REQUIRED')

    const otherApp = await loginAs(username, 'other-app')
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': await mfaToken(otherApp.token) } }), 403, 'STEP_UP_REQUIRED')

    const noFactor = await loginAs()
    const aal1 = (await gw.call('POST', '/v1/signin', { token: noFactor.token })).json().token as string
    fake.enroll(noFactor.username)
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token: noFactor.token, headers: { 'x-mfa-token': aal1 } }), 403, 'STEP_UP_REQUIRED')

    const stale = await mfaToken(token)
    clock.advance(601_000)
    expectError(t, await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': stale } }), 403, 'STEP_UP_REQUIRED')
    t.equal(fake.callsOf(username, 'remove'), removesBefore, 'nothing was removed')

    const fresh = await mfaToken(token)
    const res = await gw.call('DELETE', '/v1/me/totp', { token, headers: { 'x-mfa-token': fresh } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { removed: true })
    t.match((await gw.call('GET', '/v1/me/factors', { token })).json(), { twoFactor: 'none' })
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

  const { username } = await loginAs()
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
  const primary = await hsToken({ sub: username, azp: 'demo-app' }, { secret })
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
  const { username } = await loginAs()
  fake.enroll(username)
  const primary = await hsToken({ sub: username, azp: 'demo-app' }, { secret })
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
    ['an enrollment token where an MFA token is needed (POST /v1/me/totp is an enrollment route, so this one is tried on DELETE below)', ''],
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
    if (mfa === '') continue
    expectError(t, await tryIt(mfa), 403, 'STEP_UP_REQUIRED')
    t.pass(`refused: ${what}`)
  }
  const enrollment = await app.tokens.signEnrollment({ sub: username, aud: 'demo-app', amr: [], authTime: now })
  expectError(t, await app.inject({ method: 'DELETE', url: '/v1/me/totp', headers: { authorization: `Bearer ${primary}`, 'x-mfa-token': enrollment } }), 403, 'STEP_UP_REQUIRED')
  t.equal((await tryIt(await es(good))).statusCode, 200, 'the same token with the right claims is accepted')
})

t.test('self-service: remembered devices listed and revoked one by one; disable', async (t) => {
  const { username, token } = await loginAs()
  fake.enroll(username)
  const id = await startChallenge(token)
  const remembered = await gw.call('POST', `/v1/signin/${id}/verify`, {
    token, headers: { 'user-agent': 'Safari on macOS' }, body: { method: 'totp', code: '000000', rememberDevice: true },
  })
  const rememberToken = remembered.json().rememberToken as string
  t.match(rememberToken, /^rd_[A-Za-z0-9_-]{43}$/)
  issued.push(remembered.json().token, rememberToken)
  const second = (await gw.app.rememberedDevices.issue(username, { label: 'Firefox', days: 30 })).device

  const list = (await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices as Array<Record<string, string>>
  t.equal(list.length, 2)
  for (const d of list) t.same(Object.keys(d).sort(), ['createdAt', 'expiresAt', 'id', 'label', 'lastUsedAt'], 'never the token')
  t.notOk(JSON.stringify(list).includes(rememberToken))
  const first = list.find((d) => d.id !== second.id) as Record<string, string>
  t.equal(Date.parse(first.expiresAt as string) - Date.parse(first.createdAt as string), 30 * 24 * 3600_000, 'the default policy remembers for 30 days')

  // Revoking is a change under /v1/me: it follows the step-up rule.
  expectError(t, await gw.call('DELETE', `/v1/me/remembered-devices/${first.id}`, { token }), 403, 'STEP_UP_REQUIRED')
  const mfa = await mfaToken(token)
  const other = await loginAs()
  t.same((await gw.call('DELETE', `/v1/me/remembered-devices/${first.id}`, { token: other.token })).json(), { removed: false }, 'not another user\'s device')
  t.same((await gw.call('DELETE', `/v1/me/remembered-devices/${first.id}`, { token, headers: { 'x-mfa-token': mfa } })).json(), { removed: true })
  t.same((await gw.call('DELETE', `/v1/me/remembered-devices/${first.id}`, { token, headers: { 'x-mfa-token': mfa } })).json(), { removed: false })
  t.same((await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices.map((d: { id: string }) => d.id), [second.id])
  t.equal((await gw.call('POST', '/v1/signin', { token, body: { rememberToken } })).json().status, 'challenge', 'the revoked token no longer skips')
  for (const bad of ['x', 'rdv_short', `rdv_${'A'.repeat(22)}!`, 'RDV_AAAAAAAAAAAAAAAAAAAAAA', 'a'.repeat(190)]) {
    expectError(t, await gw.call('DELETE', `/v1/me/remembered-devices/${bad}`, { token, headers: { 'x-mfa-token': mfa } }), 400, 'BAD_REQUEST')
  }

  // Disable: the step-up rule, then user.reset; remembered devices go at once.
  const events: Array<{ userId: string, reason: string }> = []
  const sub = gw.nc.subscribe('warden.events.v1.user.reset', { callback: (_err, msg) => { events.push(msg.json()) } })
  t.teardown(() => { sub.unsubscribe() })
  await gw.nc.flush()
  expectError(t, await gw.call('POST', '/v1/me/disable', { token }), 403, 'STEP_UP_REQUIRED')
  for (const body of ['{"x":1}', '[]', '"yes"', '{"disabled":true}']) {
    expectError(t, await gw.call('POST', '/v1/me/disable', { token, headers: { 'x-mfa-token': mfa }, body }), 400, 'BAD_REQUEST')
  }
  t.equal(events.length, 0, 'nothing happened yet')
  t.equal((await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices.length, 1)
  const res = await gw.call('POST', '/v1/me/disable', { token, headers: { 'x-mfa-token': mfa } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { disabled: true })
  await gw.nc.flush()
  for (let i = 0; i < 50 && events.length === 0; i++) await new Promise((resolve) => setImmediate(resolve))
  t.match(events, [{ userId: username, reason: 'disabled' }])
  t.same((await gw.call('GET', '/v1/me/factors', { token })).json().rememberedDevices, [])

  // Without 2FA the primary token is enough (and {} is a body too).
  const plain = await loginAs()
  t.same((await gw.call('POST', '/v1/me/disable', { token: plain.token, body: {} })).json(), { disabled: true })
})

t.test('degradation: a factor that does not answer', async (t) => {
  const withTotp = await loginAs()
  fake.enroll(withTotp.username)
  const without = await loginAs()
  await placeholders.get('push')?.()

  t.test('GET /v1/me/factors still answers at once, with that factor unavailable', async (t) => {
    const started = Date.now()
    const res = await gw.call('GET', '/v1/me/factors', { token: without.token })
    t.ok(Date.now() - started < 1_000, 'quick')
    t.equal(res.statusCode, 200)
    t.match(res.json(), { twoFactor: 'unknown' })
    t.same(res.json().factors.find((f: { factor: string }) => f.factor === 'push'), { factor: 'push', available: false })
    t.match(res.json().factors.find((f: { factor: string }) => f.factor === 'totp'), { available: true, enrolled: false })
  })

  t.test('a hanging factor costs DESCRIBE_TIMEOUT_MS, no more', async (t) => {
    const sub = gw.nc.subscribe(describePush.subject, { callback: () => {} }) // hears, never answers
    t.teardown(() => { sub.unsubscribe() })
    await gw.nc.flush()
    const started = Date.now()
    const res = await gw.call('GET', '/v1/me/factors', { token: withTotp.token })
    const elapsed = Date.now() - started
    t.ok(elapsed >= 250 && elapsed < 1_500, `bounded by the describe deadline (${elapsed} ms)`)
    t.match(res.json(), { twoFactor: 'enrolled' })
    t.same(res.json().factors[0], { factor: 'push', available: false })
  })

  t.test('sign-in keeps working for users of other factors, and fails closed for the rest', async (t) => {
    const res = await gw.call('POST', '/v1/signin', { token: withTotp.token })
    t.match(res.json(), { status: 'challenge', defaultMethod: 'totp' })
    t.same(res.json().methods, [{ method: 'push', available: false, items: [] }, { method: 'totp', available: true, createdAt: '2026-01-01T00:00:00.000Z', items: [] }],
      'the silent factor is listed as unavailable')
    const closed = await gw.call('POST', '/v1/signin', { token: without.token })
    expectError(t, closed, 503, 'UNAVAILABLE')
    t.ok(Number(closed.headers['retry-after']) > 0)
    expectError(t, await gw.call('POST', '/v1/me/totp', { token: without.token }), 503, 'UNAVAILABLE')
  })

  t.test('with the factor back, all is normal', async (t) => {
    const again = await startPlaceholders(t, gw.nc, ['push'])
    t.teardown(async () => { await again.get('push')?.() })
    t.match((await gw.call('GET', '/v1/me/factors', { token: without.token })).json(), { twoFactor: 'none' })
    t.equal((await gw.call('POST', '/v1/signin', { token: without.token })).json().status, 'not_required')
  })
})

t.test('OpenAPI document and docs', async (t) => {
  const res = await gw.call('GET', '/openapi.json')
  t.equal(res.statusCode, 200)
  type Op = { security?: Array<Record<string, unknown>>, responses: Record<string, { content?: Record<string, { example?: unknown, examples?: unknown }> }>, requestBody?: { content?: Record<string, { example?: unknown, examples?: unknown }> } }
  const doc = res.json() as { openapi: string, paths: Record<string, Record<string, Op>> }
  t.equal(doc.openapi, '3.1.0')
  const expected: Record<string, string[]> = {
    '/v1/demo/login': ['post'],
    '/v1/signin': ['post'],
    '/v1/signin/{transactionId}': ['get'],
    '/v1/signin/{transactionId}/challenge': ['post'],
    '/v1/signin/{transactionId}/push/{challengeId}': ['get'],
    '/v1/signin/{transactionId}/verify': ['post'],
    '/v1/me/factors': ['get'],
    '/v1/me/totp': ['post', 'delete'],
    '/v1/me/totp/confirm': ['post'],
    '/v1/me/remembered-devices/{id}': ['delete'],
    '/v1/me/disable': ['post'],
    '/.well-known/jwks.json': ['get'],
    '/healthz': ['get'],
    '/readyz': ['get'],
    '/metrics': ['get'],
  }
  // /v1/admin is documented and tested in admin-ratelimit.test.ts.
  const ours = Object.keys(doc.paths).filter((p) => !p.startsWith('/v1/admin/'))
  t.same(ours.sort(), Object.keys(expected).sort(), 'every route, and only those')
  for (const [path, methods] of Object.entries(expected)) {
    t.same(Object.keys(doc.paths[path] ?? {}).sort(), [...methods].sort(), path)
    for (const m of methods) {
      const op = doc.paths[path]?.[m]
      t.ok(op?.responses['200']?.content, `${m} ${path} documents its 200 answer`)
      const ok = op?.responses['200']?.content?.['application/json']
      if (path.startsWith('/v1/') || path.startsWith('/.well-known')) t.ok(ok?.example !== undefined || ok?.examples !== undefined, `${m} ${path}: its answer has examples`)
      const body = op?.requestBody?.content?.['application/json']
      if (body !== undefined && path !== '/v1/me/disable') t.ok(body.example !== undefined || body.examples !== undefined, `${m} ${path}: its body has examples`)
      if (path.startsWith('/v1/signin') || path.startsWith('/v1/me')) {
        t.ok(op?.security?.some((s) => 'bearer' in s), `${m} ${path} needs a bearer token`)
        t.ok(op?.responses['4XX']?.content, `${m} ${path} documents its errors`)
      } else {
        t.same(op?.security, [], `${m} ${path} is public`)
      }
    }
  }
  // Every route registered on the app is in the document (the docs UI, the document and the
  // hosted pages under /ui aside: HTML, not API): count routed operations against documented ones.
  const routed = gw.app.printRoutes({ commonPrefix: false }).split('\n')
    .filter((line) => !/docs|static|\/json|\/yaml|\* \(|openapi\.json|\/ui|\/:asset/.test(line))
    .reduce((n, line) => n + (line.match(/\b(GET|POST|PUT|PATCH|DELETE)\b/g) ?? []).length, 0)
  const documented = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0)
  t.equal(routed, documented, 'as many routed operations as documented ones')
  t.equal(Object.entries(doc.paths).filter(([p]) => !p.startsWith('/v1/admin/')).reduce((n, [, ops]) => n + Object.keys(ops).length, 0), 16)
  const docs = await gw.call('GET', '/docs')
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /text\/html/)
  t.notMatch(docs.headers['content-security-policy'], /upgrade-insecure-requests/)
})

t.test('ops endpoints on the gateway port', async (t) => {
  t.same((await gw.call('GET', '/healthz')).json(), { status: 'ok' })
  const ready = await gw.call('GET', '/readyz')
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { nats: 'ok', redis: 'ok' } })
  const metrics = await gw.call('GET', '/metrics')
  t.match(metrics.headers['content-type'], /text\/plain/)
  t.match(metrics.body, /warden_http_requests_total\{service="auth-gateway",method="POST",route="\/v1\/signin\/:transactionId\/verify",status="200"\} \d+/)
  t.match(metrics.body, /warden_signin_total\{service="auth-gateway",status="challenge"\} \d+/)
  t.notMatch(metrics.body, /txn_/, 'no ids in labels')
})

t.test('logs never carry codes, tokens or secrets', async (t) => {
  const text = gw.log.text()
  t.ok(text.length > 0)
  t.ok(issued.length > 10)
  // A JWT by its signature; an opaque remember-device token whole.
  for (const token of issued) t.notOk(text.includes(token.includes('.') ? token.split('.')[2] as string : token), 'no token in the logs')
  t.ok(issued.some((tok) => tok.startsWith('rd_')), 'remember-device tokens were checked too')
  t.notMatch(text, /rd_[A-Za-z0-9_-]{43}/, 'no remember-device token at all')
  t.notOk(text.includes(WRONG_CODE), 'no typed code')
  t.notOk(text.includes(gw.secret), 'no primary secret')
  t.notOk(text.includes('JBSWY3DPEHPK3PXP'), 'no TOTP secret')
  t.notOk(text.includes('otpauth://'), 'no otpauth URI')
  t.notOk(/authorization/i.test(text), 'no Authorization header')
})
