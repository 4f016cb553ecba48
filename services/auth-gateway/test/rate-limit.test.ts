// The gateway's rate limits, against real NATS and Redis, with a fake factor-totp and placeholder
// services for the other factors: per client address, per sign-in transaction, on demo login, and
// failing closed without Redis.
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import type { LightMyRequestResponse } from 'fastify'
import { captureLog, manualClock, startInfra, uniqueUserId } from '@warden/testkit'
import { buildApp } from '../src/app.js'
import { loadGatewayConfig } from '../src/config.js'
import { isV1, RATE_LIMIT_PREFIX, transactionOf } from '../src/plugins/rate-limit.js'
import { expectError, send, startGateway, uniqueUsername, type Method, type SendOpts } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const infra = await startInfra(t)

// The main gateway: limits out of the way (every inject() comes from 127.0.0.1). It hands out the
// tokens; the limited gateway below shares its keys.
const gw = await startGateway(t, { clock, infra })
await startPlaceholders(t, gw.nc)
await startFakeTotp(t, gw.nc)

const adminToken = await gw.login('admin')
const userToken = await gw.login(uniqueUsername('plain'))

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

t.test('no token material in the logs', async (t) => {
  const text = gw.log.text()
  for (const tok of [adminToken, userToken]) t.notOk(text.includes(tok.split('.')[2] as string), 'no primary token signature')
})
