// Admin routes and the gateway's rate limits, against real NATS and Redis, with the real
// factor-totp service in this process (one manual clock for it and the gateway, so TOTP codes are
// computed as an authenticator app would) and placeholder services for the other factors.
import t, { type Test } from 'tap'
import { Ajv } from 'ajv'
import { SignJWT } from 'jose'
import { generateSync } from 'otplib'
import { Redis } from 'ioredis'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { loadTotpConfig, startTotpService } from '@warden/factor-totp'
import { generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, manualClock, startInfra, uniqueUserId } from '@warden/testkit'
import { buildApp } from '../src/app.js'
import { loadGatewayConfig } from '../src/config.js'
import { isV1, RATE_LIMIT_PREFIX, transactionOf } from '../src/plugins/rate-limit.js'
import { adminErrorResponses, AdminUserFactors, ClientIdParams, PolicyBody, PolicyView, ResetAnswer, ResetBody, SubParams } from '../src/schemas-admin.js'
import { startGateway, startPlaceholders, uniqueUsername } from './fixtures/gateway.js'

const clock = manualClock(new Date())
const infra = await startInfra(t)
const totpLog = captureLog()
const totp = await startTotpService(loadTotpConfig({
  NATS_URL: infra.nats.url,
  REDIS_URL: infra.redis.url,
  SECRET_KEYS: generateKeyRingSpec(),
  LOG_LEVEL: 'info',
  OPS_HOST: '127.0.0.1',
  OPS_PORT: '0',
}), { clock, logDestination: totpLog.stream })
t.teardown(() => totp.stop())

// The main gateway: limits out of the way (every inject() comes from 127.0.0.1).
const gw = await startGateway(t, { clock, infra })
const placeholders = await startPlaceholders(t, gw.nc)

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'
interface SendOpts { token?: string, body?: unknown, raw?: string, contentType?: string, ip?: string }

/** `inject` with any method, a bearer token, a JSON (or raw) body and a client address. */
async function send (app: FastifyInstance, method: Method, url: string, o: SendOpts = {}): Promise<LightMyRequestResponse> {
  const payload = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body))
  return app.inject({
    method,
    url,
    remoteAddress: o.ip ?? '127.0.0.1',
    headers: {
      ...(o.token === undefined ? {} : { authorization: `Bearer ${o.token}` }),
      ...(payload === undefined ? {} : { 'content-type': o.contentType ?? 'application/json' }),
    },
    ...(payload === undefined ? {} : { payload }),
  })
}
const call = async (method: Method, url: string, o: SendOpts = {}) => send(gw.app, method, url, o)

function expectError (t: Test, res: LightMyRequestResponse, status: number, code: string): void {
  t.equal(res.statusCode, status, `status ${status} (${res.body.slice(0, 160)})`)
  const body = res.json() as { error?: { code?: string, message?: unknown } }
  t.same(Object.keys(body), ['error'], 'only an error member')
  t.equal(body.error?.code, code)
  t.type(body.error?.message, 'string')
}

/** An HS256 primary token signed with the gateway's secret (what an upstream IdP would send). */
async function primaryToken (claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(clock.now().getTime() / 1000)
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now).setExpirationTime(now + 600)
    .sign(new TextEncoder().encode(gw.secret))
}

const adminToken = await gw.login('admin')
const userToken = await gw.login(uniqueUsername('plain'))

/** Every admin route, with a request that is well-formed. */
function adminRoutes (): Array<{ method: Method, url: string, body?: unknown, ok: number }> {
  const clientId = uniqueUserId('app')
  const sub = uniqueUsername('target')
  return [
    { method: 'GET', url: `/v1/admin/policies/${clientId}`, ok: 200 },
    { method: 'PUT', url: `/v1/admin/policies/${clientId}`, body: { mode: 'off' }, ok: 200 },
    { method: 'GET', url: `/v1/admin/users/${sub}/factors`, ok: 200 },
    { method: 'POST', url: `/v1/admin/users/${sub}/reset`, ok: 202 },
  ]
}

// ---- admin: who may call ---------------------------------------------------------------------

