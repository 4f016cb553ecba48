import t from 'tap'
import { randomBytes } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import { startInfra, startServiceProcess } from '../src/index.js'

// The deployable shape: every service starts as its own process and registers with NATS micro,
// so `$SRV.PING` lists all six (the gateway too: it serves HTTP, and `jwks` on the bus).
t.test('$SRV.PING lists all six services, each started as a process', async (t) => {
  const infra = await startInfra(t)
  const env = {
    NATS_URL: infra.nats.url,
    REDIS_URL: infra.redis.url,
    SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    PRIMARY_JWT_HS256_SECRET: randomBytes(32).toString('base64url'),
    HOST: '127.0.0.1',
    // factor-sms: the HMAC key and provider credentials (no SMS is sent here).
    SMS_HMAC_KEY: randomBytes(32).toString('base64'),
    VONAGE_API_KEY: 'unused',
    VONAGE_API_SECRET: 'unused',
  }
  const names = ['auth-gateway', 'factor-totp', 'factor-push', 'factor-sms', 'factor-webauthn', 'recovery']
  const running = await Promise.all(names.map((n) => startServiceProcess(t, n, env)))
  const nc = await connect({ servers: infra.nats.url })
  t.teardown(() => nc.close())
  const seen = new Set<string>()
  const inbox = `_INBOX.ping.${randomBytes(4).toString('hex')}`
  const replies = nc.subscribe(inbox)
  nc.publish('$SRV.PING', '', { reply: inbox })
  const deadline = setTimeout(() => { replies.unsubscribe() }, 1_500)
  for await (const m of replies) {
    seen.add(m.json<{ name: string }>().name)
    if (seen.size === names.length) break
  }
  clearTimeout(deadline)
  t.same([...seen].sort(), [...names].sort())
  for (const s of running) {
    const health = await fetch(`http://127.0.0.1:${s.opsPort}/healthz`)
    t.equal(health.status, 200, `${s.name} /healthz`)
    t.match(await (await fetch(`http://127.0.0.1:${s.opsPort}/metrics`)).text(), /warden_uptime_seconds/)
  }
  // The gateway's bus verb gives the same keys as its HTTP JWKS; a malformed request is BAD_REQUEST.
  const gateway = running[0]
  const httpJwks = await (await fetch(`http://127.0.0.1:${gateway?.opsPort ?? 0}/.well-known/jwks.json`)).json()
  const busJwks = (await nc.request('warden.gateway.v1.jwks', '{}', { timeout: 2_000 })).json()
  t.same(busJwks, httpJwks, 'warden.gateway.v1.jwks answers the JWKS')
  const refused = await nc.request('warden.gateway.v1.jwks', '{"userId":"x"}', { timeout: 2_000 })
  t.equal(refused.headers?.get('Nats-Service-Error-Code'), '400')
  t.match(refused.json(), { code: 'BAD_REQUEST' })
  await running[1]?.stop()
  t.match(running[1]?.output() ?? '', /"msg":"stopped"/, 'SIGTERM shuts down gracefully')
})
