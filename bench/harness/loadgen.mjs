// The load generator: its own process (forked by load-client.mjs), driving autocannon
// programmatically so every request can carry its own user, transaction and TOTP code. It holds
// the enrolled users between runs (their last used step), and answers one command at a time.
import { randomBytes } from 'node:crypto'
import { bearer, createTally, expectStatus, json, parse, runAutocannon, runPaced, summarize } from './autocannon-run.mjs'
import { factorCommands } from './factor-flows.mjs'
import { createUserPool, currentStep, totp } from './totp.mjs'

const pool = createUserPool()
/** Sign-in transactions started ahead of a verify-only run: { user, step, transactionId }. */
let prepared = []
const runTag = randomBytes(3).toString('hex')
let userSeq = 0

const commands = {
  /** Demo login, POST /v1/me/totp, confirm: `count` new users with the authenticator app. */
  async enroll ({ url, count, connections }) {
    const tally = createTally()
    const before = pool.size
    const r = await runAutocannon({
      // Each connection may stop mid-chain when the total is reached: ask for a few more.
      url, connections, amount: (count + connections) * 3,
      requests: [
        {
          method: 'POST', path: '/v1/demo/login',
          setup: (req, ctx) => {
            ctx.username = `bench.${runTag}.${userSeq++}`
            return { ...req, headers: json, body: JSON.stringify({ username: ctx.username, password: 'demo' }) }
          },
          check: (status, body, ctx) => { if (expectStatus(tally, 'login')(status, body)) ctx.token = parse(body)?.token },
        },
        {
          method: 'POST', path: '/v1/me/totp',
          setup: (req, ctx) => ctx.token === undefined ? null : { ...req, headers: bearer(ctx.token) },
          check: (status, body, ctx) => { if (expectStatus(tally, 'enroll')(status, body)) { const e = parse(body); ctx.secret = e?.secret; ctx.enrollmentId = e?.enrollmentId } },
        },
        {
          method: 'POST', path: '/v1/me/totp/confirm',
          setup: (req, ctx) => {
            if (ctx.secret === undefined) return null
            ctx.step = currentStep()
            return { ...req, headers: { ...json, ...bearer(ctx.token) }, body: JSON.stringify({ enrollmentId: ctx.enrollmentId, code: totp(ctx.secret, ctx.step) }) }
          },
          check: (status, body, ctx) => {
            if (expectStatus(tally, 'confirm')(status, body)) pool.add({ token: ctx.token, secret: ctx.secret, lastStep: ctx.step })
          },
        },
      ],
    })
    return summarize(r, tally, { users: pool.size, added: pool.size - before })
  },

  /** Sign-ins end to end: POST /v1/signin, then POST /v1/signin/{id}/verify with a TOTP code. */
  async signin ({ url, connections, amount, duration, overallRate }) {
    const tally = createTally()
    const exhaustedBefore = pool.exhausted
    const r = await runAutocannon({
      url, connections, amount: amount === undefined ? undefined : amount * 2, duration, overallRate,
      requests: [
        {
          method: 'POST', path: '/v1/signin',
          setup: (req, ctx) => {
            const { user, step } = pool.take()
            ctx.user = user; ctx.step = step
            return { ...req, headers: { ...json, ...bearer(user.token) }, body: '{}' }
          },
          check: (status, body, ctx) => {
            if (!expectStatus(tally, 'start')(status, body)) return
            const res = parse(body)
            if (res?.status !== 'challenge') tally.add(`start:${res?.status}`)
            else ctx.transactionId = res.transactionId
          },
        },
        verifyRequest(tally),
      ],
    })
    return summarize(r, tally, { signins: r.result.requests.total / 2, exhausted: pool.exhausted - exhaustedBefore })
  },

  /** Starts `count` transactions now, for a verify-only run next. */
  async prepare ({ url, connections, count }) {
    const tally = createTally()
    prepared = []
    const r = await runAutocannon({
      url, connections, amount: count,
      requests: [{
        method: 'POST', path: '/v1/signin',
        setup: (req, ctx) => {
          const taken = pool.take()
          ctx.user = taken.user; ctx.step = taken.step
          return { ...req, headers: { ...json, ...bearer(ctx.user.token) }, body: '{}' }
        },
        check: (status, body, ctx) => {
          if (!expectStatus(tally, 'start')(status, body)) return
          const res = parse(body)
          if (res?.status === 'challenge') prepared.push({ user: ctx.user, step: ctx.step, transactionId: res.transactionId })
          else tally.add(`start:${res?.status}`)
        },
      }],
    })
    // pool.take() reserved a step for the verify; the verify takes the code then, not now.
    return summarize(r, tally, { prepared: prepared.length })
  },

  /** Verifies the prepared transactions, one request each: the TOTP verify throughput. */
  async verify ({ url, connections, overallRate }) {
    const tally = createTally()
    let next = 0
    const queue = prepared
    prepared = []
    const verifyOne = verifyRequest(tally)
    const request = {
      ...verifyOne,
      setup: (req, ctx) => {
        // Past the end (autocannon builds a connection's next request ahead): a repeat, refused.
        const item = queue[next++ % queue.length]
        ctx.user = item.user; ctx.step = item.step; ctx.transactionId = item.transactionId
        return verifyOne.setup(req, ctx)
      },
    }
    // A fixed arrival rate is an open loop, evenly paced (runPaced); otherwise a closed loop.
    const r = overallRate === undefined
      ? await runAutocannon({ url, connections, amount: queue.length, requests: [request] })
      : await runPaced({ url, request, count: queue.length, rate: overallRate })
    return summarize(r, tally, { verifies: r.result.requests.total })
  },

  status: async () => ({ users: pool.size, available: pool.available(), prepared: prepared.length, exhausted: pool.exhausted }),

  ...factorCommands,
}

function verifyRequest (tally) {
  return {
    method: 'POST',
    setup: (req, ctx) => {
      if (ctx.transactionId === undefined) return null
      // The step was reserved when the transaction started. A long prepare-then-verify run (two
      // factor-totp replicas on two cores) can send it when that step has passed, and the factor
      // rightly refuses it as clock skew. Then the current step is used instead, when no later
      // step of this user is reserved: still strictly above the user's last one, and now its own.
      const now = currentStep()
      if (ctx.step < now && ctx.user.lastStep === ctx.step) { ctx.step = now; ctx.user.lastStep = now }
      return {
        ...req,
        path: `/v1/signin/${ctx.transactionId}/verify`,
        headers: { ...json, ...bearer(ctx.user.token) },
        body: JSON.stringify({ method: 'totp', code: totp(ctx.user.secret, ctx.step) }),
      }
    },
    check: (status, body) => {
      if (!expectStatus(tally, 'verify')(status, body)) return
      const res = parse(body)
      if (res?.status !== 'verified') tally.add(`verify:${res?.status}:${res?.reason ?? ''}`)
    },
  }
}

process.on('message', async ({ id, cmd, args }) => {
  try {
    process.send({ id, ok: true, value: await commands[cmd](args) })
  } catch (err) {
    process.send({ id, ok: false, error: err.stack ?? String(err) })
  }
})
process.on('disconnect', () => process.exit(0))
