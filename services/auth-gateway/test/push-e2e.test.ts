// End to end: the gateway and the real factor-push (in this process, with testkit's fake FCM),
// over real NATS and Redis, one manual clock for both. The authenticator app is the real
// warden-authenticator CLI (its HTTP calls go to the gateway through inject) and, for FCM, a
// "phone" that signs its requests with its own P-256 key. TOTP is the fake; the others answer
// describe with nothing enrolled.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, type CliDeps } from '@warden/authenticator'
import { loadPushConfig, startPushService } from '@warden/factor-push'
import { generateKeyRingSpec } from '@warden/service-kit'
import { manualClock, startFakeFcm } from '@warden/testkit'
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose'
import t from 'tap'
import { expectCleanLogs, expectError, loginAs, startGateway, type Gateway } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
const fcm = await startFakeFcm(t)
const push = await startPushService(loadPushConfig({
  NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'silent', SECRET_KEYS: generateKeyRingSpec(),
  PUSH_POLL_INTERVAL_MS: '20',
}), { clock, fcm: { credential: fcm.credential, projectId: fcm.projectId, httpAgent: fcm.agent } })
t.teardown(() => push.stop())
await startFakeTotp(t, gw.nc)
await startPlaceholders(t, gw.nc, ['webauthn', 'sms', 'recovery'])

/** The CLI authenticator with its own home; its fetch goes to the gateway through inject. */
function authenticator (gateway: Gateway) {
  const home = mkdtempSync(join(tmpdir(), 'warden-authenticator-'))
  t.teardown(() => { rmSync(home, { recursive: true, force: true }) })
  const out: string[] = []
  const deps: CliDeps = {
    env: { WARDEN_AUTHENTICATOR_HOME: home },
    now: () => clock.now(),
    fetch: async (url, init) => {
      const u = new URL(url)
      const res = await gateway.app.inject({ method: init.method as 'GET' | 'POST', url: u.pathname + u.search, headers: init.headers })
      return { ok: res.statusCode < 300, status: res.statusCode, json: async () => res.json() as unknown }
    },
    out: (l) => { out.push(l) },
    err: (l) => { out.push(l) },
    hostname: 'e2e',
  }
  return {
    async json (...argv: string[]): Promise<{ code: number, body: Record<string, unknown> }> {
      out.length = 0
      const code = await run([...argv, '--json'], deps)
      return { code, body: JSON.parse(out.join('\n')) as Record<string, unknown> }
    },
  }
}

