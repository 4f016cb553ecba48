import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose'
import { generateSync } from 'otplib'
import t, { type Test } from 'tap'
import { contextHash } from '../src/context-hash.js'
import { formatPairingUri, parsePairingUri } from '../src/pairing-uri.js'
import { parseOtpauthUri } from '../src/totp.js'
import { run, type CliDeps } from '../src/commands.js'

// The same vectors run in services/factor-push/test/service.test.ts: both sides hash alike.
export const CONTEXT_VECTORS = [
  { input: { challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', createdAt: '2026-03-01T12:00:00.000Z', appName: 'Payroll', ip: '203.0.113.7', userAgent: 'Firefox on Linux', action: 'Pay 1,250 EUR to ACME' }, hash: 'SQnKjn5a8Y5TxX0dxcj6LNl67XPfNQzL96W4gk4GXpo' },
  { input: { challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', createdAt: '2026-03-01T12:00:00.000Z', appName: 'Café Ünïcode' }, hash: 'OHAkKNrRaVnnJkqIceLEzDd1JemhHQqM9vtdf6yumrk' },
]

t.test('context hash vectors', async (t) => {
  for (const v of CONTEXT_VECTORS) t.equal(contextHash(v.input), v.hash)
})

t.test('pairing links', async (t) => {
  const code = 'A'.repeat(22)
  const uri = formatPairingUri({ server: 'https://gw.example.com/base', code, account: 'alice' })
  t.equal(uri, `warden://pair?server=https%3A%2F%2Fgw.example.com%2Fbase&code=${code}&account=alice`)
  t.same(parsePairingUri(uri), { server: 'https://gw.example.com/base', code, account: 'alice' })
  t.same(parsePairingUri(`warden://pair?server=http://127.0.0.1:8080/&code=${code}`), { server: 'http://127.0.0.1:8080', code })
  t.throws(() => parsePairingUri('https://gw.example.com/pair'), /not a pairing link/)
  t.throws(() => parsePairingUri(`warden://pair?server=ftp://x&code=${code}`), /http/)
  t.throws(() => parsePairingUri('warden://pair?server=https://x&code=short'), /code/)
})

t.test('otpauth URIs', async (t) => {
  t.same(parseOtpauthUri('otpauth://totp/Warden:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Warden&algorithm=SHA1&digits=6&period=30'), {
    label: 'Warden:alice@example.com', issuer: 'Warden', secret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', digits: 6, period: 30, algorithm: 'sha1',
  })
  t.throws(() => parseOtpauthUri('otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQ'), /totp/)
  t.throws(() => parseOtpauthUri('otpauth://totp/x?secret=not-base32!'), { message: 'the URI has no valid base32 secret' }, 'never echoes the secret')
  t.throws(() => parseOtpauthUri('otpauth://totp/x?secret=GEZDGNBVGY3TQOJQ&digits=7'), /digits/)
})

interface Answer { challengeId: string, claims: Record<string, unknown> }

/** A stand-in for the gateway's app routes: checks every device JWT like factor-push does. */
async function fakeGateway (t: Test) {
  const devices = new Map<string, JWK>()
  const answers: Answer[] = []
  const seenJti = new Set<string>()
  const challenge = {
    challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', nonce: 'N'.repeat(22), createdAt: '2026-03-01T12:00:00.000Z', expiresAt: '2026-03-01T12:02:00.000Z',
    context: { appName: 'Payroll', ip: '203.0.113.7', userAgent: 'Firefox on Linux', action: 'Pay 1,250 EUR to ACME' },
  }
  let pending = true
  async function verify (req: IncomingMessage, key: JWK | 'embedded'): Promise<Record<string, unknown>> {
    const jwt = (req.headers.authorization ?? '').replace(/^Bearer /, '')
    const jwk = key === 'embedded' ? decodeProtectedHeader(jwt).jwk as JWK : key
    if ('d' in jwk) throw new Error('a private key was sent')
    const { payload, protectedHeader } = await jwtVerify(jwt, await importJWK(jwk, 'ES256'), { algorithms: ['ES256'], typ: 'warden-push+jwt', currentDate: new Date('2026-03-01T12:00:30.000Z') })
    if (typeof payload.jti !== 'string' || seenJti.has(payload.jti)) throw new Error('jti reused')
    seenJti.add(payload.jti)
    t.equal(protectedHeader.alg, 'ES256')
    return payload as Record<string, unknown>
  }
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const send = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)) }
    try {
      if (req.method === 'POST' && req.url === '/v1/push/devices') {
        const claims = await verify(req, 'embedded')
        if (claims.req !== 'pair' || claims.pairingCode !== 'C'.repeat(22)) return send(404, { error: { code: 'NOT_FOUND', message: 'unknown or already used pairing code' } })
        const deviceId = `dev_${'D'.repeat(21)}${devices.size}`
        devices.set(deviceId, decodeProtectedHeader((req.headers.authorization ?? '').slice(7)).jwk as JWK)
        return send(200, { deviceId })
      }
      const list = /^\/v1\/push\/devices\/([^/]+)\/challenges$/.exec(req.url ?? '')
      if (req.method === 'GET' && list !== null) {
        const key = devices.get(decodeURIComponent(list[1] ?? ''))
        if (key === undefined) return send(401, { error: { code: 'UNAUTHENTICATED', message: 'unknown device' } })
        const claims = await verify(req, key)
        t.match(claims, { req: 'challenges', sub: list[1] })
        return send(200, { challenges: pending ? [challenge] : [] })
      }
      const ans = /^\/v1\/push\/challenges\/([^/]+)\/answer$/.exec(req.url ?? '')
      if (req.method === 'POST' && ans !== null) {
        const sub = (JSON.parse(Buffer.from((req.headers.authorization ?? '').split('.')[1] ?? '', 'base64url').toString()) as { sub: string }).sub
        const claims = await verify(req, devices.get(sub) as JWK)
        answers.push({ challengeId: ans[1] ?? '', claims })
        if (claims.contextHash !== contextHash({ challengeId: challenge.challengeId, createdAt: challenge.createdAt, ...challenge.context })) return send(200, { result: 'rejected', reason: 'context_mismatch' })
        if (claims.decision === 'approve' && claims.number !== 42) { pending = false; return send(200, { result: 'rejected', reason: 'wrong_number', attemptsLeft: 9 }) }
        pending = false
        return send(200, { result: claims.decision === 'approve' ? 'approved' : 'denied' })
      }
      send(404, { error: { code: 'NOT_FOUND', message: 'no route' } })
    } catch (err) {
      send(401, { error: { code: 'UNAUTHENTICATED', message: (err as Error).message } })
    }
  }
  const server = createServer((req, res) => { void handle(req, res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => { resolve() })))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, answers, devices, reset: () => { pending = true } }
}