t.test('admin routes: 401 without a token, 403 without the role, the admin gets through', async (t) => {
  const wrongRole = await primaryToken({ sub: uniqueUsername('r'), azp: 'demo-app', role: 'warden:user' })
  const roleArray = await primaryToken({ sub: uniqueUsername('r'), azp: 'demo-app', role: ['warden:admin'] })
  const roleCase = await primaryToken({ sub: uniqueUsername('r'), azp: 'demo-app', role: 'Warden:Admin' })
  const upstreamAdmin = await primaryToken({ sub: uniqueUsername('ops'), azp: 'console', role: 'warden:admin' })
  for (const r of adminRoutes()) {
    const name = `${r.method} ${r.url}`
    const none = await call(r.method, r.url, { body: r.body })
    expectError(t, none, 401, 'UNAUTHENTICATED')
    t.match(none.headers['www-authenticate'], /^Bearer/, `${name}: WWW-Authenticate`)
    expectError(t, await call(r.method, r.url, { token: 'not.a.jwt', body: r.body }), 401, 'UNAUTHENTICATED')
    for (const token of [userToken, wrongRole, roleArray, roleCase]) {
      expectError(t, await call(r.method, r.url, { token, body: r.body }), 403, 'FORBIDDEN')
    }
    t.equal((await call(r.method, r.url, { token: adminToken, body: r.body })).statusCode, r.ok, `${name}: admin (demo IdP)`)
    t.equal((await call(r.method, r.url, { token: upstreamAdmin, body: r.body })).statusCode, r.ok, `${name}: admin (upstream IdP token)`)
  }
})

t.test('a refused caller changes nothing', async (t) => {
  const clientId = uniqueUserId('app')
  t.equal((await call('PUT', `/v1/admin/policies/${clientId}`, { token: adminToken, body: { mode: 'required', rememberDays: 3 } })).statusCode, 200)
  expectError(t, await call('PUT', `/v1/admin/policies/${clientId}`, { token: userToken, body: { mode: 'off' } }), 403, 'FORBIDDEN')
  t.match((await gw.app.policies.get(clientId)), { mode: 'required', rememberDays: 3, isDefault: false })

  const sub = uniqueUsername('victim')
  await gw.app.rememberedDevices.issue(sub, { label: 'Laptop', days: 30 })
  expectError(t, await call('POST', `/v1/admin/users/${sub}/reset`, { token: userToken }), 403, 'FORBIDDEN')
  expectError(t, await call('POST', `/v1/admin/users/${sub}/reset`), 401, 'UNAUTHENTICATED')
  t.equal((await gw.app.rememberedDevices.list(sub)).length, 1, 'the remembered device is still there')
})

// ---- admin: policies -------------------------------------------------------------------------

t.test('policies: default when absent, PUT/GET round trip through the store port', async (t) => {
  const clientId = `${uniqueUserId('app')}.example:web`
  const before = await call('GET', `/v1/admin/policies/${clientId}`, { token: adminToken })
  t.equal(before.statusCode, 200)
  t.same(before.json(), { clientId, mode: 'adaptive', rememberDays: 30, stepUpMaxAgeSec: 600, isDefault: true }, 'the configured defaults')
  t.equal(before.headers['cache-control'], 'no-store')

  const put = await call('PUT', `/v1/admin/policies/${clientId}`, { token: adminToken, body: { mode: 'required', rememberDays: 7, stepUpMaxAgeSec: 300 } })
  t.equal(put.statusCode, 200)
  const stored = { clientId, mode: 'required', rememberDays: 7, stepUpMaxAgeSec: 300, isDefault: false }
  t.same(put.json(), stored, 'answers the stored policy')
  t.same((await call('GET', `/v1/admin/policies/${clientId}`, { token: adminToken })).json(), stored)
  t.same(await gw.app.policies.get(clientId), stored, 'what sign-in reads (app.policies, KV bucket gateway_policies)')

  // PUT replaces: absent fields take the configured defaults.
  const replaced = await call('PUT', `/v1/admin/policies/${clientId}`, { token: adminToken, body: { mode: 'off' } })
  t.same(replaced.json(), { clientId, mode: 'off', rememberDays: 30, stepUpMaxAgeSec: 600, isDefault: false })
  t.same((await call('GET', `/v1/admin/policies/${clientId}`, { token: adminToken })).json(), replaced.json())

  // Bounds are inclusive; a client id with reserved characters is percent-encoded.
  const edges = await call('PUT', `/v1/admin/policies/${clientId}`, { token: adminToken, body: { mode: 'adaptive', rememberDays: 0, stepUpMaxAgeSec: 3600 } })
  t.same(edges.json(), { clientId, mode: 'adaptive', rememberDays: 0, stepUpMaxAgeSec: 3600, isDefault: false })
  const urlApp = 'https://app.example.com/cb?x=1'
  t.equal((await call('PUT', `/v1/admin/policies/${encodeURIComponent(urlApp)}`, { token: adminToken, body: { mode: 'required', rememberDays: 30, stepUpMaxAgeSec: 60 } })).statusCode, 200)
  t.match(await gw.app.policies.get(urlApp), { clientId: urlApp, mode: 'required', stepUpMaxAgeSec: 60, isDefault: false })
  t.match(await gw.app.policies.get(uniqueUserId('other')), { isDefault: true }, 'other applications keep the default')
})

