// Admin routes and their OpenAPI documentation, against real NATS and Redis, with the real
// factor-totp service in this process (one manual clock for it and the gateway, so TOTP codes are
// computed as an authenticator app would) and placeholder services for the other factors. The
// gateway's rate limits are tested in rate-limit.test.ts.
import t from 'tap'
import { Ajv } from 'ajv'
import { manualClock, startInfra, uniqueUserId } from '@warden/testkit'
import { adminErrorResponses, AdminUserFactors, ClientIdParams, PolicyBody, PolicyView, ResetAnswer, ResetBody, SubParams } from '../src/schemas-admin.js'
import { expectError, hsToken, type Method, send, type SendOpts, startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startPlaceholders } from './fixtures/fake-factors.js'
import { startRealTotp, totpCode } from './fixtures/stack.js'

const clock = manualClock(new Date())
const infra = await startInfra(t)
const { log: totpLog } = await startRealTotp(t, infra, clock)

// The main gateway: limits out of the way (every inject() comes from 127.0.0.1).
const gw = await startGateway(t, { clock, infra })
const placeholders = await startPlaceholders(t, gw.nc)

const call = async (method: Method, url: string, o: SendOpts = {}) => send(gw.app, method, url, o)

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
  const wrongRole = await hsToken(clock, gw.secret, { sub: uniqueUsername('r'), azp: 'demo-app', role: 'warden:user' })
  const roleArray = await hsToken(clock, gw.secret, { sub: uniqueUsername('r'), azp: 'demo-app', role: ['warden:admin'] })
  const roleCase = await hsToken(clock, gw.secret, { sub: uniqueUsername('r'), azp: 'demo-app', role: 'Warden:Admin' })
  const upstreamAdmin = await hsToken(clock, gw.secret, { sub: uniqueUsername('ops'), azp: 'console', role: 'warden:admin' })
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
  t.same(await gw.app.policies.get(clientId), stored, 'what sign-in reads (app.policies: the application record, KV bucket gateway_applications)')

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

const codeOf = (secret: string, offsetSteps = 0): string => totpCode(clock, secret, offsetSteps)

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
  ['/v1/admin/applications/{clientId}', 'get', '200'],
  ['/v1/admin/applications/{clientId}', 'put', '200'],
  ['/v1/admin/applications/{clientId}', 'delete', '200'],
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
