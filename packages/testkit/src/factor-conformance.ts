import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { eventually, startInfra, uniqueUserId, type Infra } from './index.js'

// The suite speaks to the service under test the way any client in any language would: raw
// requests over NATS, checked against the contract's own validators. It takes them (and the
// connection) from the caller, so testkit depends on no workspace package: contracts,
// service-kit and store use testkit in their own tests.

/**
 * The scatter describe every factor service answers (`describeFactors` of @warden/contracts; the
 * suite depends on no workspace package, hence the literal).
 */
const SCATTER_DESCRIBE_SUBJECT = 'warden.factors.v1.describe'

/** A contract endpoint as the suite needs it (an `Endpoint` of @warden/contracts fits). */
export interface ContractEndpoint {
  readonly name: string
  readonly subject: string
  readonly errors: readonly string[]
  readonly isRequest: (value: unknown) => boolean
  readonly isResponse: (value: unknown) => boolean
}

/** A contract event as the suite needs it (`userReset` of @warden/contracts fits). */
export interface ContractEvent {
  readonly subject: string
  readonly isPayload: (value: unknown) => boolean
}

export interface BusMessage {
  readonly headers?: { get: (key: string) => string } | undefined
  string: () => string
}

/** The one call the suite makes on the bus (a NatsConnection fits). */
export interface Bus {
  request: (subject: string, payload: string, opts: { timeout: number }) => Promise<BusMessage>
}

/** The running service, and what the suite may ask of it. */
export interface FactorUnderTest {
  /** A connection to the NATS server the service listens on. */
  readonly bus: Bus
  readonly opsPort: number
  readonly stop: () => Promise<void>
  /** A request valid by contract for `userId`, for every endpoint (by name). */
  readonly requests: Readonly<Record<string, (userId: string) => unknown>>
  /** Gives `userId` something enrolled, so describe shows it. Leave out while nobody can enroll. */
  readonly enroll?: (userId: string) => Promise<void>
  /** The sign-in verification of an enrolled user. */
  readonly verify?: {
    /** The endpoint's name, e.g. `verify`. */
    readonly endpoint: string
    /** A fresh request carrying `idempotencyKey` that is verified (`valid`) or rejected (`invalid`). */
    readonly request: (userId: string, answer: 'valid' | 'invalid', idempotencyKey: string) => unknown
  }
  /** Drives an enrolled user's factor into its lock, as failed attempts would. */
  readonly lock?: (userId: string) => Promise<void>
}

export interface FactorConformanceOptions {
  /** The factor name, as `describe` answers it (`totp`). */
  readonly factor: string
  /** The NATS micro service name (`factor-totp`). */
  readonly service: string
  /** Every contract endpoint of the factor. */
  readonly endpoints: readonly ContractEndpoint[]
  readonly userReset: ContractEvent
  /** Starts the service against `infra` (and connects `bus`); the suite stops it. */
  readonly start: (infra: Infra) => Promise<FactorUnderTest>
}

type Answer =
  | { ok: true, body: unknown }
  | { ok: false, code: string, status: string, body: unknown }

const TIMEOUT_MS = 3_000
const STREAM = 'WARDEN_EVENTS'

function parse (text: string): unknown {
  try { return JSON.parse(text) } catch { return text }
}

const newKey = (): string => `conformance-${randomBytes(12).toString('hex')}`

/**
 * The behaviour every factor service must have, over real NATS and Redis: it serves exactly its
 * contract, describes users with and without something enrolled, answers NOT_ENROLLED and
 * BAD_REQUEST where the contract says, replays a verify by its idempotency key, deletes a user's
 * data on `user.reset` (consumed durably), and answers a lock with FACTOR_LOCKED and a retry
 * time. The parts a factor cannot do yet (no enroll, no verify) are left out, saying so.
 */