t.test('policies: malformed input is 400 BAD_REQUEST and leaves the stored policy intact', async (t) => {
  const clientId = uniqueUserId('app')
  const url = `/v1/admin/policies/${clientId}`
  const good = { mode: 'required', rememberDays: 5, stepUpMaxAgeSec: 120 }
  t.equal((await call('PUT', url, { token: adminToken, body: good })).statusCode, 200)
  const bad: Array<[string, SendOpts]> = [
    ['mode sometimes', { body: { mode: 'sometimes' } }],
    ['mode in capitals', { body: { mode: 'REQUIRED' } }],
    ['no mode', { body: { rememberDays: 3 } }],
    ['rememberDays 31', { body: { mode: 'off', rememberDays: 31 } }],
    ['rememberDays -1', { body: { mode: 'off', rememberDays: -1 } }],
    ['rememberDays 1.5', { body: { mode: 'off', rememberDays: 1.5 } }],
    ['rememberDays as a string', { body: { mode: 'off', rememberDays: '7' } }],
    ['stepUpMaxAgeSec 59', { body: { mode: 'off', stepUpMaxAgeSec: 59 } }],
    ['stepUpMaxAgeSec 3601', { body: { mode: 'off', stepUpMaxAgeSec: 3601 } }],
    ['stepUpMaxAgeSec null', { body: { mode: 'off', stepUpMaxAgeSec: null } }],
    ['mode as a number', { body: { mode: 1 } }],
    ['an extra field', { body: { mode: 'off', isDefault: true } }],
    ['clientId in the body', { body: { mode: 'off', clientId: 'other' } }],
    ['an array', { body: [{ mode: 'off' }] }],
    ['null', { raw: 'null' }],
    ['a string', { body: 'off' }],
    ['broken JSON', { raw: '{"mode": "off"' }],
    ['no body', {}],
    ['text/plain', { raw: '{"mode":"off"}', contentType: 'text/plain' }],
  ]
  for (const [name, o] of bad) {
    const res = await call('PUT', url, { token: adminToken, ...o })
    expectError(t, res, 400, 'BAD_REQUEST')
    t.notMatch(res.body, /\/src\/|node_modules/, `${name}: no internals`)
  }
  // Malformed client ids: a space, a control character, too long (the router's limit is 200).
  for (const id of ['a%20b', 'a%0Ab', 'x'.repeat(201)]) {
    expectError(t, await call('PUT', `/v1/admin/policies/${id}`, { token: adminToken, body: { mode: 'off' } }), 400, 'BAD_REQUEST')
    expectError(t, await call('GET', `/v1/admin/policies/${id}`, { token: adminToken }), 400, 'BAD_REQUEST')
  }
  t.equal((await call('PUT', url, { token: adminToken, body: { mode: 'sometimes' } })).json().error.message,
    'body/mode must be equal to one of the allowed values', 'a message naming the field, as in the OpenAPI example')
  t.same((await call('GET', url, { token: adminToken })).json(), { clientId, ...good, isDefault: false }, 'unchanged')
})

// ---- admin: users --------------------------------------------------------------------------

const codeOf = (secret: string): string => generateSync({ secret, epoch: Math.floor(clock.now().getTime() / 1000) })

/** Enrolls and confirms TOTP for the token's user through the gateway routes. */
async function enrollTotp (token: string): Promise<void> {
  const enroll = await call('POST', '/v1/me/totp', { token })
  if (enroll.statusCode !== 200) throw new Error(`enroll: ${enroll.body}`)
  const { enrollmentId, secret } = enroll.json() as { enrollmentId: string, secret: string }
  const res = await call('POST', '/v1/me/totp/confirm', { token, body: { enrollmentId, code: codeOf(secret) } })
  if (res.json().status !== 'confirmed') throw new Error(`confirm: ${res.body}`)
}

type FactorsAnswer = { sub: string, twoFactor: string, factors: Array<{ factor: string, available: boolean, enrolled?: boolean }>, rememberedDevices: Array<{ id: string, label: string }> }
const totpOf = (a: FactorsAnswer) => a.factors.find((f) => f.factor === 'totp')

