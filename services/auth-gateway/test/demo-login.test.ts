// The demo identity provider (POST /v1/demo/login): primary tokens for any username with the
// password demo, the admin role, and its malformed input.
import t from 'tap'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { expectCleanLogs, expectError, loginAs, startGateway } from './fixtures/gateway.js'

const gw = await startGateway(t)

t.test('demo login', async (t) => {
  t.test('any username with password demo gets a 1 h primary token', async (t) => {
    const { username, token } = await loginAs(gw)
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

t.test('logs never carry tokens or secrets', async (t) => { expectCleanLogs(t, gw) })
