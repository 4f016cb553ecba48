import t from 'tap'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { ServiceErrorCodeHeader, ServiceErrorHeader, Svcm } from '@nats-io/services'
import { context, propagation, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { startNats } from '@warden/testkit'
import { BusError, describeTotp, verifyTotp, type VerifyTotpRequest } from '../src/index.js'
import { request, REQUESTS_METRIC, serve, type Log, type OutcomeCounter } from '../src/nats/index.js'

// Real tracing, in memory: proves traceparent crosses the bus both ways.
const exporter = new InMemorySpanExporter()
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
propagation.setGlobalPropagator(new W3CTraceContextPropagator())
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())

const logged: Array<{ level: string, obj: object, msg: string }> = []
const log: Log = {
  error: (obj, msg) => { logged.push({ level: 'error', obj, msg }) },
  warn: (obj, msg) => { logged.push({ level: 'warn', obj, msg }) },
  info: (obj, msg) => { logged.push({ level: 'info', obj, msg }) },
  debug: (obj, msg) => { logged.push({ level: 'debug', obj, msg }) },
}
const counted: Array<Record<string, string>> = []
const metrics: OutcomeCounter = { inc: (name, labels) => { if (name === REQUESTS_METRIC) counted.push(labels) } }

const flowId = 'txn_' + 'x'.repeat(43)
const ok: VerifyTotpRequest = { userId: 'usr_ok', flowId, code: '123456' }

