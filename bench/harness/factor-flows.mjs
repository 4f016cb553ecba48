// Every factor's own sign-in path, driven from the load generator process (loadgen.mjs).
// Users are enrolled through the REST API as a person would do it (not timed). A sign-in is then
// measured step by step: each step is its own closed-loop autocannon run over a batch of
// transactions prepared by the step before, so every step has its own throughput and latency.
// What a device or a browser computes between two steps (ES256 device JWTs, WebAuthn assertions)
// is done between the runs, untimed: it is the client's work, not the system's.
// The fake Vonage runs in this process too, so a code is known here the moment factor-sms sends it.
import { randomBytes, randomInt } from 'node:crypto'
import { Agent, request as httpRequest } from 'node:http'
import { bearer, createTally, json, parse, runAutocannon, summarize } from './autocannon-run.mjs'
import { importDist } from './paths.mjs'

const { startFakeVonage, createSoftAuthenticator } = await importDist('packages/testkit/dist/index.js')
// The authenticator app's own device-key code (the CLI's library), by path: bench/ is no package.
const { newDeviceKey, signDeviceJwt } = await importDist('packages/authenticator/dist/device-key.js')
const { contextHash } = await importDist('packages/authenticator/dist/index.js')

export const FACTORS = ['push', 'sms', 'webauthn']

const runTag = randomBytes(3).toString('hex')
let userSeq = 0
/** Norwegian mobile numbers +479xxxxxxx, consecutive from a random start: unique within a run. */
const phoneBase = randomInt(0, 5_000_000)
let phoneSeq = 0
const users = { push: [], sms: [], webauthn: [] }
/** Round-robin position per factor: a batch takes each user at most once. */
const cursors = { push: 0, sms: 0, webauthn: 0 }
/** The newest code the fake Vonage received per number (digits, as Vonage gets them). */
const smsCodes = new Map()
let vonage

function pick (factor, count) {
  const list = users[factor]
  if (list.length === 0) throw new Error(`no ${factor} users enrolled`)
  const out = []
  for (let i = 0; i < count; i++) {
    out.push(list[cursors[factor]])
    cursors[factor] = (cursors[factor] + 1) % list.length
  }
  return out
}

/**
 * One untimed REST call (enrollment): status and parsed body. node:http, not fetch: in this
 * process, after autocannon's runs, fetch's requests were seen to hang unanswered.
 */
function call (url, method, path, { token, body, headers = {} } = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = httpRequest(url + path, {
      method,
      agent: keepAlive,
      // A request the stack never answers is an error to count and retry, not a hung benchmark.
      timeout: 30_000,
      headers: { ...(payload === undefined ? { 'content-length': 0 } : { ...json, 'content-length': Buffer.byteLength(payload) }), ...(token === undefined ? {} : bearer(token)), ...headers },
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { text += c })
      res.on('end', () => { resolve({ status: res.statusCode, body: parse(text) }) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error('no answer in 30 s')) })
    req.on('error', reject)
    req.end(payload)
  })
}
const keepAlive = new Agent({ keepAlive: true })

/** True for a 2xx; anything else counted in `tally` under `label:status:code`. */
function ok (tally, label, res) {
  if (res.status >= 200 && res.status < 300) return true
  tally.add(`${label}:${res.status}:${res.body?.error?.code ?? ''}`)
  return false
}

