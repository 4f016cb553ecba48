// The audit events of sign-in (issue 14), against real NATS (the WARDEN_EVENTS stream) and Redis:
// verification.rejected on every refused second-factor answer, device.remembered when a remember
// token is issued, network.seen on the first sign-in from a network; and a stream that is away
// never fails a sign-in (the lost event is logged). The factors are fakes on the bus.
import { EVENTS_STREAM } from '@warden/contracts'
import { ensureEventStream } from '@warden/service-kit'
import { eventually, manualClock } from '@warden/testkit'
import t from 'tap'
import { eventContext } from '../src/adapters/signin-events.js'
import { startChallenge, startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
const totp = await startFakeTotp(t, gw.nc)
await startPlaceholders(t, gw.nc)

interface Published { subject: string, payload: Record<string, unknown> }

/** Every event of `userId` on WARDEN_EVENTS, oldest first. */
async function eventsOf (userId: string): Promise<Published[]> {
  const info = JSON.parse((await gw.nc.request(`$JS.API.STREAM.INFO.${EVENTS_STREAM}`, '')).string()) as { state: { first_seq: number, last_seq: number } }
  const out: Published[] = []
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const m = JSON.parse((await gw.nc.request(`$JS.API.STREAM.MSG.GET.${EVENTS_STREAM}`, JSON.stringify({ seq }))).string()) as { message?: { data?: string, subject?: string } }
    const payload = JSON.parse(Buffer.from(m.message?.data ?? 'e30=', 'base64').toString('utf8')) as Record<string, unknown>
    if (payload.userId === userId) out.push({ subject: (m.message?.subject ?? '').replace('warden.events.v1.', ''), payload })
  }
  return out
}

async function userWithTotp (): Promise<{ username: string, token: string }> {
  const username = uniqueUsername('evt')
  totp.enroll(username)
  return { username, token: await gw.login(username) }
}

const FROM = { ip: '203.0.113.7', userAgent: 'Firefox on Linux' }

async function signIn (token: string, opts: { code?: string, ip?: string, remember?: boolean } = {}) {
  const res = await gw.call('POST', '/v1/signin', { token, body: { context: { ...FROM, ip: opts.ip ?? FROM.ip } } })
  const id = res.json().transactionId as string
  return gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: opts.code ?? '000000', ...(opts.remember === true ? { rememberDevice: true } : {}) } })
}

t.test('a rejected answer is verification.rejected, with the factor, the reason and where it came from', async (t) => {
  const { username, token } = await userWithTotp()
  const id = await startChallenge(gw, token)
  t.equal((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '123456' } })).json().status, 'rejected')
  t.equal((await gw.call('POST', `/v1/signin/${id}/verify`, { token, body: { method: 'totp', code: '888888' } })).statusCode, 429, 'a lock is a refusal too')
  await eventually(async () => (await eventsOf(username)).length === 2, { what: 'two rejections' })
  const events = await eventsOf(username)
  t.same(events.map((e) => [e.subject, e.payload.factor, e.payload.reason]), [['verification.rejected', 'totp', 'invalid_code'], ['verification.rejected', 'totp', 'locked']])
  t.same(events[0]?.payload.context, { clientId: 'demo-app', ip: '127.0.0.1', userAgent: 'lightMyRequest' }, 'the application, the peer address and its user agent (no context was sent)')
  t.notOk(JSON.stringify(events).includes('123456'), 'never the code')
})

t.test('a remembered device is device.remembered; a sign-in from a network the user had not used is network.seen, once', async (t) => {
  const { username, token } = await userWithTotp()
  const first = await signIn(token, { remember: true })
  t.equal(first.json().status, 'verified')
  await eventually(async () => (await eventsOf(username)).length === 1, { what: 'the remembered device' })
  const [remembered] = await eventsOf(username)
  t.equal(remembered?.subject, 'device.remembered', 'a user\'s very first sign-in is no new network')
  t.match(remembered?.payload, { deviceId: /^[A-Za-z0-9_-]+$/, context: { clientId: 'demo-app', ...FROM } })
  t.notOk(JSON.stringify(remembered).includes(first.json().rememberToken as string), 'never the remember token')

  t.equal((await signIn(token, { ip: '203.0.113.99' })).json().status, 'verified', 'the same /24 again')
  t.equal((await signIn(token, { ip: '198.51.100.20' })).json().status, 'verified', 'another network')
  t.equal((await signIn(token, { ip: '198.51.100.21' })).json().status, 'verified', 'that one again')
  // A third network last: its event comes after anything the sign-ins before it could publish
  // (one Redis connection, one NATS connection, both in order), so waiting for it waits for them.
  t.equal((await signIn(token, { ip: '2001:db8:7::1' })).json().status, 'verified', 'an IPv6 network')
  const seenIps = async () => (await eventsOf(username)).filter((e) => e.subject === 'network.seen').map((e) => (e.payload.context as { ip: string }).ip)
  await eventually(async () => (await seenIps()).includes('2001:db8:7::1'), { what: 'the IPv6 network' })
  t.same(await seenIps(), ['198.51.100.20', '2001:db8:7::1'], 'each new network once; the known ones are not news')
  t.same((await eventsOf(username)).find((e) => e.subject === 'network.seen')?.payload.context, { clientId: 'demo-app', ip: '198.51.100.20', userAgent: FROM.userAgent })
})

t.test('the stream away: sign-in answers all the same, and the lost event is logged', async (t) => {
  const { username, token } = await userWithTotp()
  t.equal((await signIn(token)).json().status, 'verified', 'signed in before, from another network')
  await gw.nc.request(`$JS.API.STREAM.DELETE.${EVENTS_STREAM}`, '')
  t.teardown(() => ensureEventStream(gw.nc))
  t.equal((await signIn(token, { code: '123456' })).json().status, 'rejected')
  t.equal((await signIn(token, { remember: true, ip: '192.0.2.1' })).json().status, 'verified')
  await eventually(() => gw.log.lines().filter((l) => l.includes('audit event not published') && l.includes(username)).length === 3, { what: 'three logged losses' })
})

t.test('an event carries an IP only when it is an address', async (t) => {
  t.same(eventContext({ clientId: 'app', ip: '::ffff:203.0.113.7', userAgent: 'UA' }), { clientId: 'app', ip: '::ffff:203.0.113.7', userAgent: 'UA' })
  t.same(eventContext({ ip: 'unknown, 10.0.0.1' }), {})
  t.equal(eventContext({ userAgent: 'x'.repeat(600) }).userAgent?.length, 512)
})
