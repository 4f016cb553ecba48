import { connect } from '@nats-io/transport-node'
import { acknowledgeRecoveryCode, BusError, describeFactors, describeRecovery, describeSms, issueRecoveryCode, issueSupportCode, userReset, verifyRecovery } from '@warden/contracts'
import { request, scatter } from '@warden/contracts/nats'
import { captureLog, eventually, manualClock, startInfra, uniqueUserId } from '@warden/testkit'
import { Redis } from 'ioredis'
import t from 'tap'
import { Type } from 'typebox'
import {
  attemptLimitsFrom, AttemptLimitsConfig, contractEndpoints, createEventPublisher, FactorServiceConfig, handle, loadConfig, runFactorService,
  type FactorServiceSpec,
} from '../src/index.js'

const FLOW = 'txn_' + 'F'.repeat(43)
const KitConfig = Type.Object({ ...FactorServiceConfig, ...AttemptLimitsConfig('KIT') })

t.test('runFactorService, against real NATS and Redis', async (t) => {
  const cleanups: Array<() => unknown> = []
  t.teardown(async () => { for (const fn of cleanups.reverse()) await fn() })
  const infra = await startInfra({ teardown: (fn) => { cleanups.push(fn) } })
  const config = loadConfig(KitConfig, { NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  const nc = await connect({ servers: infra.nats.url })
  const redis = new Redis(infra.redis.url)
  cleanups.push(() => nc.close(), () => redis.quit())
  /** The Redis connections a service named `name` holds open (connectRedis names them). */
  const redisClientsOf = async (name: string): Promise<number> => String(await redis.client('LIST')).split('\n').filter((l) => l.includes(` name=${name} `)).length

  await t.test('a build that does not serve exactly its contract is refused at start, and what was opened is closed', async (t) => {
    const partial: FactorServiceSpec<typeof KitConfig> = {
      factor: 'sms',
      description: 'serves only describe',
      configSchema: KitConfig,
      build: () => ({ endpoints: [handle(describeSms, async () => ({ factor: 'sms' as const, enrolled: false, items: [] }))], reset: async () => {} }),
    }
    await t.rejects(runFactorService(partial, config), /factor-sms must serve each endpoint of its contract once: missing \[warden\.sms\.v1\.challenge, warden\.sms\.v1\.verify[,\]]/)
    t.equal(await redisClientsOf('factor-sms'), 0, 'its Redis connection is closed')
    await t.rejects(request(nc, describeSms, { userId: uniqueUserId() }, { timeoutMs: 500 }), { code: 'UNAVAILABLE' }, 'nothing answers for it')
  })

  await t.test('STORE=mongodb without MONGODB_URI is a configuration error, before anything connects', async (t) => {
    const spec: FactorServiceSpec<typeof KitConfig> = { factor: 'sms', description: 'x', configSchema: KitConfig, build: () => { throw new Error('never built') } }
    await t.rejects(runFactorService(spec, { ...config, STORE: 'mongodb' }), /MONGODB_URI: required with STORE=mongodb/)
    t.equal(await redisClientsOf('factor-sms'), 0)
  })

  await t.test('a factor built on the context: its store, a gate from its config, outcomes counted, user.reset, an ordered stop', async (t) => {
    const clock = manualClock()
    const log = captureLog()
    const resets: string[] = []
    const spec: FactorServiceSpec<typeof KitConfig> = {
      factor: 'recovery',
      description: 'a test factor on the skeleton',
      configSchema: KitConfig,
      async build (ctx) {
        t.equal(ctx.name, 'recovery')
        t.equal(ctx.clock, clock, 'the clock override reaches the build')
        const codes = await ctx.stores.open<{ at: string }>('kit_factor_test')
        const gate = ctx.attemptGate({ counter: 'kit-test', limits: attemptLimitsFrom(ctx.config, 'KIT'), announceLocks: true })
        return {
          endpoints: [
            handle(describeRecovery, async ({ userId }) => {
              const code = await codes.get([userId])
              return { factor: 'recovery' as const, enrolled: code !== undefined, items: [] }
            }),
            handle(verifyRecovery, async ({ userId }) => {
              await gate.admit(userId)
              const { attemptsLeft } = await gate.fail(userId)
              // contracts types this reason `never` (VerifyRejected loses its literals); the schema checks it.
              return { result: 'rejected' as const, reason: 'invalid_code' as never, attemptsLeft }
            }),
            // The rest of the contract is served (the kit insists); this test does not use it.
            ...[issueRecoveryCode, acknowledgeRecoveryCode, issueSupportCode].map((e) => handle(e, async () => { throw new BusError('NOT_ENROLLED') })),
          ],
          reset: async (userId) => { resets.push(userId); await codes.delete([userId]) },
        }
      },
    }
    const running = await runFactorService(spec, config, { clock, logDestination: log.stream })
    const userId = uniqueUserId()
    t.same(await request(nc, describeRecovery, { userId }), { factor: 'recovery', enrolled: false, items: [] })
    const verify = { userId, flowId: FLOW, code: 'ABCD-EFGH-2345-67AB', mode: 'temporary' } as const
    t.same(await request(nc, verifyRecovery, verify), { result: 'rejected', reason: 'invalid_code', attemptsLeft: 9 })
    t.equal(await redis.exists(`kit-test:attempts:{${userId}}`), 1, 'the gate counts in Redis under its counter name')
    await request(nc, verifyRecovery, { ...verify, userId: 'has space' } as typeof verify).catch(() => undefined)

    const metrics = await (await fetch(`http://127.0.0.1:${running.opsPort}/metrics`)).text()
    t.match(metrics, 'warden_bus_requests_total{service="recovery",endpoint="describe",outcome="ok"} 1')
    t.match(metrics, 'warden_bus_requests_total{service="recovery",endpoint="verify",outcome="ok",result="invalid_code"} 1')
    t.same(await (await fetch(`http://127.0.0.1:${running.opsPort}/readyz`)).json(), { status: 'ready', checks: { nats: 'ok', redis: 'ok' } })

    await createEventPublisher(nc, clock).publish(userReset, { userId, reason: 'admin' })
    await eventually(() => resets.includes(userId), { what: 'reset() called for the user' })

    t.equal(await redisClientsOf('recovery'), 1)
    const first = running.stop()
    t.equal(running.stop(), first, 'stop() is idempotent')
    await first
    t.equal(await redisClientsOf('recovery'), 0, 'Redis is closed')
    await t.rejects(fetch(`http://127.0.0.1:${running.opsPort}/healthz`), 'the ops port is closed')
    await t.rejects(request(nc, describeRecovery, { userId }, { timeoutMs: 500 }), { code: 'UNAVAILABLE' }, 'the endpoints are gone')
    t.match(log.text(), /"msg":"recovery ready"/)
    t.notMatch(log.text(), /"level":50/, 'no error was logged: the refused request is info')
  })

  await t.test('the scatter describe: answered by each factor service\'s own describe, by one replica of each', async (t) => {
    const answered: string[] = []
    const replica = (factor: 'recovery' | 'sms', replica: string): FactorServiceSpec<typeof KitConfig> => ({
      factor,
      description: 'a replica',
      configSchema: KitConfig,
      build: () => ({
        endpoints: contractEndpoints(factor).map((e) => e.name === 'describe'
          ? handle(e as typeof describeRecovery, async () => { answered.push(`${factor}-${replica}`); return { factor, enrolled: false, items: [] } })
          : handle(e, async () => { throw new BusError('NOT_ENROLLED') })),
        reset: async () => {},
      }),
    })
    const running = [
      await runFactorService(replica('recovery', 'a'), config, { logDestination: captureLog().stream }),
      await runFactorService(replica('recovery', 'b'), config, { logDestination: captureLog().stream }),
      await runFactorService(replica('sms', 'a'), config, { logDestination: captureLog().stream }),
    ]
    t.teardown(async () => { for (const r of running) await r.stop() })

    for (let i = 0; i < 6; i++) {
      // More expected than can come: waits for the deadline, so a second answer would be heard.
      const replies = await scatter(nc, describeFactors, { userId: uniqueUserId() }, { expected: 3, timeoutMs: 300 })
      t.same(replies.map((r) => r.factor).sort(), ['recovery', 'sms'], `one answer per service, whatever its replicas (round ${i})`)
    }
    t.equal(answered.filter((a) => a.startsWith('recovery-')).length, 6, 'each scatter reached one recovery replica')
    t.equal(answered.filter((a) => a === 'sms-a').length, 6, 'and sms: its queue group is its own, not shared with recovery')

    const refused = await nc.request(describeFactors.subject, 'not json', { timeout: 2_000 })
    t.match(refused.json(), { code: 'BAD_REQUEST' }, 'a malformed request is refused, not a crash')
    t.equal(answered.length, 12, 'the malformed request reached no handler')
    const metrics = (await Promise.all(running.map(async (r) => (await fetch(`http://127.0.0.1:${r.opsPort}/metrics`)).text()))).join('\n')
    t.match(metrics, /endpoint="factors-describe",outcome="ok"/, 'counted under its own endpoint name')
    t.match(metrics, /endpoint="factors-describe",outcome="BAD_REQUEST"/)
    t.same(await request(nc, describeRecovery, { userId: uniqueUserId() }).then((r) => r.factor), 'recovery', 'the per-factor subject is still served')
  })
})