function cli (home: string) {
  const out: string[] = []
  const err: string[] = []
  const deps: CliDeps = {
    env: { WARDEN_AUTHENTICATOR_HOME: home },
    now: () => new Date('2026-03-01T12:00:30.000Z'),
    fetch: async (url, init) => fetch(url, init),
    out: (l) => { out.push(l) },
    err: (l) => { err.push(l) },
    hostname: 'testhost',
  }
  return {
    out, err,
    run: async (...argv: string[]) => { out.length = 0; err.length = 0; return run(argv, deps) },
    json: () => JSON.parse(out.join('\n')) as Record<string, unknown>,
  }
}

t.test('the CLI against a gateway', async (t) => {
  const gw = await fakeGateway(t)
  const home = mkdtempSync(join(tmpdir(), 'warden-authenticator-'))
  t.teardown(() => { rmSync(home, { recursive: true, force: true }) })
  const c = cli(home)
  const uri = formatPairingUri({ server: gw.url, code: 'C'.repeat(22), account: 'alice' })

  t.equal(await c.run('pair', uri, '--json'), 0, c.err.join('\n'))
  const paired = c.json()
  t.match(paired, { deviceId: /^dev_/, server: gw.url, name: 'warden-authenticator on testhost' })
  const state = readFileSync(join(home, 'state.json'), 'utf8')
  t.equal(statSync(join(home, 'state.json')).mode & 0o777, 0o600, 'the key file is private')
  t.match(JSON.parse(state), { devices: [{ deviceId: paired.deviceId, privateJwk: { kty: 'EC', crv: 'P-256', d: /./ } }] })
  t.notOk('d' in (gw.devices.get(paired.deviceId as string) ?? {}), 'only the public key left the machine')

  t.equal(await c.run('pair', formatPairingUri({ server: gw.url, code: 'X'.repeat(22) })), 1)
  t.match(c.err.join('\n'), /pair: unknown or already used pairing code/)

  t.equal(await c.run('devices', '--json'), 0)
  t.match(c.json(), { devices: [{ deviceId: paired.deviceId, account: 'alice' }] })
  t.notOk(c.out.join('').includes('"d"'), 'devices never prints the private key')

  t.equal(await c.run('pending'), 0)
  t.match(c.out.join('\n'), /pch_A+ {2}\(confirm an action; expires in 90 s\)\n {2}application: Payroll\n {2}time: {8}2026-03-01 12:00:00 UTC\n {2}IP address: {2}203\.0\.113\.7\n {2}browser: {5}Firefox on Linux\n {2}action: {6}Pay 1,250 EUR to ACME/)
  t.equal(await c.run('pending', '--json'), 0)
  t.match(c.json(), { challenges: [{ challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', deviceId: paired.deviceId, context: { appName: 'Payroll' } }] })

  t.equal(await c.run('approve', 'pch_AAAAAAAAAAAAAAAAAAAAAA'), 2, '--number is required')
  t.equal(await c.run('approve', 'pch_AAAAAAAAAAAAAAAAAAAAAA', '--number', '7'), 2, 'two digits')
  t.equal(await c.run('approve', 'pch_AAAAAAAAAAAAAAAAAAAAAA', '--number', '41', '--json'), 1)
  t.same(c.json(), { result: 'rejected', reason: 'wrong_number', attemptsLeft: 9 })
  gw.reset()
  t.equal(await c.run('approve', 'pch_AAAAAAAAAAAAAAAAAAAAAA', '--number', '42'), 0, c.err.join('\n'))
  t.match(c.out.at(-1), 'Approved.')
  t.match(gw.answers.at(-1)?.claims, {
    req: 'answer', sub: paired.deviceId, challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', nonce: 'N'.repeat(22), decision: 'approve', number: 42,
    contextHash: CONTEXT_VECTORS[0]?.hash,
  })
  t.equal(await c.run('approve', 'pch_AAAAAAAAAAAAAAAAAAAAAA', '--number', '42', '--json'), 1, 'no longer pending')
  t.match(c.json(), { error: { code: 'NOT_FOUND' } })

  gw.reset()
  t.equal(await c.run('deny', 'pch_AAAAAAAAAAAAAAAAAAAAAA', '--not-me', '--json'), 0)
  t.same(c.json(), { result: 'denied' })
  t.match(gw.answers.at(-1)?.claims, { decision: 'deny', notMe: true })
  t.notOk('number' in (gw.answers.at(-1)?.claims ?? {}), 'a denial carries no number')
})

t.test('TOTP accounts and codes', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'warden-authenticator-'))
  t.teardown(() => { rmSync(home, { recursive: true, force: true }) })
  const c = cli(home)
  t.equal(await c.run('code'), 1, 'none yet')
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'
  t.equal(await c.run('add-totp', `otpauth://totp/Warden:bob?secret=${secret}&issuer=Warden`, '--json'), 0)
  t.same(c.json(), { account: 'Warden:bob', issuer: 'Warden' })
  t.notOk(c.out.join('').includes(secret), 'the secret is not echoed')
  t.equal(await c.run('code', 'bob', '--json'), 0)
  const expected = generateSync({ secret, epoch: Date.parse('2026-03-01T12:00:30.000Z') / 1000, digits: 6 })
  t.same(c.json(), { codes: [{ account: 'Warden:bob', code: expected, validForSec: 30 }] })
  t.equal(await c.run('code'), 0)
  t.equal(c.out[0], `${expected}  Warden:bob  (30 s left)`)
  t.equal(await c.run('add-totp', 'otpauth://totp/x?secret=%21%21'), 1)
})

t.test('usage', async (t) => {
  const c = cli(mkdtempSync(join(tmpdir(), 'warden-authenticator-')))
  t.equal(await c.run(), 2)
  t.match(c.out.join('\n'), /Usage: warden-authenticator/)
  t.equal(await c.run('--help'), 0)
  t.equal(await c.run('fly'), 2)
  t.equal(await c.run('pending', '--bogus'), 2)
  t.equal(await c.run('pending', '--json'), 1)
  t.match(c.json(), { error: { code: 'NOT_PAIRED' } })
})