/** A phone with FCM: pairs and answers with requests signed by its own key, as a mobile app would. */
async function phone (pairingCode: string, fcmToken: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = await exportJWK(publicKey)
  const sign = async (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => new SignJWT({ ...claims, iat: Math.floor(clock.now().getTime() / 1000), jti: randomBytes(16).toString('base64url') })
    .setProtectedHeader({ alg: 'ES256', typ: 'warden-push+jwt', ...header }).sign(privateKey)
  const paired = await gw.app.inject({ method: 'POST', url: '/v1/push/devices', headers: { authorization: `Bearer ${await sign({ req: 'pair', pairingCode, name: 'Pixel 8', platform: 'android', fcmToken }, { jwk })}` } })
  return { paired, sign }
}

const pairing = async (token: string, mfa?: string) => gw.call('POST', '/v1/me/push/pairing', { token, ...(mfa === undefined ? {} : { headers: { 'x-mfa-token': mfa } }) })

async function startPush (token: string, body: Record<string, unknown> = {}) {
  const start = await gw.call('POST', '/v1/signin', { token, body })
  const id = start.json().transactionId as string
  const ch = await gw.call('POST', `/v1/signin/${id}/challenge`, { token, body: { method: 'push' } })
  return { id, start: start.json() as Record<string, unknown>, ch }
}

const poll = async (token: string, id: string, challengeId: string) => gw.call('GET', `/v1/signin/${id}/push/${challengeId}?waitSec=0`, { token })

t.test('pair the CLI authenticator, sign in with push, approve with the number', async (t) => {
  const { token, username } = await loginAs(gw)
  const app = authenticator(gw)

  const p = await pairing(token)
  t.equal(p.statusCode, 200, p.body)
  const { pairingCode, pairingUri, qrSvg, expiresAt } = p.json() as { pairingCode: string, pairingUri: string, qrSvg: string, expiresAt: string }
  t.match(pairingCode, /^[A-Za-z0-9_-]{22}$/)
  t.equal(pairingUri, `warden://pair?server=http%3A%2F%2Flocalhost%3A80&code=${pairingCode}&account=${username}`)
  t.match(qrSvg, /^<svg/)
  t.equal(Date.parse(expiresAt) - clock.now().getTime(), 600_000)

  const paired = await app.json('pair', pairingUri)
  t.equal(paired.code, 0, JSON.stringify(paired.body))
  t.match(paired.body, { deviceId: /^dev_/, name: 'warden-authenticator on e2e' })
  t.match(await app.json('pair', pairingUri), { code: 1, body: { error: { code: 'NOT_FOUND' } } }, 'a reused code')
  // Binding the first factor revoked every token issued up to then (factorChanges): a moment passes.
  clock.advance(1000)

  t.match((await gw.call('GET', '/v1/me/factors', { token })).json(), { twoFactor: 'enrolled', factors: [{ factor: 'push', enrolled: true, items: [{ id: paired.body.deviceId, label: 'warden-authenticator on e2e' }] }] })

  const { id, start, ch } = await startPush(token)
  t.match(start, { status: 'challenge', defaultMethod: 'push' })
  t.equal(ch.statusCode, 200, ch.body)
  const { challengeId, numberToMatch } = ch.json() as { challengeId: string, numberToMatch: number }
  t.ok(numberToMatch >= 10 && numberToMatch <= 99)
  t.same((await poll(token, id, challengeId)).json(), { state: 'pending' })

  const pending = await app.json('pending')
  t.match(pending.body, { challenges: [{ challengeId, context: { appName: 'demo-app' } }] })
  t.notOk(JSON.stringify(pending.body).includes(`"${numberToMatch}"`) || JSON.stringify(pending.body).includes(`:${numberToMatch}`), 'the app never gets the number')
  t.match(await app.json('approve', challengeId, '--number', String(numberToMatch)), { code: 0, body: { result: 'approved' } })

  const done = await poll(token, id, challengeId)
  t.match(done.json(), { state: 'approved', token: String })
  const mfa = done.json().token as string
  gw.issued.push(mfa)
  t.match(decodeJwt(mfa), { sub: username, amr: ['pop', 'mfa'] })
  expectError(t, await poll(token, id, challengeId), 409, 'CONFLICT')

  // Settings: list, rename and remove, behind a fresh second factor.
  const list = await gw.call('GET', '/v1/me/push/devices', { token })
  t.match(list.json(), { devices: [{ deviceId: paired.body.deviceId, platform: 'cli', active: true, notifications: false }] })
  const deviceUrl = `/v1/me/push/devices/${String(paired.body.deviceId)}`
  expectError(t, await gw.call('PATCH' as 'POST', deviceUrl, { token, body: { name: 'Laptop' } }), 403, 'STEP_UP_REQUIRED')
  expectError(t, await gw.call('PATCH' as 'POST', deviceUrl, { token, body: { name: 'two\nlines' }, headers: { 'x-mfa-token': mfa } }), 400, 'BAD_REQUEST')
  t.match((await gw.call('PATCH' as 'POST', deviceUrl, { token, body: { name: 'Laptop' }, headers: { 'x-mfa-token': mfa } })).json(), { name: 'Laptop' })
  t.match((await gw.call('GET', deviceUrl, { token })).json(), { name: 'Laptop' })
  expectError(t, await pairing(token), 403, 'STEP_UP_REQUIRED')
  t.equal((await pairing(token, mfa)).statusCode, 200, 'another device, with a fresh second factor')
  t.same((await gw.call('DELETE', deviceUrl, { token, headers: { 'x-mfa-token': mfa } })).json(), { removed: true })
  t.match(await app.json('pending'), { code: 1, body: { error: { code: 'UNAUTHENTICATED' } } }, 'a removed device is not heard')
  expectCleanLogs(t, gw, [pairingCode])
})

t.test('FCM wakes a phone with a data message that never holds the number; the phone answers with its own key', async (t) => {
  const { token } = await loginAs(gw)
  const code = (await pairing(token)).json().pairingCode as string
  const fcmToken = `fcm-${randomBytes(8).toString('hex')}`
  const { paired, sign } = await phone(code, fcmToken)
  t.equal(paired.statusCode, 200, paired.body)
  const deviceId = paired.json().deviceId as string

  const { id, ch } = await startPush(token, { context: { ip: '203.0.113.7', userAgent: 'Firefox on Linux' } })
  const { challengeId, numberToMatch } = ch.json() as { challengeId: string, numberToMatch: number }
  const sent = fcm.requests.filter((r) => r.message.token === fcmToken)
  t.equal(sent.length, 1)
  t.match(sent[0]?.message, { data: { type: 'push.challenge', challengeId, appName: 'demo-app', ip: '203.0.113.7', userAgent: 'Firefox on Linux' }, android: { priority: 'high', ttl: '120s' } })
  t.equal(sent[0]?.message.notification, undefined, 'data only')
  t.notOk(Object.values(sent[0]?.message.data ?? {}).includes(String(numberToMatch)), 'never the number')

  const list = await gw.app.inject({ method: 'GET', url: `/v1/push/devices/${deviceId}/challenges`, headers: { authorization: `Bearer ${await sign({ req: 'challenges', sub: deviceId })}` } })
  const shown = list.json().challenges[0] as { challengeId: string, nonce: string, createdAt: string, context: { appName: string, ip?: string, userAgent?: string } }
  const { contextHash } = await import('@warden/authenticator')
  const answer = await sign({ req: 'answer', sub: deviceId, challengeId, nonce: shown.nonce, decision: 'deny', contextHash: contextHash({ challengeId, createdAt: shown.createdAt, ...shown.context }) })
  const url = `/v1/push/challenges/${challengeId}/answer`
  t.same((await gw.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${answer}` } })).json(), { result: 'denied' })
  expectError(t, await gw.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${answer}` } }), 401, 'UNAUTHENTICATED')
  t.same((await poll(token, id, challengeId)).json(), { state: 'denied', reason: 'denied' })

  // UNREGISTERED: the next push deactivates the phone; nobody is left to ask.
  fcm.respond(fcmToken, 'UNREGISTERED')
  clock.advance(1000)
  const again = await startPush(token)
  expectError(t, again.ch, 409, 'NOT_ENROLLED')
  t.match((await gw.call('GET', '/v1/me/push/devices', { token })).json(), { devices: [{ deviceId, active: false }] })
})

