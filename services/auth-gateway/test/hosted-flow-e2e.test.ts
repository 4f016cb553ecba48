// The hosted flow end to end (issue 13), through the public API against the real stack (real
// NATS and Redis, the real factor-totp on the test's clock, the other factors as the built
// placeholder processes): an application registers, its backend pushes the request, "the
// browser" (inject with the cookies the gateway sets) runs the second step on the hosted API, the
// application gets a code on its redirect URI and exchanges it. Redirect-URI matching, handle
// expiry and single use, PKCE, codes used twice or elsewhere, the state, errors sent back (and
// never to an unregistered URI), remember-this-device in its cookie, and malformed input.
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { decodeJwt, jwtVerify } from 'jose'
import type { LightMyRequestResponse } from 'fastify'
import { createKvStoreFactory } from '@warden/store'
import { manualClock } from '@warden/testkit'
import { Ajv } from 'ajv'
import { hashClientSecret } from '../src/applications.js'
import * as schemas from '../src/schemas-authorize.js'
import { expectError, hsToken, send, startGateway, type Method } from './fixtures/gateway.js'
import { startTotpStack } from './fixtures/stack.js'
import { totpUsers, type TotpUser } from './fixtures/totp-users.js'

const clock = manualClock(new Date())
const { gw } = await startTotpStack(t, clock)
const users = totpUsers(gw, clock)
const admin = await gw.login('admin')
users.seen.tokens.push(admin)
/** Codes and handles handed out: none may appear in a log. */
const bearerValues: string[] = []

const SECRET = randomBytes(32).toString('base64url')
let appSeq = 0

interface App { clientId: string, redirectUri: string, secret?: string }

async function registerApp (opts: { publicClient?: boolean, redirectUris?: string[], policy?: Record<string, unknown> } = {}): Promise<App> {
  const clientId = `app-${process.pid}-${++appSeq}`
  const redirectUris = opts.redirectUris ?? [`https://${clientId}.example.com/auth/callback`]
  const res = await send(gw.app, 'PUT', `/v1/admin/applications/${clientId}`, {
    token: admin,
    body: { name: `App ${appSeq}`, redirectUris, ...(opts.publicClient === true ? { publicClient: true } : { clientSecretHash: hashClientSecret(SECRET) }), ...(opts.policy === undefined ? {} : { policy: opts.policy }) },
  })
  if (res.statusCode !== 200) throw new Error(`register: ${res.body}`)
  return { clientId, redirectUri: redirectUris[0] as string, ...(opts.publicClient === true ? {} : { secret: SECRET }) }
}