async function adminFactors (sub: string): Promise<FactorsAnswer> {
  const res = await call('GET', `/v1/admin/users/${encodeURIComponent(sub)}/factors`, { token: adminToken })
  if (res.statusCode !== 200) throw new Error(`admin factors: ${res.statusCode} ${res.body}`)
  return res.json() as FactorsAnswer
}

t.test('user factors and reset, end to end with factor-totp', async (t) => {
  const sub = uniqueUsername('reset')
  const token = await gw.login(sub)
  const bystander = uniqueUsername('keep')
  const bystanderToken = await gw.login(bystander)
  await enrollTotp(token)
  await enrollTotp(bystanderToken)
  const { token: rememberToken, device } = await gw.app.rememberedDevices.issue(sub, { label: 'Firefox on Linux', days: 30 })
  await gw.app.rememberedDevices.issue(bystander, { label: 'Phone', days: 30 })

  const before = await adminFactors(sub)
  t.equal(before.sub, sub)
  t.equal(before.twoFactor, 'enrolled')
  t.same(before.factors.map((f) => f.factor), ['push', 'webauthn', 'totp', 'sms', 'recovery'], 'every factor, in method order')
  t.match(totpOf(before), { factor: 'totp', available: true, enrolled: true, createdAt: String, items: Array })
  t.ok(before.factors.every((f) => f.available), 'all answered')
  t.same(before.rememberedDevices, [{ id: device.id, label: 'Firefox on Linux', createdAt: device.createdAt, lastUsedAt: device.lastUsedAt, expiresAt: device.expiresAt }])
  t.notOk(JSON.stringify(before).includes(rememberToken), 'no remember-device token in the answer')
  // Same factor list as the user sees.
  t.same(before.factors, (await call('GET', '/v1/me/factors', { token })).json().factors, 'same shape as GET /v1/me/factors')

  const reset = await call('POST', `/v1/admin/users/${sub}/reset`, { token: adminToken })
  t.equal(reset.statusCode, 202)
  t.match(reset.json(), { reset: true, eventId: /^evt_[A-Za-z0-9_-]{16,64}$/ })
  t.same(Object.keys(reset.json()).sort(), ['eventId', 'reset'])
  t.same(await gw.app.rememberedDevices.list(sub), [], 'remembered devices revoked at once')
  t.equal(await gw.app.rememberedDevices.use(sub, rememberToken, 30), undefined, 'the old remember token no longer works')

  // factor-totp deletes the user's data when it consumes user.reset (bounded wait).
  const deadline = Date.now() + 5_000
  let after = await adminFactors(sub)
  while (totpOf(after)?.enrolled !== false && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    after = await adminFactors(sub)
  }
  t.match(totpOf(after), { factor: 'totp', available: true, enrolled: false }, 'TOTP is gone')
  t.equal(after.twoFactor, 'none')
  t.same(after.rememberedDevices, [])
  t.match((await call('GET', '/v1/me/factors', { token })).json(), { twoFactor: 'none' }, 'the user sees it too')

  // Only that user.
  const other = await adminFactors(bystander)
  t.match(totpOf(other), { enrolled: true }, 'the bystander keeps TOTP')
  t.equal(other.rememberedDevices.length, 1, 'and their remembered device')

  // A reset is idempotent: again, and for a user who never had anything.
  t.equal((await call('POST', `/v1/admin/users/${sub}/reset`, { token: adminToken, body: {} })).statusCode, 202)
  const nobody = await call('POST', `/v1/admin/users/${uniqueUsername('nobody')}/reset`, { token: adminToken })
  t.equal(nobody.statusCode, 202)
  t.not(nobody.json().eventId, reset.json().eventId, 'a new event each time')
})

t.test('user routes: malformed input is 400, and a reset body must be empty', async (t) => {
  const sub = uniqueUsername('bad')
  await gw.app.rememberedDevices.issue(sub, { label: 'Tablet', days: 30 })
  const bad: Array<[Method, string, SendOpts]> = [
    ['POST', `/v1/admin/users/${sub}/reset`, { body: { sub } }],
    ['POST', `/v1/admin/users/${sub}/reset`, { body: [] }],
    ['POST', `/v1/admin/users/${sub}/reset`, { raw: '{' }],
    ['POST', `/v1/admin/users/${sub}/reset`, { body: 'yes' }],
    ['POST', '/v1/admin/users/a%20b/reset', {}],
    ['POST', `/v1/admin/users/${'u'.repeat(201)}/reset`, {}],
    ['GET', '/v1/admin/users/a%00b/factors', {}],
    ['GET', '/v1/admin/users/%C3%A9/factors', {}],
    ['GET', `/v1/admin/users/${'u'.repeat(201)}/factors`, {}],
  ]
  for (const [method, url, o] of bad) expectError(t, await call(method, url, { token: adminToken, ...o }), 400, 'BAD_REQUEST')
  t.equal((await gw.app.rememberedDevices.list(sub)).length, 1, 'no reset happened')
  expectError(t, await call('GET', '/v1/admin/users/x/nope', { token: adminToken }), 404, 'NOT_FOUND')
  expectError(t, await call('DELETE', `/v1/admin/policies/${uniqueUserId('app')}`, { token: adminToken }), 404, 'NOT_FOUND')
})