t.test('deny with "not me" pauses push for an hour; the method says why', async (t) => {
  const { token } = await loginAs(gw)
  const app = authenticator(gw)
  await app.json('pair', (await pairing(token)).json().pairingUri as string)
  const { id, ch } = await startPush(token)
  const { challengeId } = ch.json() as { challengeId: string }
  t.match(await app.json('deny', challengeId, '--not-me'), { code: 0, body: { result: 'denied' } })
  t.same((await poll(token, id, challengeId)).json(), { state: 'denied', reason: 'not_me' })

  const next = await gw.call('POST', '/v1/signin', { token, body: {} })
  t.match(next.json(), { status: 'challenge', methods: [{ method: 'push', lockReason: 'paused_after_denials', lockedUntil: String }] })
  const refused = await gw.call('POST', `/v1/signin/${next.json().transactionId as string}/challenge`, { token, body: { method: 'push' } })
  expectError(t, refused, 429, 'FACTOR_LOCKED')
  t.equal(refused.headers['retry-after'], '3600')
})

t.test('a wrong number fails the push; expiry with a moved clock; "Try push again"', async (t) => {
  const { token } = await loginAs(gw)
  const app = authenticator(gw)
  await app.json('pair', (await pairing(token)).json().pairingUri as string)
  const first = await startPush(token)
  const c1 = first.ch.json() as { challengeId: string, numberToMatch: number }
  const wrong = c1.numberToMatch === 99 ? 10 : c1.numberToMatch + 1
  t.match(await app.json('approve', c1.challengeId, '--number', String(wrong)), { code: 1, body: { result: 'rejected', reason: 'wrong_number', attemptsLeft: 9 } })
  t.same((await poll(token, first.id, c1.challengeId)).json(), { state: 'denied', reason: 'wrong_number' })

  const second = await startPush(token)
  const c2 = second.ch.json() as { challengeId: string, numberToMatch: number }
  clock.advance(120_000)
  t.same((await poll(token, second.id, c2.challengeId)).json(), { state: 'expired' })
  t.match(await app.json('approve', c2.challengeId, '--number', String(c2.numberToMatch)), { code: 1, body: { error: { code: 'NOT_FOUND' } } }, 'too late')
  const retry = await gw.call('POST', `/v1/signin/${second.id}/challenge`, { token, body: { method: 'push' } })
  t.equal(retry.statusCode, 200, '"Try push again": a new challenge in the same transaction')
  const c3 = retry.json() as { challengeId: string, numberToMatch: number }
  t.not(c3.challengeId, c2.challengeId)
  t.match(await app.json('approve', c3.challengeId, '--number', String(c3.numberToMatch)), { code: 0 })
  t.match((await poll(token, second.id, c3.challengeId)).json(), { state: 'approved' })
  clock.advance(600_000)
})