function pkce (): { verifier: string, challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

async function push (app: App, token: string, extra: Record<string, unknown> = {}, challenge = pkce().challenge): Promise<LightMyRequestResponse> {
  return gw.call('POST', '/v1/authorize', {
    token,
    body: { clientId: app.clientId, ...(app.secret === undefined ? {} : { clientSecret: app.secret }), redirectUri: app.redirectUri, state: 'st-1', codeChallenge: challenge, codeChallengeMethod: 'S256', ...extra },
  })
}

/** A browser: keeps the cookies the gateway sets (name → value) and sends them back. */
function browser () {
  const jar = new Map<string, string>()
  const setCookies: string[] = []
  async function call (method: Method, url: string, body?: unknown): Promise<LightMyRequestResponse> {
    const res = await gw.app.inject({
      method, url,
      headers: {
        ...(jar.size === 0 ? {} : { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        'sec-fetch-site': 'same-origin',
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    })
    const raw = res.headers['set-cookie']
    for (const c of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      setCookies.push(c)
      const [pair] = c.split(';')
      const i = (pair ?? '').indexOf('=')
      const name = (pair ?? '').slice(0, i)
      const value = (pair ?? '').slice(i + 1)
      if (value === '' || /Max-Age=0/.test(c)) jar.delete(name)
      else jar.set(name, value)
    }
    return res
  }
  return { jar, setCookies, call }
}

/** The application's side of the redirect: its query. */
function redirected (res: LightMyRequestResponse, app: App): URLSearchParams {
  const to = new URL((res.json() as { redirectTo: string }).redirectTo)
  if (`${to.origin}${to.pathname}` !== app.redirectUri.split('?')[0]) throw new Error(`redirected to ${to.href}`)
  const code = to.searchParams.get('code')
  if (code !== null) bearerValues.push(code)
  return to.searchParams
}

/** Pushes, opens the page and starts the sign-in in `b`: the start answer. */
async function openAndStart (b: ReturnType<typeof browser>, app: App, u: TotpUser, extra: Record<string, unknown> = {}, challenge?: string): Promise<Record<string, any>> {
  const pushed = await push(app, await users.tok(u), extra, challenge)
  if (pushed.statusCode !== 200) throw new Error(`push: ${pushed.body}`)
  bearerValues.push(pushed.json().requestUri)
  const opened = await b.call('POST', '/v1/authorize/session', { requestUri: pushed.json().requestUri })
  if (opened.statusCode !== 200) throw new Error(`open: ${opened.body}`)
  const start = await b.call('POST', '/v1/signin', { context: { userAgent: 'Chromium on Linux' } })
  if (start.statusCode !== 200) throw new Error(`start: ${start.body}`)
  return start.json()
}

/** The whole hop: the code on the redirect (with its verifier), after the TOTP step. */
async function codeFor (app: App, u: TotpUser, opts: { remember?: boolean, extra?: Record<string, unknown>, b?: ReturnType<typeof browser> } = {}): Promise<{ code: string, verifier: string, query: URLSearchParams, verifyBody: Record<string, unknown> }> {
  const b = opts.b ?? browser()
  const { verifier, challenge } = pkce()
  const start = await openAndStart(b, app, u, opts.extra, challenge)
  if (start.status !== 'challenge') throw new Error(`expected a challenge: ${JSON.stringify(start)}`)
  clock.advance(30_000)
  const verify = await b.call('POST', `/v1/signin/${start.transactionId}/verify`, { method: 'totp', code: users.codeOf(u.secret), ...(opts.remember === true ? { rememberDevice: true } : {}) })
  const done = await b.call('POST', '/v1/authorize/complete')
  const query = redirected(done, app)
  return { code: query.get('code') as string, verifier, query, verifyBody: verify.json() }
}

async function exchange (app: App, code: string, verifier: string, extra: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
  const res = await gw.call('POST', '/v1/token', {
    body: { grantType: 'authorization_code', code, redirectUri: app.redirectUri, codeVerifier: verifier, clientId: app.clientId, ...(app.secret === undefined ? {} : { clientSecret: app.secret }), ...extra },
  })
  if (res.statusCode === 200) users.seen.tokens.push(res.json().token)
  return res
}

t.test('the whole hop: push, hosted second step, code on the redirect, exchange, a token that verifies against the JWKS', async (t) => {
  const app = await registerApp()
  const u = await users.totpUser(app.clientId)
  const { code, verifier, query, verifyBody } = await codeFor(app, u)
  t.same(verifyBody, { status: 'verified', hosted: 'complete' }, 'the browser never sees the MFA token')
  t.equal(query.get('state'), 'st-1', 'the state comes back')
  t.match(code, /^[A-Za-z0-9_-]{43}$/)
  const res = await exchange(app, code, verifier)
  t.equal(res.statusCode, 200, res.body)
  const { token, tokenType, expiresIn } = res.json() as { token: string, tokenType: string, expiresIn: number }
  t.equal(tokenType, 'Bearer')
  t.ok(expiresIn > 0 && expiresIn <= 900)
  const { payload } = await jwtVerify(token, await users.jwks(), { issuer: 'warden', audience: app.clientId, currentDate: clock.now() })
  t.match(payload, { sub: u.username, acr: 'aal2', token_use: 'mfa' })
  t.ok((payload.amr as string[]).includes('otp'))
})

t.test('redirect URIs match exactly: a look-alike, an extra path or query, case, a slash are refused, and nothing is pushed', async (t) => {
  const app = await registerApp({ redirectUris: ['https://app.example.com/cb', 'https://app.example.com/cb2?tenant=a'] })
  const u = await users.totpUser(app.clientId)
  const token = await users.tok(u)
  for (const redirectUri of [
    'https://app.example.com.evil.example/cb', 'https://app.example.com/cb/extra', 'https://app.example.com/cb?x=1', 'https://app.example.com/cb/',
    'https://APP.example.com/cb', 'http://app.example.com/cb', 'https://app.example.com:443/cb', 'https://app.example.com/cb#f', 'https://app.example.com/cb2',
    'https://app.example.com/cb2?tenant=b', 'https://app.example.com/cb2?tenant=a&x=1',
  ]) {
    const res = await push(app, token, { redirectUri })
    expectError(t, res, 400, 'INVALID_REDIRECT_URI')
    t.notOk(res.body.includes('request_uri'), `${redirectUri}: no URL to send anyone to`)
  }
  t.equal((await push(app, token, { redirectUri: 'https://app.example.com/cb2?tenant=a' })).statusCode, 200, 'a registered URI with its query is fine')

  // Registration: https only in production, no wildcard, no fragment; http on localhost in demo mode only.
  const put = async (redirectUris: string[]) => send(gw.app, 'PUT', '/v1/admin/applications/reg-check', { token: admin, body: { name: 'R', redirectUris, publicClient: true } })
  for (const bad of [['https://*.example.com/cb'], ['https://a.example.com/cb#x'], ['http://app.example.com/cb'], ['ftp://a.example.com/'], ['/relative/cb'], ['https://user:pw@a.example.com/cb'], ['HTTPS://a.example.com/cb'], ['https://a.example.com/a/../cb']]) {
    expectError(t, await put(bad), 400, 'INVALID_REDIRECT_URI')
  }
  t.equal((await put(['http://localhost:3000/cb', 'http://127.0.0.1:3000/cb'])).statusCode, 200, 'demo mode: http on localhost')

  const prod = await startGateway(t, { infra: gw.infra, clock, env: { DEMO_MODE: 'false' } })
  const prodAdmin = await hsToken(clock, prod.secret, { sub: 'root', role: 'warden:admin' })
  const res = await send(prod.app, 'PUT', '/v1/admin/applications/prod-check', { token: prodAdmin, body: { name: 'P', redirectUris: ['http://localhost:3000/cb'], publicClient: true } })
  expectError(t, res, 400, 'INVALID_REDIRECT_URI')
  t.equal((await send(prod.app, 'PUT', '/v1/admin/applications/prod-check', { token: prodAdmin, body: { name: 'P', redirectUris: ['https://p.example.com/cb'], publicClient: true } })).statusCode, 200)
  t.equal((await prod.call('GET', '/demo-app/')).statusCode, 404, 'no demo application in production')
})

t.test('the handle: bound to the user and the application, single use, at most 5 minutes', async (t) => {
  const app = await registerApp()
  const u = await users.totpUser(app.clientId)
  const pushed = (await push(app, await users.tok(u))).json() as { requestUri: string, url: string, expiresIn: number }
  bearerValues.push(pushed.requestUri)
  t.equal(pushed.expiresIn, 300)
  t.match(pushed.url, /\/ui\/\?request_uri=urn%3Awarden%3Arequest%3A[A-Za-z0-9_-]{43}$/)
  t.notOk(pushed.url.includes('eyJ'), 'no token in the URL')
  const b1 = browser()
  const opened = await b1.call('POST', '/v1/authorize/session', { requestUri: pushed.requestUri })
  t.equal(opened.statusCode, 200)
  t.match(opened.json(), { clientName: /^App \d+$/, purpose: 'signin' })
  const cookie = b1.setCookies.find((c) => c.startsWith('__Host-warden-hosted='))
  t.match(cookie, /; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=\d+$/, 'a __Host- cookie, HttpOnly, SameSite=Lax')
  expectError(t, await browser().call('POST', '/v1/authorize/session', { requestUri: pushed.requestUri }), 400, 'INVALID_REQUEST_URI')

  const late = (await push(app, await users.tok(u))).json() as { requestUri: string }
  bearerValues.push(late.requestUri)
  clock.advance(5 * 60_000 + 1000)
  expectError(t, await browser().call('POST', '/v1/authorize/session', { requestUri: late.requestUri }), 400, 'INVALID_REQUEST_URI')
  expectError(t, await browser().call('POST', '/v1/authorize/session', { requestUri: `urn:warden:request:${randomBytes(32).toString('base64url')}` }), 400, 'INVALID_REQUEST_URI')

  // The session stands for this user and this application: the sign-in is theirs.
  const b = browser()
  const start = await openAndStart(b, app, u)
  t.equal(start.status, 'challenge')
  const other = await users.totpUser(app.clientId)
  expectError(t, await gw.call('GET', `/v1/signin/${start.transactionId}`, { token: await users.tok(other) }), 404, 'NOT_FOUND')
  t.equal((await b.call('GET', `/v1/signin/${start.transactionId}`)).statusCode, 200)
  // Another application's primary token does not start this application's flow.
  const elsewhere = await users.login(u.username, 'another-app')
  expectError(t, await push(app, elsewhere), 403, 'FORBIDDEN')
  // Cross-site requests with the cookie are refused.
  const cross = await gw.app.inject({ method: 'POST', url: `/v1/signin/${start.transactionId}/verify`, headers: { cookie: [...b.jar].map(([k, v]) => `${k}=${v}`).join('; '), 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, payload: JSON.stringify({ method: 'totp', code: '123456' }) })
  expectError(t, cross, 403, 'FORBIDDEN')
  // Not done yet: no code.
  expectError(t, await b.call('POST', '/v1/authorize/complete'), 409, 'CONFLICT')
  // Without the cookie the hosted routes know nobody.
  expectError(t, await browser().call('POST', '/v1/authorize/complete'), 401, 'UNAUTHENTICATED')
})

t.test('PKCE: S256 only, and a wrong verifier is refused', async (t) => {
  const app = await registerApp()
  const u = await users.totpUser(app.clientId)
  const token = await users.tok(u)
  expectError(t, await push(app, token, { codeChallengeMethod: 'plain' }), 400, 'BAD_REQUEST')
  expectError(t, await push(app, token, { codeChallengeMethod: undefined }), 400, 'BAD_REQUEST')
  expectError(t, await push(app, token, {}, 'short'), 400, 'BAD_REQUEST')
  const { code } = await codeFor(app, u)
  expectError(t, await exchange(app, code, pkce().verifier), 400, 'INVALID_GRANT')
})

t.test('a code used twice is refused, and the token issued from it is revoked', async (t) => {
  const app = await registerApp()
  const u = await users.totpUser(app.clientId)
  const { code, verifier } = await codeFor(app, u)
  const first = await exchange(app, code, verifier)
  t.equal(first.statusCode, 200)
  const mfa = first.json().token as string
  // The token works as a step-up at the gateway (it is the user's, for this application)...
  const primary = await users.tok(u)
  const stepUp = () => gw.call('DELETE', '/v1/me/remembered-devices/rdv_AAAAAAAAAAAAAAAAAAAAAA', { token: primary, headers: { 'x-mfa-token': mfa } })
  t.equal((await stepUp()).statusCode, 200, 'the MFA token is accepted')
  // ...until its code is presented again.
  expectError(t, await exchange(app, code, verifier), 400, 'INVALID_GRANT')
  expectError(t, await stepUp(), 403, 'STEP_UP_REQUIRED')
  t.ok(decodeJwt(mfa).jti, 'tokens carry a jti')
})

t.test('a code is bound to its client, its redirect URI and its 60 seconds; clients authenticate', async (t) => {
  const app = await registerApp({ redirectUris: ['https://bound.example.com/a', 'https://bound.example.com/b'] })
  const otherApp = await registerApp()
  const u = await users.totpUser(app.clientId)

  let c = await codeFor(app, u)
  expectError(t, await exchange(otherApp, c.code, c.verifier), 400, 'INVALID_GRANT')
  expectError(t, await exchange(app, c.code, c.verifier), 400, 'INVALID_GRANT') // spent by the attempt above

  c = await codeFor(app, u)
  expectError(t, await exchange(app, c.code, c.verifier, { redirectUri: 'https://bound.example.com/b' }), 400, 'INVALID_GRANT')

  c = await codeFor(app, u)
  expectError(t, await exchange(app, c.code, c.verifier, { clientSecret: 'wrong' }), 401, 'INVALID_CLIENT')
  expectError(t, await exchange({ clientId: app.clientId, redirectUri: app.redirectUri }, c.code, c.verifier), 401, 'INVALID_CLIENT')
  expectError(t, await exchange({ ...app, clientId: 'nobody-registered-this' }, c.code, c.verifier), 401, 'INVALID_CLIENT')
  clock.advance(61_000)
  expectError(t, await exchange(app, c.code, c.verifier), 400, 'INVALID_GRANT')
  expectError(t, await exchange(app, randomBytes(32).toString('base64url'), c.verifier), 400, 'INVALID_GRANT')

  // A public client: no secret, PKCE binds the code; a secret from it is refused.
  const spa = await registerApp({ publicClient: true })
  const v = await users.totpUser(spa.clientId)
  expectError(t, await push({ ...spa, secret: 'anything' }, await users.tok(v)), 401, 'INVALID_CLIENT')
  const s = await codeFor(spa, v)
  t.equal((await exchange(spa, s.code, s.verifier)).statusCode, 200)
  // A confidential client must authenticate when it pushes, too.
  expectError(t, await push({ ...app, secret: 'wrong' }, await users.tok(u)), 401, 'INVALID_CLIENT')
})

t.test('the state round-trips; cancel and errors go back to the redirect URI with the state', async (t) => {
  const app = await registerApp({ redirectUris: ['https://state.example.com/cb?tenant=7'] })
  const u = await users.totpUser(app.clientId)
  const state = 'a&b=c/d?e%f~"<x>'
  const { query } = await codeFor(app, u, { extra: { state } })
  t.equal(query.get('state'), state, 'the state, exactly')
  t.equal(query.get('tenant'), '7', 'the registered query stays')

  const b = browser()
  await openAndStart(b, app, u, { state: 's-cancel' })
  const cancelled = await b.call('POST', '/v1/authorize/cancel')
  t.equal(cancelled.statusCode, 200)
  const q = redirected(cancelled, app)
  t.equal(q.get('error'), 'access_denied')
  t.equal(q.get('state'), 's-cancel')
  t.equal(q.get('code'), null)
  expectError(t, await b.call('POST', '/v1/authorize/complete'), 401, 'UNAUTHENTICATED')

  const b2 = browser()
  await openAndStart(b2, app, u, { state: 's-down' })
  const down = redirected(await b2.call('POST', '/v1/authorize/cancel', { error: 'temporarily_unavailable' }), app)
  t.equal(down.get('error'), 'temporarily_unavailable')
  t.equal(down.get('state'), 's-down')
})

t.test('remember this device: a __Host- cookie, and the next visit skips the step', async (t) => {
  const app = await registerApp({ policy: { mode: 'required' } })
  const u = await users.totpUser(app.clientId)
  const b = browser()
  const first = await codeFor(app, u, { remember: true, b })
  t.same(first.verifyBody, { status: 'verified', hosted: 'complete' }, 'no rememberToken in the answer either')
  const cookie = b.setCookies.find((c) => c.startsWith('__Host-warden-remember='))
  t.match(cookie, /^__Host-warden-remember=rd_[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=\d+$/)
  users.seen.tokens.push(b.jar.get('__Host-warden-remember') as string)
  t.equal((await exchange(app, first.code, first.verifier)).statusCode, 200)

  const { verifier, challenge } = pkce()
  const start = await openAndStart(b, app, u, {}, challenge)
  t.same(start, { status: 'skipped', hosted: 'complete' }, 'skipped, and neither token is in the answer')
  const rotated = b.jar.get('__Host-warden-remember') as string
  users.seen.tokens.push(rotated)
  t.not(rotated, cookie?.split(';')[0]?.split('=')[1], 'the device token rotated')
  const q = redirected(await b.call('POST', '/v1/authorize/complete'), app)
  const res = await exchange(app, q.get('code') as string, verifier)
  t.match(decodeJwt(res.json().token), { acr: 'aal1', remembered: true, amr: [] })

  // A step-up pushed by the application ignores the remembered device and what the page asks for.
  const b2 = browser()
  b2.jar.set('__Host-warden-remember', rotated)
  const up = await codeFor(app, u, { b: b2, extra: { purpose: 'step-up', action: 'change-bank-details' } })
  const upToken = (await exchange(app, up.code, up.verifier)).json().token as string
  t.match(decodeJwt(upToken), { acr: 'aal2', action: 'change-bank-details' })
  const b3 = browser()
  const pushed = (await push(app, await users.tok(u), { purpose: 'step-up', action: 'pay' })).json() as { requestUri: string }
  await b3.call('POST', '/v1/authorize/session', { requestUri: pushed.requestUri })
  const start3 = await b3.call('POST', '/v1/signin', { purpose: 'signin' })
  t.equal(start3.json().status, 'challenge', 'the page cannot turn a step-up into a plain sign-in')
  t.equal((await b3.call('GET', `/v1/signin/${start3.json().transactionId}`)).json().action, 'pay')
})

t.test('applications: the admin routes, and the policy routes read the same record', async (t) => {
  const app = await registerApp({ policy: { mode: 'required', rememberDays: 7 } })
  const got = await gw.call('GET', `/v1/admin/applications/${app.clientId}`, { token: admin })
  t.same(got.json(), { clientId: app.clientId, name: got.json().name, redirectUris: [app.redirectUri], publicClient: false, hasClientSecret: true, policy: { mode: 'required', rememberDays: 7, stepUpMaxAgeSec: 600 } })
  t.notOk(got.body.includes('sha256:'), 'the secret hash is never answered')
  t.match((await gw.call('GET', `/v1/admin/policies/${app.clientId}`, { token: admin })).json(), { mode: 'required', rememberDays: 7, isDefault: false })
  await send(gw.app, 'PUT', `/v1/admin/policies/${app.clientId}`, { token: admin, body: { mode: 'off' } })
  t.match((await gw.call('GET', `/v1/admin/applications/${app.clientId}`, { token: admin })).json(), { policy: { mode: 'off', rememberDays: 30 }, redirectUris: [app.redirectUri] })
  // A registration without a policy keeps the stored one.
  await send(gw.app, 'PUT', `/v1/admin/applications/${app.clientId}`, { token: admin, body: { name: 'Renamed', redirectUris: [app.redirectUri], clientSecretHash: hashClientSecret(SECRET) } })
  t.match((await gw.call('GET', `/v1/admin/applications/${app.clientId}`, { token: admin })).json(), { name: 'Renamed', policy: { mode: 'off' } })
  t.same((await gw.call('DELETE', `/v1/admin/applications/${app.clientId}`, { token: admin })).json(), { removed: true })
  expectError(t, await gw.call('GET', `/v1/admin/applications/${app.clientId}`, { token: admin }), 404, 'NOT_FOUND')
  t.match((await gw.call('GET', `/v1/admin/policies/${app.clientId}`, { token: admin })).json(), { isDefault: true })
  t.same((await gw.call('DELETE', `/v1/admin/applications/${app.clientId}`, { token: admin })).json(), { removed: false })
  // A policy alone is not a registered application: the hosted flow refuses it.
  await send(gw.app, 'PUT', '/v1/admin/policies/policy-only-app', { token: admin, body: { mode: 'required' } })
  expectError(t, await gw.call('GET', '/v1/admin/applications/policy-only-app', { token: admin }), 404, 'NOT_FOUND')
  const u = await users.login('someone', 'policy-only-app')
  expectError(t, await push({ clientId: 'policy-only-app', redirectUri: 'https://x.example.com/cb' }, u), 401, 'INVALID_CLIENT')
  // A policy stored before applications existed (bucket gateway_policies) is still read; the next write moves it into the record.
  const legacy = await createKvStoreFactory(gw.nc).open<Record<string, unknown>>('gateway_policies')
  await legacy.put(['policy', 'legacy-app'], { mode: 'off', rememberDays: 3, stepUpMaxAgeSec: 300 })
  t.same((await gw.call('GET', '/v1/admin/policies/legacy-app', { token: admin })).json(), { clientId: 'legacy-app', mode: 'off', rememberDays: 3, stepUpMaxAgeSec: 300, isDefault: false })
  await send(gw.app, 'PUT', '/v1/admin/policies/legacy-app', { token: admin, body: { mode: 'required', rememberDays: 1 } })
  t.match((await gw.call('GET', '/v1/admin/policies/legacy-app', { token: admin })).json(), { mode: 'required', rememberDays: 1, isDefault: false })
  // Only admins.
  const user = await users.login('not-an-admin')
  expectError(t, await gw.call('GET', `/v1/admin/applications/${app.clientId}`, { token: user }), 403, 'FORBIDDEN')
  expectError(t, await gw.call('GET', `/v1/admin/applications/${app.clientId}`), 401, 'UNAUTHENTICATED')
})

t.test('malformed input on every new route: 400 BAD_REQUEST, nothing written', async (t) => {
  const app = await registerApp()
  const u = await users.totpUser(app.clientId)
  const token = await users.tok(u)
  const good = { clientId: app.clientId, clientSecret: SECRET, redirectUri: app.redirectUri, state: 's', codeChallenge: pkce().challenge, codeChallengeMethod: 'S256' }
  const bad = (over: Record<string, unknown>) => ({ ...good, ...over })
  for (const body of [
    {}, [], 'x', bad({ extra: 1 }), bad({ clientId: '' }), bad({ clientId: 1 }), bad({ redirectUri: 1 }), bad({ state: '' }), bad({ state: 'a b' }), bad({ state: 'x'.repeat(513) }),
    bad({ codeChallenge: 'x'.repeat(44) }), bad({ codeChallenge: 'ä'.repeat(43) }), bad({ codeChallengeMethod: 's256' }), bad({ purpose: 'login' }), bad({ action: 'Pay!' }),
    bad({ action: 'pay' }), bad({ purpose: 'step-up' }), bad({ clientSecret: '' }),
  ]) {
    expectError(t, await send(gw.app, 'POST', '/v1/authorize', { token, body }), 400, 'BAD_REQUEST')
  }
  expectError(t, await send(gw.app, 'POST', '/v1/authorize', { token, raw: '{"clientId":', contentType: 'application/json' }), 400, 'BAD_REQUEST')
  expectError(t, await send(gw.app, 'POST', '/v1/authorize', { body: good }), 401, 'UNAUTHENTICATED')

  for (const body of [{}, { requestUri: 'urn:warden:request:short' }, { requestUri: 1 }, { requestUri: `urn:warden:request:${'A'.repeat(43)}`, x: 1 }]) {
    expectError(t, await send(gw.app, 'POST', '/v1/authorize/session', { body }), 400, 'BAD_REQUEST')
  }
  const b = browser()
  await openAndStart(b, app, u)
  for (const [url, body] of [['/v1/authorize/complete', { x: 1 }], ['/v1/authorize/complete', []], ['/v1/authorize/cancel', { error: 'invalid_request' }], ['/v1/authorize/cancel', { error: 1 }], ['/v1/authorize/cancel', { reason: 'x' }]] as const) {
    expectError(t, await b.call('POST', url, body), 400, 'BAD_REQUEST')
  }
  t.equal(redirected(await b.call('POST', '/v1/authorize/cancel', {}), app).get('error'), 'access_denied', 'the session was still there after the bad requests')

  const tok = { grantType: 'authorization_code', code: 'A'.repeat(43), redirectUri: app.redirectUri, codeVerifier: 'B'.repeat(43), clientId: app.clientId, clientSecret: SECRET }
  for (const body of [
    {}, { ...tok, grantType: 'refresh_token' }, { ...tok, grantType: undefined }, { ...tok, code: 'A'.repeat(42) }, { ...tok, codeVerifier: 'B'.repeat(42) },
    { ...tok, codeVerifier: 'B'.repeat(129) }, { ...tok, codeVerifier: `${'B'.repeat(42)}+` }, { ...tok, extra: true }, { ...tok, clientId: 7 },
  ]) {
    expectError(t, await send(gw.app, 'POST', '/v1/token', { body }), 400, 'BAD_REQUEST')
  }

  const put = async (body: unknown) => send(gw.app, 'PUT', `/v1/admin/applications/${app.clientId}`, { token: admin, body })
  const reg = { name: 'N', redirectUris: [app.redirectUri], publicClient: true }
  for (const body of [
    {}, { ...reg, name: '' }, { ...reg, name: 'a\nb' }, { ...reg, name: 'x'.repeat(101) }, { ...reg, redirectUris: [] }, { ...reg, redirectUris: 'https://a.example.com' },
    { ...reg, redirectUris: [app.redirectUri, app.redirectUri] }, { ...reg, publicClient: false }, { ...reg, clientSecretHash: hashClientSecret('x') },
    { name: 'N', redirectUris: [app.redirectUri] }, { name: 'N', redirectUris: [app.redirectUri], clientSecretHash: 'md5:abc' }, { ...reg, policy: { mode: 'sometimes' } },
    { ...reg, policy: { mode: 'off', rememberDays: 31 } }, { ...reg, unknown: 1 }, { ...reg, clientSecret: 'plain' },
  ]) {
    expectError(t, await put(body), 400, 'BAD_REQUEST')
  }
  expectError(t, await send(gw.app, 'PUT', `/v1/admin/applications/${'x'.repeat(201)}`, { token: admin, body: reg }), 400, 'BAD_REQUEST')
  t.match((await gw.call('GET', `/v1/admin/applications/${app.clientId}`, { token: admin })).json(), { publicClient: false, hasClientSecret: true }, 'nothing was written')
})

t.test('OpenAPI: the examples of the new schemas are valid against them, and every schema has some', async (t) => {
  const ajv = new Ajv({ strict: false, allErrors: true })
  for (const [name, schema] of Object.entries(schemas)) {
    const examples = (schema as { examples?: unknown[] }).examples ?? []
    t.ok(examples.length > 0, `${name} has examples`)
    const validate = ajv.compile(schema)
    for (const ex of examples) t.ok(validate(ex), `${name} example: ${ajv.errorsText(validate.errors)}`)
  }
})

t.test('no token, code, handle or secret in the logs', async (t) => {
  const text = gw.log.text()
  users.checkLogs(t, text)
  t.ok(bearerValues.length > 5)
  for (const v of bearerValues) t.notOk(text.includes(v), 'no code or handle')
  t.notOk(text.includes(SECRET), 'no client secret')
})