export async function runFactorConformance (t: Test, opts: FactorConformanceOptions): Promise<void> {
  // Torn down in one place, the service first, so nothing talks to servers already gone.
  const cleanups: Array<() => unknown> = []
  t.teardown(async () => { for (const fn of cleanups.reverse()) await fn() })
  const infra = await startInfra({ teardown: (fn) => { cleanups.push(fn) } })
  const sut = await opts.start(infra)
  cleanups.push(() => sut.stop())

  const endpoint = (name: string): ContractEndpoint => {
    const e = opts.endpoints.find((x) => x.name === name)
    if (e === undefined) throw new Error(`${opts.factor} has no ${name} endpoint in its contract`)
    return e
  }
  const describe = endpoint('describe')

  async function send (subject: string, payload: string): Promise<Answer> {
    const m = await sut.bus.request(subject, payload, { timeout: TIMEOUT_MS })
    const body = parse(m.string())
    const code = m.headers?.get('Nats-Service-Error') ?? ''
    return code === '' ? { ok: true, body } : { ok: false, code, status: m.headers?.get('Nats-Service-Error-Code') ?? '', body }
  }
  const call = async (e: ContractEndpoint, body: unknown): Promise<Answer> => send(e.subject, JSON.stringify(body))
  const describeUser = async (userId: string): Promise<Record<string, unknown>> => {
    const a = await call(describe, { userId })
    if (!a.ok) throw new Error(`describe answered ${a.code}`)
    return a.body as Record<string, unknown>
  }
  const enroll = sut.enroll
  const sample = (e: ContractEndpoint, userId: string): unknown => {
    const make = sut.requests[e.name]
    if (make === undefined) throw new Error(`no sample request for ${e.subject}: add one to the conformance test`)
    return make(userId)
  }

  await t.test('serves exactly its contract endpoints as a NATS micro service, in one queue group, and the scatter describe in its own', async (t) => {
    const info = parse((await sut.bus.request(`$SRV.INFO.${opts.service}`, '', { timeout: TIMEOUT_MS })).string()) as { name?: string, endpoints?: Array<{ name: string, subject: string, queue_group?: string }> }
    t.equal(info.name, opts.service)
    const own = (info.endpoints ?? []).filter((e) => e.subject !== SCATTER_DESCRIBE_SUBJECT)
    const scatter = (info.endpoints ?? []).filter((e) => e.subject === SCATTER_DESCRIBE_SUBJECT)
    t.same(own.map((e) => e.subject).sort(), opts.endpoints.map((e) => e.subject).sort())
    t.ok(own.every((e) => e.queue_group === 'q'), 'replicas share the load')
    t.same(scatter.map((e) => e.queue_group), [opts.service], 'the scatter describe: once, in a queue group of this service (one replica answers; every service does)')
  })

  await t.test('the ops port answers /healthz and /readyz', async (t) => {
    t.equal((await fetch(`http://127.0.0.1:${sut.opsPort}/healthz`)).status, 200)
    const ready = await fetch(`http://127.0.0.1:${sut.opsPort}/readyz`)
    t.equal(ready.status, 200)
    t.match(await ready.json(), { status: 'ready' })
  })

  await t.test('every endpoint has a sample request, valid by its contract', async (t) => {
    for (const e of opts.endpoints) {
      t.ok(sut.requests[e.name] !== undefined && e.isRequest(sample(e, uniqueUserId())), e.subject)
    }
  })

  await t.test('describe: a user with nothing enrolled', async (t) => {
    const body = await describeUser(uniqueUserId())
    t.same(body, { factor: opts.factor, enrolled: false, items: [] })
  })

  await t.test('the scatter describe answers as describe does; a malformed one is BAD_REQUEST', async (t) => {
    const userId = uniqueUserId()
    if (enroll !== undefined) await enroll(userId)
    const scattered = await send(SCATTER_DESCRIBE_SUBJECT, JSON.stringify({ userId }))
    t.same(scattered, { ok: true, body: await describeUser(userId) })
    t.match(await send(SCATTER_DESCRIBE_SUBJECT, 'not json'), { ok: false, code: 'BAD_REQUEST', status: '400' })
    t.match(await send(SCATTER_DESCRIBE_SUBJECT, JSON.stringify({ userId: 7 })), { ok: false, code: 'BAD_REQUEST' })
  })

  if (enroll === undefined) {
    t.comment(`${opts.factor} cannot enroll anybody yet: describe with something enrolled, replays, reset of data and locks are left out`)
  } else {
    await t.test('describe: a user with something enrolled', async (t) => {
      const userId = uniqueUserId()
      await enroll(userId)
      const body = await describeUser(userId)
      t.ok(describe.isResponse(body), 'matches the contract')
      t.match(body, { factor: opts.factor, enrolled: true })
      t.notOk('lockedUntil' in body, 'not locked')
    })
  }

  await t.test('NOT_ENROLLED from every verb whose contract names it, for a user with nothing enrolled', async (t) => {
    const verbs = opts.endpoints.filter((e) => e.errors.includes('NOT_ENROLLED'))
    t.ok(verbs.length > 0, 'the factor has verbs that need an enrollment')
    for (const e of verbs) {
      const a = await call(e, sample(e, uniqueUserId()))
      t.match(a, { ok: false, code: 'NOT_ENROLLED', status: '404', body: { code: 'NOT_ENROLLED' } }, e.subject)
    }
  })

  await t.test('BAD_REQUEST from every verb for malformed requests, changing nothing', async (t) => {
    const userId = uniqueUserId()
    if (enroll !== undefined) await enroll(userId)
    const before = await describeUser(userId)
    for (const e of opts.endpoints) {
      const good = sample(e, userId) as Record<string, unknown>
      const malformed: Array<[string, string]> = [
        ['an empty body', ''],
        ['not JSON', '{"userId":'],
        ['null', 'null'],
        ['an array', JSON.stringify([good])],
        ['an empty object', '{}'],
        ['an extra property', JSON.stringify({ ...good, unexpected: true })],
        ['a number as userId', JSON.stringify({ ...good, userId: 42 })],
        ['an empty userId', JSON.stringify({ ...good, userId: '' })],
      ]
      for (const [what, payload] of malformed) {
        t.match(await send(e.subject, payload), { ok: false, code: 'BAD_REQUEST', status: '400', body: { code: 'BAD_REQUEST' } }, `${e.name}: ${what}`)
      }
    }
    t.same(await describeUser(userId), before, 'the user is described as before')
  })

  const verify = sut.verify
  if (enroll !== undefined && verify !== undefined) {
    const verifyEndpoint = endpoint(verify.endpoint)
    await t.test('a verify replayed with its idempotency key gets the same answer, counted once', async (t) => {
      const userId = uniqueUserId()
      await enroll(userId)
      const valid = await verify.request(userId, 'valid', newKey())
      const first = await call(verifyEndpoint, valid)
      t.match(first, { ok: true, body: { result: 'verified' } })
      t.same(await call(verifyEndpoint, valid), first, 'the retry of a success is answered from the record')

      const wrong = await verify.request(userId, 'invalid', newKey())
      const rejected = await call(verifyEndpoint, wrong)
      t.match(rejected, { ok: true, body: { result: 'rejected' } })
      t.same(await call(verifyEndpoint, wrong), rejected, 'the retry of a failure is answered from the record')
      const left = (rejected.ok ? rejected.body as { attemptsLeft?: number } : {}).attemptsLeft
      if (left === undefined) {
        t.comment('the rejection does not say how many attempts are left: the count is not checked')
      } else {
        const next = await call(verifyEndpoint, await verify.request(userId, 'invalid', newKey()))
        t.match(next, { ok: true, body: { result: 'rejected', attemptsLeft: left - 1 } }, 'the retried failure was counted once')
      }
    })
  }

  await t.test('user.reset is consumed durably and deletes only that user\'s data', async (t) => {
    const userId = uniqueUserId()
    const other = uniqueUserId()
    if (enroll !== undefined) { await enroll(userId); await enroll(other) }
    const event = { eventId: `evt_${randomBytes(16).toString('base64url')}`, occurredAt: new Date().toISOString(), userId, reason: 'admin' }
    t.ok(opts.userReset.isPayload(event), 'the event matches its contract')
    // A request on a stream subject is a JetStream publish: the answer is its acknowledgement.
    const ack = parse((await sut.bus.request(opts.userReset.subject, JSON.stringify(event), { timeout: TIMEOUT_MS })).string()) as { seq?: number }
    t.type(ack.seq, 'number', 'stored in the events stream')
    const durable = `${opts.service}-user-reset`
    await eventually(async () => {
      const info = parse((await sut.bus.request(`$JS.API.CONSUMER.INFO.${STREAM}.${durable}`, '', { timeout: TIMEOUT_MS })).string()) as { ack_floor?: { stream_seq?: number } }
      return (info.ack_floor?.stream_seq ?? 0) >= (ack.seq ?? Infinity)
    }, { what: `${durable} acknowledging the event` })
    if (enroll !== undefined) {
      t.same(await describeUser(userId), { factor: opts.factor, enrolled: false, items: [] }, 'the user has nothing left')
      t.match(await describeUser(other), { enrolled: true }, 'other users keep theirs')
    }
  })

  const lock = sut.lock
  if (enroll !== undefined && verify !== undefined && lock !== undefined) {
    await t.test('a locked factor answers FACTOR_LOCKED with a retry time, even to a valid answer', async (t) => {
      const userId = uniqueUserId()
      await enroll(userId)
      await lock(userId)
      const a = await call(endpoint(verify.endpoint), await verify.request(userId, 'valid', newKey()))
      t.match(a, { ok: false, code: 'FACTOR_LOCKED', status: '429', body: { code: 'FACTOR_LOCKED' } })
      const retryAfterSec = (a.ok ? {} : a.body as { retryAfterSec?: number }).retryAfterSec
      t.ok(retryAfterSec !== undefined && retryAfterSec > 0, `a retry time (${String(retryAfterSec)} s)`)
      t.match(await describeUser(userId), { enrolled: true, lockedUntil: /^\d{4}-\d\d-\d\dT/ }, 'describe shows the lock')
    })
  } else {
    t.comment(`${opts.factor} has no lock to drive yet: the FACTOR_LOCKED answer is left out`)
  }
}