async function waitForCode (digits, ms = 5_000) {
  for (const until = Date.now() + ms; Date.now() < until;) {
    const code = smsCodes.get(digits)
    if (code !== undefined) return code
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return undefined
}

/** How each factor's user gets enrolled: demo login, then the factor's own REST routes. */
const enrollers = {
  async push (url, tally, token) {
    const pairing = await call(url, 'POST', '/v1/me/push/pairing', { token })
    if (!ok(tally, 'pairing', pairing)) return undefined
    const { privateJwk } = await newDeviceKey()
    const jwt = await signDeviceJwt(privateJwk, { req: 'pair', pairingCode: pairing.body.pairingCode, name: 'bench device', platform: 'cli' }, { now: new Date(), embedKey: true })
    const paired = await call(url, 'POST', '/v1/push/devices', { headers: bearer(jwt) })
    if (!ok(tally, 'pair', paired)) return undefined
    return { token, deviceId: paired.body.deviceId, privateJwk }
  },
  async sms (url, tally, token) {
    const number = `+479${String(phoneBase + phoneSeq++).padStart(7, '0')}`
    const digits = number.slice(1)
    smsCodes.delete(digits)
    const added = await call(url, 'POST', '/v1/me/phones', { token, body: { number } })
    if (!ok(tally, 'add phone', added)) return undefined
    const code = await waitForCode(digits)
    if (code === undefined) { tally.add('add phone:no SMS'); return undefined }
    const verified = await call(url, 'POST', `/v1/me/phones/${added.body.phoneId}/verify`, { token, body: { code } })
    if (!ok(tally, 'verify phone', verified)) return undefined
    if (verified.body?.status !== 'verified') { tally.add(`verify phone:${verified.body?.status}:${verified.body?.reason ?? ''}`); return undefined }
    return { token, digits, phoneId: added.body.phoneId }
  },
  async webauthn (url, tally, token, { origin }) {
    const opt = await call(url, 'POST', '/v1/me/webauthn/options', { token })
    if (!ok(tally, 'webauthn options', opt)) return undefined
    // A passkey: its counter stays 0, so assertions of one user may arrive in any order.
    const auth = createSoftAuthenticator({ origin, kind: 'passkey' })
    const reg = await call(url, 'POST', '/v1/me/webauthn', { token, body: { response: auth.create(opt.body.options), name: 'bench passkey' } })
    if (!ok(tally, 'webauthn register', reg)) return undefined
    return { token, auth }
  },
}

/**
 * One timed step: a closed-loop autocannon run sending one request per item (`request(item)`
 * builds it, ahead of the run), `check(item, body)` answers true or the kind of failure. Items
 * that fail are left out of the next steps.
 */
async function timedStep ({ url, connections, items, tally, label, request, check }) {
  const live = items.filter((it) => !it.failed)
  if (live.length === 0) return undefined
  const built = live.map((it) => ({ it, req: request(it) }))
  let next = 0
  const r = await runAutocannon({
    url, connections: Math.min(connections, built.length), amount: built.length,
    requests: [{
      method: 'GET',
      setup: (req, ctx) => {
        // Past the end (autocannon builds a connection's next request ahead): never sent.
        const b = built[next++ % built.length]
        ctx.it = b.it
        return { ...req, ...b.req }
      },
      check: (status, body, ctx) => {
        const it = ctx.it
        const res = parse(body)
        let verdict = status === 200 ? check(it, res) : `${status}:${res?.error?.code ?? ''}`
        if (it.done?.[label] === true) verdict = 'answered twice'
        ;(it.done ??= {})[label] = true
        if (verdict !== true) { tally.add(`${label}:${verdict}`); it.failed = true }
      },
    }],
  })
  // Items never answered (a socket error or timeout) are out too; autocannon counts those.
  for (const { it } of built) if (it.done?.[label] !== true) it.failed = true
  return summarize(r, createTally())
}

const post = (path, token, body) => ({ method: 'POST', path, headers: { ...json, ...bearer(token) }, body: JSON.stringify(body) })

/** The steps of one factor's sign-in after POST /v1/signin, in order; `prepare` runs untimed before its step. */
const flows = {
  push: [
    {
      label: 'push start', pending: true,
      request: (it) => post(`/v1/signin/${it.transactionId}/challenge`, it.user.token, { method: 'push' }),
      check: (it, res) => { it.challengeId = res?.challengeId; it.number = res?.numberToMatch; return typeof it.challengeId === 'string' || 'no challenge' },
    },
    {
      label: 'device fetches its challenges',
      prepare: async (it) => { it.jwt = await signDeviceJwt(it.user.privateJwk, { req: 'challenges', sub: it.user.deviceId }, { now: new Date() }) },
      request: (it) => ({ method: 'GET', path: `/v1/push/devices/${it.user.deviceId}/challenges`, headers: bearer(it.jwt) }),
      check: (it, res) => { it.shown = res?.challenges?.find((c) => c.challengeId === it.challengeId); return it.shown !== undefined || 'challenge not listed' },
    },
    {
      label: 'device approves',
      prepare: async (it) => {
        const { challengeId, shown, number, user } = it
        const claims = { req: 'answer', sub: user.deviceId, challengeId, nonce: shown.nonce, decision: 'approve', number, contextHash: contextHash({ challengeId, createdAt: shown.createdAt, ...shown.context }) }
        it.jwt = await signDeviceJwt(user.privateJwk, claims, { now: new Date() })
      },
      request: (it) => ({ method: 'POST', path: `/v1/push/challenges/${it.challengeId}/answer`, headers: bearer(it.jwt) }),
      check: (_it, res) => res?.result === 'approved' || `${res?.result}:${res?.reason ?? ''}`,
    },
    {
      label: 'poll → approved',
      request: (it) => ({ method: 'GET', path: `/v1/signin/${it.transactionId}/push/${it.challengeId}?waitSec=0`, headers: bearer(it.user.token) }),
      check: (_it, res) => (res?.state === 'approved' && typeof res.token === 'string') || `state ${res?.state}`,
    },
  ],
  sms: [
    {
      label: 'sms send', pending: true,
      prepare: async (it) => { smsCodes.delete(it.user.digits) },
      request: (it) => post(`/v1/signin/${it.transactionId}/challenge`, it.user.token, { method: 'sms' }),
      check: (_it, res) => typeof res?.reference === 'string' || 'no reference',
    },
    {
      label: 'sms verify',
      prepare: async (it) => { it.code = await waitForCode(it.user.digits); if (it.code === undefined) throw new Error('no SMS received') },
      request: (it) => post(`/v1/signin/${it.transactionId}/verify`, it.user.token, { method: 'sms', code: it.code }),
      check: (_it, res) => (res?.status === 'verified' && typeof res.token === 'string') || `${res?.status}:${res?.reason ?? ''}`,
    },
  ],
  webauthn: [
    {
      label: 'webauthn options', pending: true,
      request: (it) => post(`/v1/signin/${it.transactionId}/challenge`, it.user.token, { method: 'webauthn' }),
      check: (it, res) => { it.options = res?.options; return typeof it.options?.challenge === 'string' || 'no options' },
    },
    {
      label: 'webauthn verify',
      prepare: async (it) => { it.response = it.user.auth.get(it.options) },
      request: (it) => post(`/v1/signin/${it.transactionId}/verify`, it.user.token, { method: 'webauthn', response: it.response }),
      check: (_it, res) => (res?.status === 'verified' && typeof res.token === 'string') || `${res?.status}:${res?.reason ?? ''}`,
    },
  ],
}

/** POST /v1/signin for each item: its transaction id (the user's only method is the factor's). */
const signinStart = {
  label: 'sign-in start',
  request: (it) => post('/v1/signin', it.user.token, {}),
  check: (it, res) => { it.transactionId = res?.transactionId; return (res?.status === 'challenge' && typeof it.transactionId === 'string') || `status ${res?.status}` },
}

/** Runs `steps` over `items`, each step timed; the untimed `prepare` of a step runs just before it. */
async function runSteps ({ url, connections, items, steps, tally }) {
  const out = []
  for (const step of steps) {
    if (step.prepare !== undefined) {
      for (const it of items) {
        if (it.failed) continue
        try { await step.prepare(it) } catch (err) { tally.add(`${step.label}:${err.message}`); it.failed = true }
      }
    }
    const r = await timedStep({ url, connections, items, tally, label: step.label, request: step.request, check: step.check })
    if (r === undefined) continue
    // Socket errors and timeouts never reach check(): autocannon counted them.
    for (const [k, v] of Object.entries(r.errors)) tally.add(`${step.label}:${k}`, v)
    out.push({ label: step.label, ...r })
  }
  return out
}

export const factorCommands = {
  /** Starts the fake Vonage in this process; factor-sms is pointed at it. */
  async 'vonage-start' () {
    vonage ??= await startFakeVonage({
      onMessage: (sms) => {
        const code = /#(\d{6})$/.exec(sms.text)?.[1]
        if (code !== undefined) smsCodes.set(sms.to, code)
      },
    })
    return { url: vonage.url, apiKey: vonage.apiKey, apiSecret: vonage.apiSecret }
  },

  /** Enrolls `count` more users of `factor` (demo login, then the factor's REST routes), `concurrency` at a time. */
  async 'factor-enroll' ({ factor, url, count, concurrency = 16, origin }) {
    const tally = createTally()
    const before = users[factor].length
    const started = Date.now()
    let next = 0
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        next++
        try {
          const login = await call(url, 'POST', '/v1/demo/login', { body: { username: `bench.${factor}.${runTag}.${userSeq++}`, password: 'demo' } })
          if (!ok(tally, 'login', login)) continue
          const user = await enrollers[factor](url, tally, login.body.token, { origin })
          if (user !== undefined) users[factor].push(user)
        } catch (err) { tally.add(`exception:${err.message}`) }
      }
    }))
    const durationSec = (Date.now() - started) / 1000
    return { users: users[factor].length, added: users[factor].length - before, durationSec, perSec: (users[factor].length - before) / durationSec, errors: tally.errors, errorCount: tally.count }
  },

  /** `count` complete sign-ins with `factor`, step by step (each user at most once): every step's figures. */
  async 'factor-signin' ({ factor, url, count, connections }) {
    if (count > users[factor].length) throw new Error(`${count} ${factor} sign-ins need as many users (${users[factor].length} enrolled)`)
    const tally = createTally()
    const items = pick(factor, count).map((user) => ({ user }))
    const steps = await runSteps({ url, connections, items, steps: [signinStart, ...flows[factor]], tally })
    const completed = items.filter((it) => !it.failed).length
    return { factor, count, completed, steps, errors: tally.errors, errorCount: Math.max(tally.count, count - completed) }
  },

  /** `count` sign-ins left waiting at the factor's challenge (P5): users reused round robin, push's one per user. */
  async 'factor-pending' ({ factor, url, count, connections }) {
    if (factor === 'push' && count > users.push.length) throw new Error(`${count} pending pushes need as many users (one open push each; ${users.push.length} enrolled)`)
    const tally = createTally()
    const items = pick(factor, count).map((user) => ({ user }))
    const steps = [signinStart, ...flows[factor].filter((s) => s.pending)]
    await runSteps({ url, connections, items, steps, tally })
    return { created: items.filter((it) => !it.failed).length, errors: tally.errors, errorCount: tally.count }
  },

  'factor-status': async () => Object.fromEntries(FACTORS.map((f) => [f, users[f].length])),
}