t.test('a factor service that does not answer is marked unavailable, the rest still answer', async (t) => {
  const sub = uniqueUsername('partial')
  await enrollTotp(await gw.login(sub))
  await placeholders.get('sms')?.()
  const started = Date.now()
  const res = await adminFactors(sub)
  t.ok(Date.now() - started < 1_500, 'no hang')
  t.match(res.factors.find((f) => f.factor === 'sms'), { factor: 'sms', available: false })
  t.same(Object.keys(res.factors.find((f) => f.factor === 'sms') ?? {}).sort(), ['available', 'factor'])
  t.match(totpOf(res), { available: true, enrolled: true })
  t.equal(res.twoFactor, 'enrolled')
})

// ---- rate limits -----------------------------------------------------------------------------

t.test('rate limits', async (t) => {
  const IP_MAX = 8
  const TXN_MAX = 3
  const LOGIN_MAX = 2
  // A second gateway on the same infrastructure and keys, with small limits. Each test below uses
  // client addresses of its own (TEST-NET), so no counter is shared between them.
  const limited = await startGateway(t, {
    clock,
    infra,
    env: {
      PRIMARY_JWT_HS256_SECRET: gw.secret,
      RATE_LIMIT_IP_PER_MIN: String(IP_MAX),
      RATE_LIMIT_TRANSACTION_PER_MIN: String(TXN_MAX),
      RATE_LIMIT_DEMO_LOGIN_PER_MIN: String(LOGIN_MAX),
    },
  })
  const hit = async (method: Method, url: string, o: SendOpts = {}) => send(limited.app, method, url, o)

  function expectLimited (t: Test, res: LightMyRequestResponse): void {
    expectError(t, res, 429, 'RATE_LIMITED')
    const retryAfter = Number(res.headers['retry-after'])
    t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(res.headers['retry-after'])}`)
    t.equal(res.json().error.retryAfterSec, retryAfter, 'retryAfterSec equals Retry-After')
    t.match(res.json().error.message, /too many requests/)
  }

  t.test('per IP: the N+1-th request is 429; unauthenticated requests count, before authentication', async (t) => {
    const ip = '198.51.100.1'
    for (let i = 0; i < IP_MAX; i++) expectError(t, await hit('GET', '/v1/me/factors', { ip }), 401, 'UNAUTHENTICATED')
    const flooded = await hit('GET', '/v1/me/factors', { ip })
    expectLimited(t, flooded)
    t.equal(flooded.headers['www-authenticate'], undefined, 'refused before authentication')
    // Now even a valid token (or an admin) from that address is refused.
    expectLimited(t, await hit('GET', '/v1/me/factors', { ip, token: userToken }))
    expectLimited(t, await hit('GET', `/v1/admin/policies/${uniqueUserId('app')}`, { ip, token: adminToken }))
    // Another address is not affected; routes outside /v1 are not limited.
    t.equal((await hit('GET', '/v1/me/factors', { ip: '198.51.100.2', token: userToken })).statusCode, 200, 'another client')
    t.equal((await hit('GET', '/.well-known/jwks.json', { ip })).statusCode, 200, 'JWKS is not limited')
    t.equal((await hit('GET', '/openapi.json', { ip })).statusCode, 200, 'the OpenAPI document is not limited')
    // The counter lives in Redis, under the gateway's prefix, for one window.
    const ttl = await gw.redis.pttl(`${RATE_LIMIT_PREFIX}:ip:${ip}`)
    t.ok(ttl > 0 && ttl <= 60_000, `window in Redis (${ttl} ms)`)
  })

  t.test('per IP: unknown /v1 URLs and bad bodies count too; IPv6 is counted per /64', async (t) => {
    const ip = '198.51.100.3'
    for (let i = 0; i < IP_MAX; i++) t.equal((await hit('GET', `/v1/nothing/${i}`, { ip })).statusCode, 404)
    expectLimited(t, await hit('GET', '/v1/nothing/else', { ip }))

    const ip2 = '198.51.100.4'
    for (let i = 0; i < IP_MAX; i++) t.equal((await hit('PUT', '/v1/admin/policies/x', { ip: ip2, token: adminToken, raw: '{' })).statusCode, 400)
    expectLimited(t, await hit('PUT', '/v1/admin/policies/x', { ip: ip2, token: adminToken, body: { mode: 'off' } }))
    t.match(await gw.app.policies.get('x'), { isDefault: true }, 'the limited request changed nothing')

    for (let i = 0; i < IP_MAX; i++) t.equal((await hit('GET', '/v1/me/factors', { ip: `2001:db8:7:1::${i + 1}` })).statusCode, 401)
    expectLimited(t, await hit('GET', '/v1/me/factors', { ip: '2001:db8:7:1:ffff::1' }))
    t.equal((await hit('GET', '/v1/me/factors', { ip: '2001:db8:7:2::1' })).statusCode, 401, 'another /64')
  })

  t.test('per transaction: challenge and verify are limited per transaction id, independently of the IP limit', async (t) => {
    const token = await gw.login(uniqueUsername('txn'))
    const txnA = `txn_${'A'.repeat(43)}`
    const txnB = `txn_${'B'.repeat(43)}`
    const body = { method: 'totp', code: '123456' }
    const ip = '198.51.100.10'
    for (let i = 0; i < TXN_MAX; i++) {
      const res = await hit('POST', `/v1/signin/${txnA}/verify`, { ip, token, body })
      t.not(res.statusCode, 429, `attempt ${i + 1} reaches the route (${res.statusCode})`)
    }
    expectLimited(t, await hit('POST', `/v1/signin/${txnA}/verify`, { ip, token, body }))
    // From a fresh address the transaction is still limited: the key is the transaction.
    expectLimited(t, await hit('POST', `/v1/signin/${txnA}/verify`, { ip: '198.51.100.11', token, body }))
    // Another transaction from the same address is not (the IP limit, 8, is not reached: 4 so far).
    t.not((await hit('POST', `/v1/signin/${txnB}/verify`, { ip, token, body })).statusCode, 429, 'another transaction')
    // Reading a transaction does not spend its attempts.
    for (let i = 0; i < TXN_MAX + 1; i++) t.not((await hit('GET', `/v1/signin/${txnB}`, { ip: '198.51.100.12', token })).statusCode, 429)
    // Requests that never reach the route (no token, bad body) do not spend the transaction's attempts.
    const txnC = `txn_${'C'.repeat(43)}`
    for (let i = 0; i < TXN_MAX + 1; i++) {
      t.equal((await hit('POST', `/v1/signin/${txnC}/verify`, { ip: '198.51.100.13', body })).statusCode, 401)
    }
    t.not((await hit('POST', `/v1/signin/${txnC}/verify`, { ip: '198.51.100.14', token, body })).statusCode, 429, 'still has its attempts')
    // challenge and verify share the transaction's budget.
    const txnE = `txn_${'E'.repeat(43)}`
    const ipE = '198.51.100.15'
    for (let i = 0; i < TXN_MAX; i++) {
      const res = i % 2 === 0
        ? await hit('POST', `/v1/signin/${txnE}/challenge`, { ip: ipE, token, body: { method: 'totp' } })
        : await hit('POST', `/v1/signin/${txnE}/verify`, { ip: ipE, token, body })
      t.not(res.statusCode, 429, `challenge/verify ${i + 1} reaches the route (${res.statusCode})`)
    }
    expectLimited(t, await hit('POST', `/v1/signin/${txnE}/challenge`, { ip: ipE, token, body: { method: 'totp' } }))
    expectLimited(t, await hit('POST', `/v1/signin/${txnE}/verify`, { ip: ipE, token, body }))
    const ttl = await gw.redis.pttl(`${RATE_LIMIT_PREFIX}:transaction:${txnA}`)
    t.ok(ttl > 0 && ttl <= 60_000, `window in Redis (${ttl} ms)`)
  })

  t.test('which requests spend a transaction (challenge and verify, POST only)', async (t) => {
    const id = `txn_${'D'.repeat(43)}`
    t.equal(transactionOf('POST', '/v1/signin/:transactionId/verify', { transactionId: id }), id)
    t.equal(transactionOf('POST', '/v1/signin/:transactionId/challenge', { transactionId: id }), id)
    t.equal(transactionOf('POST', '/v1/signin/:id/challenge', { id }), id, 'whatever the param is called')
    t.equal(transactionOf('GET', '/v1/signin/:transactionId', { transactionId: id }), undefined)
    t.equal(transactionOf('GET', '/v1/signin/:transactionId/push/:challengeId', { transactionId: id }), undefined)
    t.equal(transactionOf('POST', '/v1/signin', {}), undefined)
    t.equal(transactionOf('POST', '/v1/signin/:transactionId/verify', {}), undefined)
    t.equal(transactionOf('POST', undefined, { transactionId: id }), undefined)
    t.ok(isV1('/v1/signin') && isV1('/v1/me/factors?x=1') && isV1('/v1') && isV1('/v1?x'))
    t.notOk(isV1('/v10/x') || isV1('/healthz') || isV1('/.well-known/jwks.json') || isV1('/docs/v1/'))
  })

  t.test('demo login: limited per IP', async (t) => {
    const ip = '198.51.100.20'
    for (let i = 0; i < LOGIN_MAX; i++) {
      t.equal((await hit('POST', '/v1/demo/login', { ip, body: { username: uniqueUsername('dl'), password: 'demo' } })).statusCode, 200)
    }
    expectLimited(t, await hit('POST', '/v1/demo/login', { ip, body: { username: uniqueUsername('dl'), password: 'demo' } }))
    expectLimited(t, await hit('POST', '/v1/demo/login', { ip, body: { username: 'admin', password: 'wrong' } }))
    t.equal((await hit('POST', '/v1/demo/login', { ip: '198.51.100.21', body: { username: uniqueUsername('dl'), password: 'demo' } })).statusCode, 200, 'another client')
    // The login limit is its own: other routes from that address still answer (IP limit not reached).
    t.equal((await hit('GET', '/v1/me/factors', { ip, token: userToken })).statusCode, 200)
  })

  t.test('Redis unreachable: the limiter fails closed with 503, never a pass', async (t) => {
    const redis = new Redis(infra.redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    await redis.connect()
    const config = loadGatewayConfig({
      NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, DEMO_MODE: 'true', PRIMARY_JWT_HS256_SECRET: gw.secret, LOG_LEVEL: 'info',
    })
    const app = await buildApp(config, { nc: gw.nc, redis, clock, logDestination: captureLog().stream })
    t.teardown(async () => { await app.close(); redis.disconnect() })
    const clientId = uniqueUserId('app')
    t.equal((await send(app, 'GET', `/v1/admin/policies/${clientId}`, { token: adminToken, ip: '198.51.100.30' })).statusCode, 200, 'works with Redis')

    redis.disconnect()
    const started = Date.now()
    for (const [method, url, o] of [
      ['GET', `/v1/admin/policies/${clientId}`, { token: adminToken }],
      ['PUT', `/v1/admin/policies/${clientId}`, { token: adminToken, body: { mode: 'off' } }],
      ['GET', '/v1/me/factors', {}],
      ['POST', '/v1/demo/login', { body: { username: 'admin', password: 'demo' } }],
    ] as Array<[Method, string, SendOpts]>) {
      const res = await send(app, method, url, { ...o, ip: '198.51.100.30' })
      expectError(t, res, 503, 'UNAVAILABLE')
      t.equal(res.headers['retry-after'], '5')
    }
    t.ok(Date.now() - started < 5_000, 'answers at once')
    t.match(await gw.app.policies.get(clientId), { isDefault: true }, 'the refused PUT changed nothing')
  })

  t.test('config: limits are positive integers', async (t) => {
    const base = { NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, DEMO_MODE: 'true' }
    t.match(loadGatewayConfig(base), { RATE_LIMIT_IP_PER_MIN: 300, RATE_LIMIT_TRANSACTION_PER_MIN: 10, RATE_LIMIT_DEMO_LOGIN_PER_MIN: 20 }, 'defaults')
    for (const v of ['0', '-1', '1.5', 'many']) {
      t.throws(() => loadGatewayConfig({ ...base, RATE_LIMIT_IP_PER_MIN: v }), `RATE_LIMIT_IP_PER_MIN=${v}`)
      t.throws(() => loadGatewayConfig({ ...base, RATE_LIMIT_TRANSACTION_PER_MIN: v }), `RATE_LIMIT_TRANSACTION_PER_MIN=${v}`)
    }
  })
})

// ---- OpenAPI ---------------------------------------------------------------------------------

interface Media { example?: unknown, examples?: unknown, schema?: { example?: unknown, examples?: unknown } }
interface Operation {
  tags?: string[]
  security?: Array<Record<string, unknown>>
  parameters?: Array<{ in: string, name: string, example?: unknown, examples?: unknown }>
  requestBody?: { content?: Record<string, Media> }
  responses: Record<string, { content?: Record<string, Media> }>
}
type OpenApi = { paths: Record<string, Record<string, Operation>> }

const hasExample = (m: Media | undefined): boolean =>
  m !== undefined && (m.example !== undefined || (m.examples !== undefined && Object.keys(m.examples as object).length > 0) ||
    m.schema?.example !== undefined || (Array.isArray(m.schema?.examples) && m.schema.examples.length > 0))

/** What an operation lacks: an example of its request body (if it has one) or of its success answer. */
function missingExamples (op: Operation): string[] {
  const missing: string[] = []
  if (op.requestBody !== undefined && !Object.values(op.requestBody.content ?? {}).some(hasExample)) missing.push('request')
  const success = Object.entries(op.responses).filter(([code]) => /^2/.test(code))
  if (success.length === 0 || !success.some(([, r]) => Object.values(r.content ?? {}).some(hasExample))) missing.push('response')
  return missing
}

const ADMIN_OPERATIONS: Array<[string, string, string]> = [
  ['/v1/admin/policies/{clientId}', 'get', '200'],
  ['/v1/admin/policies/{clientId}', 'put', '200'],
  ['/v1/admin/users/{sub}/factors', 'get', '200'],
  ['/v1/admin/users/{sub}/reset', 'post', '202'],
]

t.test('OpenAPI: the admin routes, with examples, tag admin and bearer security', async (t) => {
  const doc = (await call('GET', '/openapi.json')).json() as OpenApi & { tags: Array<{ name: string }>, info: { description: string } }
  t.ok(doc.tags.some((tag) => tag.name === 'admin'), 'tag admin is described')
  t.match(doc.info.description, /RATE_LIMITED/)
  for (const [path, method, success] of ADMIN_OPERATIONS) {
    const op = doc.paths[path]?.[method]
    const name = `${method.toUpperCase()} ${path}`
    if (op === undefined) { t.fail(`${name} is documented`); continue }
    t.same(op.tags, ['admin'], `${name}: tag`)
    t.same(op.security, [{ bearer: [] }], `${name}: bearer`)
    t.same(missingExamples(op), [], `${name}: request and response examples`)
    t.ok(hasExample(op.responses[success]?.content?.['application/json']), `${name}: ${success} example`)
    t.ok(hasExample(op.responses['4XX']?.content?.['application/json']), `${name}: error examples`)
    for (const p of op.parameters ?? []) t.ok(p.example !== undefined || p.examples !== undefined, `${name}: ${p.in} ${p.name} example`)
  }
  const put = doc.paths['/v1/admin/policies/{clientId}']?.put
  t.ok(hasExample(put?.requestBody?.content?.['application/json']), 'the PUT body has examples')
})

t.test('OpenAPI: the examples are valid against their own schemas', async (t) => {
  const ajv = new Ajv({ strict: false, allErrors: true })
  const schemas = {
    PolicyBody, PolicyView, AdminUserFactors, ResetAnswer, ResetBody,
    error4xx: adminErrorResponses['4xx'], error5xx: adminErrorResponses['5xx'],
    clientId: ClientIdParams.properties.clientId, sub: SubParams.properties.sub,
  }
  for (const [name, schema] of Object.entries(schemas)) {
    const examples = (schema as { examples?: unknown[] }).examples ?? []
    t.ok(examples.length > 0, `${name} has examples`)
    const validate = ajv.compile(schema)
    for (const ex of examples) t.ok(validate(ex), `${name} example ${JSON.stringify(ex).slice(0, 60)}: ${ajv.errorsText(validate.errors)}`)
  }
})

t.test('OpenAPI: every operation has examples of its request body and of its success answer', async (t) => {
  const doc = (await call('GET', '/openapi.json')).json() as OpenApi
  const lacking: string[] = []
  let operations = 0
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      operations++
      const missing = missingExamples(op)
      if (missing.length > 0) lacking.push(`${method.toUpperCase()} ${path} (${missing.join(', ')})`)
    }
  }
  t.ok(operations >= 20, `the document lists the routes (${operations})`)
  t.same(lacking, [], 'no operation lacks an example')
})

t.test('no token material in the logs', async (t) => {
  const text = gw.log.text() + totpLog.text()
  for (const tok of [adminToken, userToken]) t.notOk(text.includes(tok.split('.')[2] as string), 'no primary token signature')
  t.match(gw.log.text(), /admin: user 2FA reset/, 'admin actions are logged')
  t.match(gw.log.text(), /"admin":"admin"/, 'with the admin\'s sub')
})
