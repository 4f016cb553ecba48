// Every operation of the OpenAPI document, hit with generated malformed input (a seeded generator,
// so a failure replays): wrong types, oversized and odd strings, deep nesting, prototype keys,
// broken JSON, wrong content types, garbage path parameters. Whatever comes in, the answer is a
// 4xx in the one error shape with a stable code, never a 5xx, and stored state does not move.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { ERROR_CODES } from '@warden/contracts'
import { loadNotifierConfig, startNotifier } from '@warden/notifier'
import { generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, manualClock } from '@warden/testkit'
import { expectError, hsToken, loginAs, startChallenge, startGateway, type Method } from './fixtures/gateway.js'
import { startFakeFactors, startFakeTotp } from './fixtures/fake-factors.js'

const clock = manualClock(new Date())
const gw = await startGateway(t, { clock })
const fakeTotp = await startFakeTotp(t, gw.nc)
await startFakeFactors(t, gw.nc)
// The activity, audit and webhook routes ask the notifier: the real one, so its answers are fuzzed too.
const notifier = await startNotifier(loadNotifierConfig({
  NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, OPS_HOST: '127.0.0.1', DEMO_MODE: 'true',
  SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64'),
}), { clock, logDestination: captureLog().stream, autoDispatch: false })
t.teardown(() => notifier.stop())

/** mulberry32: small, seeded, good enough to pick cases. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
const SEED = Number(process.env.FUZZ_SEED ?? 20261202)
const rand = prng(SEED)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T

const STRINGS = ['', ' ', 'a'.repeat(5000), '\u0000', '\uD800', '١٢٣٤٥٦', '../../etc/passwd', '<script>x</script>', '${7*7}', '%00', '💥'.repeat(50), 'null', 'true', '0', '-1', '1e309']
function value (depth = 0): unknown {
  const kinds = depth > 3 ? ['s', 'n', 'b', 'z'] : ['s', 'n', 'b', 'z', 'a', 'o']
  switch (pick(kinds)) {
    case 's': return pick(STRINGS)
    case 'n': return pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, 123456])
    case 'b': return rand() < 0.5
    case 'z': return null
    case 'a': return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1))
    default: return Object.fromEntries(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => [pick(['method', 'code', 'x', '__proto__', 'constructor', 'mode', 'purpose']), value(depth + 1)]))
  }
}
const nested = (n: number): unknown => n === 0 ? {} : { a: nested(n - 1) }

/** Bodies for an operation: generic junk, plus its own field names with wrong values. */
function bodies (fields: readonly string[]): Array<{ raw: string, type?: string }> {
  const out: Array<{ raw: string, type?: string }> = [
    { raw: 'null' }, { raw: '[]' }, { raw: '"x"' }, { raw: '42' }, { raw: '{' }, { raw: '{"a":1,}' }, { raw: '' },
    { raw: JSON.stringify(nested(200)) },
    { raw: '{"__proto__":{"polluted":true}}' }, { raw: '{"constructor":{"prototype":{"polluted":true}}}' },
    { raw: JSON.stringify({ x: 'a'.repeat(20_000) }) }, // over the 16 KiB body limit
    { raw: '{"method":"totp","code":"000000"}', type: 'text/plain' },
    { raw: 'method=totp&code=000000', type: 'application/x-www-form-urlencoded' },
  ]
  for (let i = 0; i < 25; i++) {
    const body: Record<string, unknown> = {}
    for (const f of fields) if (rand() < 0.7) body[f] = value()
    if (rand() < 0.3) body[pick(['extra', '__proto__', 'constructor'])] = value()
    out.push({ raw: JSON.stringify(body) })
  }
  return out
}

interface Operation { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown>, anyOf?: Array<{ properties?: Record<string, unknown> }> } }> } }
const fieldsOf = (op: Operation): string[] => {
  const schema = op.requestBody?.content?.['application/json']?.schema
  const all = [schema?.properties, ...(schema?.anyOf ?? []).map((s) => s.properties)].flatMap((p) => Object.keys(p ?? {}))
  return [...new Set(all)]
}

t.test(`every documented operation refuses generated malformed input with a 4xx (seed ${SEED})`, async (t) => {
  const { username, token } = await loginAs(gw)
  fakeTotp.enroll(username)
  const txn = await startChallenge(gw, token)
  const admin = await hsToken(clock, gw.secret, { sub: 'fuzz-admin', role: 'warden:admin', token_use: 'primary' })
  const before = { factors: (await gw.call('GET', '/v1/me/factors', { token })).body, flow: await gw.redis.get(`gw:signin:${txn}`) }
  const doc = (await gw.call('GET', '/openapi.json')).json() as { paths: Record<string, Record<string, Operation>> }

  const garbageParams = ['x', 'txn_' + 'A'.repeat(42) + '!', '%E0%A4%A', 'a'.repeat(300), '..', 'rdv_' + 'A'.repeat(21) + '%00']
  let requests = 0
  const unexpected: string[] = []
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const m = method.toUpperCase() as Method
      const bearer = path.startsWith('/v1/admin') ? admin : token
      // With real path parameters, the body is what is malformed; with garbage ones, the URL is.
      const urls = [path.replace('{transactionId}', txn).replace(/\{[^}]+\}/g, 'pch_AAAAAAAAAAAAAAAAAAAAAA'),
        ...garbageParams.filter(() => path.includes('{')).map((g) => path.replace(/\{[^}]+\}/g, g))]
      const cases = m === 'GET' || m === 'DELETE' ? [{ raw: undefined as string | undefined, type: undefined as string | undefined }] : bodies(fieldsOf(op))
      for (const url of urls) {
        for (const c of cases) {
          // The long-poll waits when asked to: keep it from waiting.
          const target = url.includes('/push/') ? `${url}?waitSec=0` : url
          const res = await gw.app.inject({
            method: m,
            url: target,
            headers: {
              authorization: `Bearer ${bearer}`,
              ...(c.raw === undefined ? {} : { 'content-type': c.type ?? 'application/json' }),
            },
            ...(c.raw === undefined ? {} : { payload: c.raw }),
          })
          requests++
          if (res.statusCode >= 500) unexpected.push(`${m} ${target} ${c.raw?.slice(0, 80) ?? ''} → ${res.statusCode} ${res.body.slice(0, 200)}`)
          if (res.statusCode >= 400) {
            const body = res.json() as { error?: { code?: string, message?: string } }
            if (!ERROR_CODES.includes(body.error?.code as never) || typeof body.error?.message !== 'string') unexpected.push(`${m} ${target}: error shape ${res.body.slice(0, 200)}`)
          }
        }
      }
    }
  }
  t.comment(`${requests} requests`)
  t.ok(requests > 500, 'a real number of cases')
  t.same(unexpected, [], 'no 5xx, and every error in the one shape with a known code')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution')
  t.equal((await gw.call('GET', '/v1/me/factors', { token })).body, before.factors, 'the user\'s factors did not move')
  t.equal(await gw.redis.get(`gw:signin:${txn}`), before.flow, 'the open transaction did not move')
  expectError(t, await gw.call('POST', `/v1/signin/${txn}/verify`, { token, body: { method: 'totp', code: '12345' } }), 400, 'BAD_REQUEST')
})
