// What the logger writes down: error codes readable, one-time codes and secrets redacted, query
// strings never; and the deadline helpers every request-path call goes through.
import t from 'tap'
import { BusError } from '@warden/contracts'
import { captureLog } from '@warden/testkit'
import { censor, createLogger, redactQuery, withDeadline, withDeadlines } from '../src/index.js'

function lineOf (obj: object): Record<string, any> {
  const cap = captureLog()
  createLogger({ name: 'test', level: 'info', destination: cap.stream }).info(obj, 'line')
  return JSON.parse(cap.lines()[0] as string) as Record<string, any>
}

t.test('error codes stay readable; codes and secrets stay redacted', async (t) => {
  const fault = lineOf({ err: new BusError('BAD_REQUEST', 'request does not match the contract') })
  t.equal(fault.err.code, 'BAD_REQUEST', 'a BusError\'s code')
  t.equal(lineOf({ error: { code: 'STEP_UP_REQUIRED', message: 'x' } }).error.code, 'STEP_UP_REQUIRED', 'an error body\'s code')
  t.equal(lineOf({ err: Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' }) }).err.code, 'FST_ERR_CTP_BODY_TOO_LARGE')
  t.equal(lineOf({ err: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }).err.code, 'ECONNREFUSED')
  t.equal(lineOf({ err: Object.assign(new Error('x'), { code: 'ERR_HTTP2_STREAM_ERROR' }) }).err.code, 'ERR_HTTP2_STREAM_ERROR')

  // Anything else named `code` is redacted, wherever it is, even an error's when it is not shaped like one.
  t.equal(lineOf({ code: '123456' }).code, '[Redacted]')
  t.equal(lineOf({ code: 'BAD_REQUEST' }).code, '[Redacted]', 'only an error object\'s code is kept')
  t.equal(lineOf({ body: { code: '123456' } }).body.code, '[Redacted]')
  t.equal(lineOf({ input: { code: 'ABCD-EFGH-2345-67AB' } }).input.code, '[Redacted]')
  for (const secretish of ['123456', 'ABCD-EFGH-2345-67AB', 'ABCDEFGH234567AB', 'eyJhbGciOi.x.y', 'rd_abc', 'JBSWY3DPEHPK3PXP2', 'bad_request']) {
    t.equal(lineOf({ err: { code: secretish } }).err.code, '[Redacted]', `err.code ${secretish}`)
    t.equal(lineOf({ error: { code: secretish } }).error.code, '[Redacted]', `error.code ${secretish}`)
  }
  t.equal(lineOf({ err: { code: 7 } }).err.code, '[Redacted]', 'a number is no error code')
  const secrets = lineOf({ secret: 'JBSWY3DPEHPK3PXP', token: 'eyJ.a.b', req: { headers: { authorization: 'Bearer x' } }, key: 'k' })
  t.same([secrets.secret, secrets.token, secrets.key], ['[Redacted]', '[Redacted]', '[Redacted]'])

  t.equal(censor('BAD_REQUEST', ['err', 'code']), 'BAD_REQUEST')
  t.equal(censor('BAD_REQUEST', ['body', 'code']), '[Redacted]')
  t.equal(censor('BAD_REQUEST', ['err', 'token']), '[Redacted]')
})

t.test('query strings are redacted from request lines', async (t) => {
  t.equal(redactQuery('/v1/me/factors'), '/v1/me/factors')
  t.equal(redactQuery('/v1/me/factors?token=eyJ.a.b&x=1'), '/v1/me/factors?[Redacted]')
  t.equal(redactQuery('/v1/signin/txn_x/push/pch_y?waitSec=5'), '/v1/signin/txn_x/push/pch_y?[Redacted]')
  t.equal(redactQuery('/?'), '/?[Redacted]')
  const line = lineOf({ req: { method: 'GET', url: '/v1/me?access_token=eyJ.secret.sig', ip: '192.0.2.1', host: 'gw', socket: { remotePort: 5 } } })
  t.same(line.req, { method: 'GET', url: '/v1/me?[Redacted]', host: 'gw', remoteAddress: '192.0.2.1', remotePort: 5 })
})

t.test('deadlines: a call that does not answer in time rejects, a quick one passes through', async (t) => {
  t.equal(await withDeadline(Promise.resolve(7), 1_000, 'x'), 7)
  await t.rejects(withDeadline(Promise.reject(new Error('own')), 1_000, 'x'), { message: 'own' }, 'its own failure, not the deadline\'s')
  const started = Date.now()
  await t.rejects(withDeadline(new Promise(() => {}), 50, 'the store'), { message: 'the store did not answer in 50 ms' })
  t.ok(Date.now() - started < 1_000, 'does not wait for the call')

  const calls: unknown[][] = []
  const port = {
    quick: async (a: number, b: number) => { calls.push([a, b]); return a + b },
    hang: async () => new Promise<never>(() => {}),
    label: 'not a function',
  }
  const guarded = withDeadlines(port, 50, 'the port')
  t.equal(await guarded.quick(2, 3), 5)
  t.same(calls, [[2, 3]], 'arguments pass through')
  await t.rejects(guarded.hang(), { message: 'the port did not answer in 50 ms' })
  t.equal(guarded.label, 'not a function')
})