t.test('serve() and request() over a real nats-server', async (t) => {
  const nats = await startNats()
  const server = await connect({ servers: nats.url })
  const client: NatsConnection = await connect({ servers: nats.url })
  t.teardown(async () => { await client.close(); await server.close(); await nats.stop() })

  const svc = await new Svcm(server).add({ name: 'factor-test', version: '0.0.1' })
  serve(svc, verifyTotp, async (req) => {
    if (req.userId === 'usr_ok') return { result: 'verified' as const, verifiedAt: '2026-01-01T00:00:00.000Z' }
    if (req.userId === 'usr_locked') throw new BusError('FACTOR_LOCKED', 'locked', { retryAfterSec: 60 })
    if (req.userId === 'usr_bug') return { result: 'maybe' } as never
    if (req.userId === 'usr_busy') throw new BusError('UNAVAILABLE', 'the same attempt is still in progress', { retryAfterSec: 1 })
    if (req.userId === 'usr_wrong') return { result: 'rejected' as const, reason: 'invalid_code' as const, attemptsLeft: 3 }
    throw new Error('db password=hunter2 leaked in a driver error')
  }, log, metrics)
  // The client is another connection: wait until the server has the endpoint's subscription.
  await server.flush()

  await t.test('happy path', async (t) => {
    t.same(await request(client, verifyTotp, ok), { result: 'verified', verifiedAt: '2026-01-01T00:00:00.000Z' })
  })

  await t.test('a request that breaks the contract gets BAD_REQUEST in the service-error headers', async (t) => {
    for (const body of ['{"userId":1}', 'not json', JSON.stringify({ ...ok, code: '12345' }), JSON.stringify({ ...ok, extra: 1 }), '']) {
      const m = await client.request(verifyTotp.subject, body, { timeout: 2000 })
      t.equal(m.headers?.get(ServiceErrorHeader), 'BAD_REQUEST', `header for ${body}`)
      t.equal(m.headers?.get(ServiceErrorCodeHeader), '400')
      t.match(m.json(), { code: 'BAD_REQUEST' })
    }
  })

  await t.test('request() validates before sending', async (t) => {
    await t.rejects(request(client, verifyTotp, { ...ok, code: 'abc' }), { code: 'BAD_REQUEST' })
  })

  await t.test('a domain error keeps its code and retry hint', async (t) => {
    await t.rejects(request(client, verifyTotp, { ...ok, userId: 'usr_locked' }), { code: 'FACTOR_LOCKED', retryAfterSec: 60 })
  })

  await t.test("a handler's fault reaches the caller as a generic INTERNAL", async (t) => {
    const err = await request(client, verifyTotp, { ...ok, userId: 'usr_crash' }).catch((e: unknown) => e)
    t.ok(BusError.is(err))
    t.match(err, { code: 'INTERNAL', message: 'internal error' })
    t.notMatch(JSON.stringify(err), /hunter2/)
    t.ok(logged.some((l) => l.msg === 'request failed'), 'the cause is logged on the server')
  })

  await t.test('a response that breaks the contract is never sent', async (t) => {
    await t.rejects(request(client, verifyTotp, { ...ok, userId: 'usr_bug' }), { code: 'INTERNAL', message: 'internal error' })
  })

  await t.test('no responders → UNAVAILABLE; silence → TIMEOUT', async (t) => {
    await t.rejects(request(client, describeTotp, { userId: 'usr_x' }, { timeoutMs: 500 }), { code: 'UNAVAILABLE' })
    const mute = client.subscribe(describeTotp.subject) // a subscriber that never answers
    t.teardown(() => { mute.unsubscribe() })
    await client.flush()
    await t.rejects(request(client, describeTotp, { userId: 'usr_x' }, { timeoutMs: 200 }), { code: 'TIMEOUT' })
  })

  await t.test('parallel requests on one connection each get their own answer; a late one is dropped', async (t) => {
    const users = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? 'usr_ok' : 'usr_wrong'))
    const answers = await Promise.all(users.map((userId) => request(client, verifyTotp, { ...ok, userId })))
    t.same(answers.map((a) => a.result), users.map((u) => (u === 'usr_ok' ? 'verified' : 'rejected')))
    // A service slower than the deadline: TIMEOUT, and its late answer settles nothing afterwards.
    const slow = server.subscribe(describeTotp.subject, { callback: (_err, m) => { setTimeout(() => m.respond(JSON.stringify({ factor: 'totp', enrolled: false, items: [] })), 300) } })
    t.teardown(() => { slow.unsubscribe() })
    await server.flush()
    await t.rejects(request(client, describeTotp, { userId: 'usr_x' }, { timeoutMs: 100 }), { code: 'TIMEOUT' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    t.same(await request(client, verifyTotp, ok), { result: 'verified', verifiedAt: '2026-01-01T00:00:00.000Z' })
  })

  await t.test('a closed connection fails what waits at once, and later calls, as UNAVAILABLE', async (t) => {
    const own = await connect({ servers: nats.url })
    const mute = server.subscribe(describeTotp.subject)
    t.teardown(() => { mute.unsubscribe() })
    await server.flush()
    const waiting = request(own, describeTotp, { userId: 'usr_x' }, { timeoutMs: 10_000 })
    await own.flush()
    const started = Date.now()
    await own.close()
    await t.rejects(waiting, { code: 'UNAVAILABLE' })
    t.ok(Date.now() - started < 5_000, 'not at its deadline')
    await t.rejects(request(own, describeTotp, { userId: 'usr_x' }), { code: 'UNAVAILABLE' })
  })

  await t.test('the trace continues across the bus', async (t) => {
    exporter.reset()
    const tracer = trace.getTracer('test')
    await tracer.startActiveSpan('gateway request', async (span) => {
      await request(client, verifyTotp, ok)
      span.end()
    })
    const spans = exporter.getFinishedSpans()
    const server = spans.find((s) => s.name === `${verifyTotp.subject} process`)
    const root = spans.find((s) => s.name === 'gateway request')
    t.ok(server && root)
    t.equal(server?.spanContext().traceId, root?.spanContext().traceId, 'one trace from caller to handler')
    for (const s of spans) t.notMatch(JSON.stringify(s.attributes), /123456/, 'no codes in span attributes')
  })

  await t.test('every outcome is counted per endpoint: ok with the answer\'s verdict, or the error code', async (t) => {
    counted.length = 0
    await request(client, verifyTotp, ok)
    await request(client, verifyTotp, { ...ok, userId: 'usr_wrong' })
    await request(client, verifyTotp, { ...ok, userId: 'usr_locked' }).catch(() => undefined)
    await request(client, verifyTotp, { ...ok, userId: 'usr_crash' }).catch(() => undefined)
    await client.request(verifyTotp.subject, 'not json', { timeout: 2000 })
    t.same(counted, [
      { endpoint: 'verify', outcome: 'ok', result: 'verified' },
      { endpoint: 'verify', outcome: 'ok', result: 'invalid_code' },
      { endpoint: 'verify', outcome: 'FACTOR_LOCKED' },
      { endpoint: 'verify', outcome: 'INTERNAL' },
      { endpoint: 'verify', outcome: 'BAD_REQUEST' },
    ])
  })

  await t.test('expected refusals are logged at info without a stack; only faults are errors', async (t) => {
    for (const userId of ['usr_locked', 'usr_busy', 'usr_crash']) {
      logged.length = 0
      await request(client, verifyTotp, { ...ok, userId }).catch(() => undefined)
      const [line, ...more] = logged
      t.same(more, [], `one line for ${userId}`)
      if (userId === 'usr_crash') {
        t.match(line, { level: 'error', msg: 'request failed', obj: { errorCode: 'INTERNAL' } })
        t.match((line?.obj as { err?: Error }).err?.stack, /hunter2/, 'the fault keeps its cause and stack, on the server only')
      } else {
        t.match(line, { level: 'info', msg: 'request refused', obj: { errorCode: userId === 'usr_busy' ? 'UNAVAILABLE' : 'FACTOR_LOCKED' } })
        t.notOk('err' in (line?.obj ?? {}), 'no error object, so no stack trace')
      }
    }
  })

  await t.test('micro service discovery sees the endpoint', async (t) => {
    const pong = (await client.request('$SRV.PING.factor-test', '', { timeout: 1000 })).json<{ name: string }>()
    t.equal(pong.name, 'factor-test')
    const info = (await client.request('$SRV.INFO.factor-test', '', { timeout: 1000 })).json<{ endpoints: Array<{ subject: string }> }>()
    t.same(info.endpoints.map((e) => e.subject), [verifyTotp.subject])
  })
})