t.test('step-up: the app shows the action, the approval is bound to it, the MFA token carries it', async (t) => {
  const { token } = await loginAs(gw)
  const app = authenticator(gw)
  await app.json('pair', (await pairing(token)).json().pairingUri as string)
  const { id, ch } = await startPush(token, { purpose: 'step-up', action: 'pay-invoice-42' })
  const { challengeId, numberToMatch } = ch.json() as { challengeId: string, numberToMatch: number }
  t.match(await app.json('pending'), { body: { challenges: [{ challengeId, context: { action: 'pay-invoice-42' } }] } })
  await app.json('approve', challengeId, '--number', String(numberToMatch))
  const done = (await poll(token, id, challengeId)).json() as { state: string, token: string }
  gw.issued.push(done.token)
  t.match(decodeJwt(done.token), { action: 'pay-invoice-42', amr: ['pop', 'mfa'] })
})

t.test('the app routes refuse what is not a device-signed request, with 4xx and no change', async (t) => {
  const { token } = await loginAs(gw)
  const app = authenticator(gw)
  const paired = await app.json('pair', (await pairing(token)).json().pairingUri as string)
  const deviceId = paired.body.deviceId as string
  const { ch } = await startPush(token)
  const { challengeId } = ch.json() as { challengeId: string }
  const other = await generateKeyPair('ES256')
  const forged = await new SignJWT({ req: 'challenges', sub: deviceId, iat: Math.floor(clock.now().getTime() / 1000), jti: randomBytes(16).toString('base64url') })
    .setProtectedHeader({ alg: 'ES256', typ: 'warden-push+jwt' }).sign(other.privateKey)
  const cases: Array<[string, 'GET' | 'POST', string, Record<string, string>]> = [
    ['no Authorization', 'GET', `/v1/push/devices/${deviceId}/challenges`, {}],
    ['not a JWT', 'GET', `/v1/push/devices/${deviceId}/challenges`, { authorization: 'Bearer nope' }],
    ['Basic', 'POST', '/v1/push/devices', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['a primary token', 'POST', `/v1/push/challenges/${challengeId}/answer`, { authorization: `Bearer ${token}` }],
    ['forged', 'GET', `/v1/push/devices/${deviceId}/challenges`, { authorization: `Bearer ${forged}` }],
  ]
  for (const [what, method, url, headers] of cases) {
    const res = await gw.app.inject({ method, url, headers })
    t.equal(res.statusCode, 401, `${what}: ${res.body.slice(0, 120)}`)
  }
  expectError(t, await gw.app.inject({ method: 'GET', url: '/v1/push/devices/not-a-device/challenges', headers: { authorization: `Bearer ${forged}` } }), 400, 'BAD_REQUEST')
  expectError(t, await gw.app.inject({ method: 'POST', url: '/v1/push/challenges/%00/answer', headers: { authorization: `Bearer ${forged}` } }), 400, 'BAD_REQUEST')
  t.match(await app.json('pending'), { body: { challenges: [{ challengeId }] } }, 'the challenge is still waiting')
})
