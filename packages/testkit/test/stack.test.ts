import t from 'tap'
import { randomBytes } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import { startInfra, startServiceProcess } from '../src/index.js'

// The deployable shape: every factor service starts as its own process and registers with NATS
// micro, so `$SRV.PING` lists it. (The gateway is an HTTP service, not a micro service.)
t.test('$SRV.PING lists every factor service, each started as a process', async (t) => {
  const infra = await startInfra(t)
  const env = { NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}` }
  const names = ['factor-totp', 'factor-push', 'factor-sms', 'factor-webauthn', 'recovery']
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
  await running[1]?.stop()
  t.match(running[1]?.output() ?? '', /"msg":"stopped"/, 'SIGTERM shuts down gracefully')
})
