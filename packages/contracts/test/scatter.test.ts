import t from 'tap'
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node'
import { ServiceErrorCodeHeader, ServiceErrorHeader, Svcm } from '@nats-io/services'
import { startNats } from '@warden/testkit'
import { BusError, describeFactors, type DescribeResponse, type FactorName } from '../src/index.js'
import { scatter, serveDescribe, type IgnoredReply, type Log } from '../src/nats/index.js'

const quiet: Log = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} }
const nothing = (factor: FactorName): DescribeResponse => ({ factor, enrolled: false, items: [] })

t.test('scatter() over a real nats-server', async (t) => {
  const nats = await startNats()
  const server = await connect({ servers: nats.url })
  const client: NatsConnection = await connect({ servers: nats.url })
  t.teardown(async () => { await client.close(); await server.close(); await nats.stop() })

  /** A factor service answering describe on both subjects; `calls` counts the requests it handled. */
  const factorService = async (factor: FactorName, name = `factor-${factor}`, answer: (factor: FactorName) => DescribeResponse = nothing) => {
    const svc = await new Svcm(server).add({ name, version: '0.0.1', queue: 'q' })
    const state = { calls: 0 }
    serveDescribe(svc, factor, async () => { state.calls++; return answer(factor) }, quiet)
    t.teardown(async () => { await svc.stop() })
    return state
  }
  /** A raw subscriber on the scatter subject that answers what the test says (nothing: it hears and stays silent). */
  const raw = async (answer: (m: Msg) => void) => {
    const sub = server.subscribe(describeFactors.subject, { callback: (_err, m) => { answer(m) } })
    await server.flush()
    return () => { sub.unsubscribe() }
  }

  await t.test('nobody serves the subject: UNAVAILABLE, at once', async (t) => {
    const started = Date.now()
    await t.rejects(scatter(client, describeFactors, { userId: 'usr_x' }, { expected: 1, timeoutMs: 5_000 }), { code: 'UNAVAILABLE' })
    t.ok(Date.now() - started < 2_000, 'ended by the no-responders status, not the deadline')
  })

  await t.test('the request is validated before sending', async (t) => {
    await t.rejects(scatter(client, describeFactors, { userId: '' }, { expected: 1 }), { code: 'BAD_REQUEST' })
  })

  const push = await factorService('push')
  const totp = await factorService('totp')
  const sms = await factorService('sms')
  await server.flush()

  await t.test('one publish, one reply per service, back as soon as all expected arrived', async (t) => {
    const started = Date.now()
    const replies = await scatter(client, describeFactors, { userId: 'usr_x' }, { expected: 3, timeoutMs: 5_000 })
    t.same(replies.map((r) => r.factor).sort(), ['push', 'sms', 'totp'])
    t.ok(Date.now() - started < 2_000, `not at the deadline (${Date.now() - started} ms)`)
    t.same([push.calls, totp.calls, sms.calls], [1, 1, 1], 'each service asked once')
  })

  await t.test('a factor that does not answer: what arrived, at the deadline', async (t) => {
    const started = Date.now()
    const replies = await scatter(client, describeFactors, { userId: 'usr_x' }, { expected: 4, timeoutMs: 300 })
    t.same(replies.map((r) => r.factor).sort(), ['push', 'sms', 'totp'])
    t.ok(Date.now() - started >= 250, 'waited for the fourth until the deadline')
  })

  await t.test('accept drops duplicates and factors not asked; expected counts only what it kept', async (t) => {
    const stop = await raw((m) => { m.respond(JSON.stringify(nothing('totp'))) }) // a second totp answer
    t.teardown(stop)
    const wanted = new Set<FactorName>(['totp', 'sms'])
    const replies = await scatter(client, describeFactors, { userId: 'usr_x' }, { expected: 2, timeoutMs: 5_000, accept: (r) => wanted.delete(r.factor) })
    t.same(replies.map((r) => r.factor).sort(), ['sms', 'totp'], 'totp once, push left out')
  })

  await t.test('an error reply and a reply that breaks the contract are left out and reported', async (t) => {
    const stopBad = await raw((m) => { m.respond(JSON.stringify({ factor: 'email', enrolled: true, items: [] })) })
    // A service whose describe fails: an error reply in the micro services' headers.
    const failing = await new Svcm(server).add({ name: 'factor-failing', version: '0.0.1', queue: 'failing' })
    failing.addEndpoint('describe', { subject: describeFactors.subject, handler: (_err, m) => { m.respondError(503, 'UNAVAILABLE', JSON.stringify(new BusError('UNAVAILABLE', 'down').toBody())) } })
    await server.flush()
    t.teardown(async () => { stopBad(); await failing.stop() })
    const ignored: IgnoredReply[] = []
    const replies = await scatter(client, describeFactors, { userId: 'usr_x' }, { expected: 3, timeoutMs: 5_000, onIgnored: (i) => { ignored.push(i) } })
    t.same(replies.map((r) => r.factor).sort(), ['push', 'sms', 'totp'])
    t.same(ignored.map((i) => i.error.code).sort(), ['INTERNAL', 'UNAVAILABLE'])
  })

  await t.test('two replicas of one service: exactly one answers', async (t) => {
    const a = await factorService('recovery', 'factor-recovery')
    const b = await factorService('recovery', 'factor-recovery')
    await server.flush()
    for (let i = 0; i < 4; i++) {
      const replies = await scatter(client, describeFactors, { userId: 'usr_x' }, { expected: 5, timeoutMs: 300 })
      t.same(replies.map((r) => r.factor).filter((f) => f === 'recovery'), ['recovery'], `one recovery answer (round ${i})`)
    }
    t.equal(a.calls + b.calls, 4, 'one replica per request')
  })

  await t.test('a service answering for another factor is not heard as that factor', async (t) => {
    const liar = await factorService('webauthn', 'factor-webauthn', () => nothing('totp'))
    await server.flush()
    const replies = await scatter(client, describeFactors, { userId: 'usr_x' }, { expected: 6, timeoutMs: 300 })
    t.equal(liar.calls, 1, 'it was asked')
    t.same(replies.filter((r) => r.factor === 'totp').length, 1, 'its answer is not a second totp')
    t.notOk(replies.some((r) => r.factor === 'webauthn'))
  })

  await t.test('a malformed request on the scatter subject: BAD_REQUEST from each service, no crash', async (t) => {
    const inbox = client.subscribe('_TEST_MALFORMED', { max: 3 })
    await client.flush()
    client.publish(describeFactors.subject, 'not json', { reply: '_TEST_MALFORMED' })
    const got: Msg[] = []
    const timer = setTimeout(() => { inbox.unsubscribe() }, 2_000)
    for await (const m of inbox) got.push(m)
    clearTimeout(timer)
    t.equal(got.length, 3, 'the factor services refused it (the first three replies)')
    for (const m of got) {
      t.equal(m.headers?.get(ServiceErrorHeader), 'BAD_REQUEST')
      t.equal(m.headers?.get(ServiceErrorCodeHeader), '400')
    }
    t.same((await scatter(client, describeFactors, { userId: 'usr_x' }, { expected: 3, timeoutMs: 5_000, accept: (r) => ['push', 'totp', 'sms'].includes(r.factor) })).length, 3, 'still answering')
  })

  await t.test('a closed connection ends the wait at once with what arrived', async (t) => {
    const own = await connect({ servers: nats.url })
    const waiting = scatter(own, describeFactors, { userId: 'usr_x' }, { expected: 50, timeoutMs: 10_000 })
    await own.flush()
    const started = Date.now()
    await own.close()
    t.ok(Array.isArray(await waiting))
    t.ok(Date.now() - started < 5_000, 'not at its deadline')
  })
})
