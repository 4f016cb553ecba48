// The gateway's OpenAPI document and its docs UI: every route, and only those, documented.
// The /v1/admin routes are documented and tested in admin.test.ts.
import t from 'tap'
import { startGateway } from './fixtures/gateway.js'

const gw = await startGateway(t)

t.test('OpenAPI document and docs', async (t) => {
  const res = await gw.call('GET', '/openapi.json')
  t.equal(res.statusCode, 200)
  type Op = { security?: Array<Record<string, unknown>>, responses: Record<string, { content?: Record<string, { example?: unknown, examples?: unknown }> }>, requestBody?: { content?: Record<string, { example?: unknown, examples?: unknown }> } }
  const doc = res.json() as { openapi: string, paths: Record<string, Record<string, Op>> }
  t.equal(doc.openapi, '3.1.0')
  const expected: Record<string, string[]> = {
    '/v1/demo/login': ['post'],
    '/v1/demo/outbox': ['get'],
    '/v1/signin': ['post'],
    '/v1/signin/{transactionId}': ['get'],
    '/v1/signin/{transactionId}/challenge': ['post'],
    '/v1/signin/{transactionId}/push/{challengeId}': ['get'],
    '/v1/signin/{transactionId}/verify': ['post'],
    '/v1/me/factors': ['get'],
    '/v1/me/enrollment': ['get'],
    '/v1/me/recovery-code': ['post'],
    '/v1/me/recovery-code/ack': ['post'],
    '/v1/me/totp': ['post', 'delete'],
    '/v1/me/totp/confirm': ['post'],
    '/v1/me/phones': ['post'],
    '/v1/me/phones/{phoneId}': ['delete'],
    '/v1/me/phones/{phoneId}/verify': ['post'],
    '/v1/me/remembered-devices/{id}': ['delete'],
    '/v1/me/disable': ['post'],
    '/v1/me/webauthn': ['get', 'post'],
    '/v1/me/webauthn/options': ['post'],
    '/v1/me/webauthn/{id}': ['patch', 'delete'],
    '/v1/me/push/pairing': ['post'],
    '/v1/me/push/devices': ['get'],
    '/v1/me/push/devices/{deviceId}': ['get', 'patch', 'delete'],
    '/v1/push/devices': ['post'],
    '/v1/push/devices/{deviceId}/challenges': ['get'],
    '/v1/push/challenges/{challengeId}/answer': ['post'],
    '/v1/me/activity': ['get'],
    '/v1/not-me': ['post'],
    '/v1/authorize': ['post'],
    '/v1/authorize/session': ['post'],
    '/v1/authorize/complete': ['post'],
    '/v1/authorize/cancel': ['post'],
    '/v1/token': ['post'],
    '/.well-known/jwks.json': ['get'],
    '/healthz': ['get'],
    '/readyz': ['get'],
    '/metrics': ['get'],
  }
  // /v1/admin is documented and tested in admin.test.ts.
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
      if (path.startsWith('/v1/signin') || path.startsWith('/v1/me') || path === '/v1/authorize') {
        t.ok(op?.security?.some((s) => 'bearer' in s), `${m} ${path} needs a bearer token`)
        t.ok(op?.responses['4XX']?.content, `${m} ${path} documents its errors`)
      } else {
        t.same(op?.security, [], `${m} ${path} is public`)
      }
    }
  }
  // Every route registered on the app is in the document (the docs UI, the document and the
  // hosted pages under /ui and the demo application aside: HTML, not API): count routed operations
  // against documented ones.
  const routed = gw.app.printRoutes({ commonPrefix: false }).split('\n')
    .filter((line) => !/docs|static|\/json|\/yaml|\* \(|openapi\.json|\/ui|\/:asset|demo-app|(sign-in|sign-out|callback|style\.css) \(/.test(line))
    .reduce((n, line) => n + (line.match(/\b(GET|POST|PUT|PATCH|DELETE)\b/g) ?? []).length, 0)
  const documented = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0)
  t.equal(routed, documented, 'as many routed operations as documented ones')
  t.equal(Object.entries(doc.paths).filter(([p]) => !p.startsWith('/v1/admin/')).reduce((n, [, ops]) => n + Object.keys(ops).length, 0), Object.values(expected).flat().length, 'every documented operation is an expected one')
  const docs = await gw.call('GET', '/docs')
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /text\/html/)
  t.notMatch(docs.headers['content-security-policy'], /upgrade-insecure-requests/)
})
