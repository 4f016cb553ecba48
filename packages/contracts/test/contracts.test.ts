import t from 'tap'
import { Ajv } from 'ajv'
import { Type } from 'typebox'
import {
  BusError, buildAsyncApi, defineEndpoint, defineEvent, defineFactor, ENDPOINTS, ERROR_CODES, ERROR_STATUS, EVENTS, FACTORS, isErrorBody, startPush, verifySms, verifyTotp,
} from '../src/index.js'
import { eventFixtures, requestFixtures, responseFixtures } from './fixtures.js'

t.test('every schema compiles under a fresh strict ajv', async (t) => {
  const strict = new Ajv({ strict: true, strictTypes: true, strictTuples: true, allowUnionTypes: false })
  for (const e of ENDPOINTS) {
    t.doesNotThrow(() => strict.compile(e.request), `${e.subject} request`)
    t.doesNotThrow(() => strict.compile(e.response), `${e.subject} response`)
  }
  for (const ev of EVENTS) t.doesNotThrow(() => strict.compile(ev.payload), ev.subject)
})

t.test('subjects are unique', async (t) => {
  const subjects = [...ENDPOINTS.map((e) => e.subject), ...EVENTS.map((e) => e.subject)]
  t.equal(new Set(subjects).size, subjects.length, 'no subject appears twice')
})

t.test('the factor registry: every factor once, in the seeds\' order; defineFactor refuses a verb of another factor', async (t) => {
  t.same(FACTORS.map((f) => f.name), ['push', 'webauthn', 'totp', 'sms', 'recovery'], 'preference order')
  t.same(ENDPOINTS.filter((e) => e.name === 'describe').map((e) => e.service), [...FACTORS.map((f) => f.name), 'factors'], 'each factor answers describe, and the scatter describe of all factors')
  const base = { name: 'totp', service: 'factor-totp', amr: ['otp'], fallback: false, describe: 'x' } as const
  t.throws(() => defineFactor({ ...base, endpoints: { verify: verifySms } }), /not a subject of the factor totp/)
  t.throws(() => defineFactor({ ...base, endpoints: { check: verifyTotp } }), /listed as totp\.check/)
  t.throws(() => defineFactor({ ...base, name: 'push', endpoints: { status: startPush } }), /listed as push\.status/)
  t.throws(() => defineFactor({ ...base, name: 'Totp', endpoints: {} }), /lower-case/)
})

t.test('a subject outside warden.<service>.v<N>.<verb> is refused where it is defined', async (t) => {
  const schema = Type.Object({})
  t.throws(() => defineEndpoint({ subject: 'totp.verify', summary: 'x', request: schema, response: schema, errors: [] }), /warden\.<service>/)
  t.throws(() => defineEndpoint({ subject: 'warden.totp.verify', summary: 'x', request: schema, response: schema, errors: [] }), /warden\.<service>/, 'unversioned')
  t.throws(() => defineEvent({ subject: 'warden.events.factor.locked', summary: 'x', payload: schema }), /warden\.events\.v1/)
})

t.test('valid fixtures pass and invalid ones fail, for every message', async (t) => {
  for (const e of ENDPOINTS) {
    const req = requestFixtures[e.subject]
    const res = responseFixtures[e.subject]
    t.ok(req, `${e.subject} has request fixtures`)
    t.ok(res, `${e.subject} has response fixtures`)
    for (const v of req?.valid ?? []) t.ok(e.isRequest(v), `${e.subject} accepts ${JSON.stringify(v)}`)
    for (const v of req?.invalid ?? []) t.notOk(e.isRequest(v), `${e.subject} refuses ${JSON.stringify(v)}`)
    for (const v of res?.valid ?? []) t.ok(e.isResponse(v), `${e.subject} response accepts ${JSON.stringify(v)}`)
    for (const v of res?.invalid ?? []) t.notOk(e.isResponse(v), `${e.subject} response refuses ${JSON.stringify(v)}`)
  }
  for (const ev of EVENTS) {
    const f = eventFixtures[ev.subject]
    t.ok(f, `${ev.subject} has fixtures`)
    for (const v of f?.valid ?? []) t.ok(ev.isPayload(v), `${ev.subject} accepts`)
    for (const v of f?.invalid ?? []) t.notOk(ev.isPayload(v), `${ev.subject} refuses ${JSON.stringify(v)}`)
  }
})

t.test('BusError: brand check, safe body, status from the table', async (t) => {
  const e = new BusError('FACTOR_LOCKED', 'locked', { retryAfterSec: 12.2 })
  t.ok(BusError.is(e))
  t.notOk(BusError.is(new Error('x')))
  t.notOk(BusError.is({ code: 'INTERNAL' }))
  t.equal(e.status, 429)
  t.same(e.toBody(), { code: 'FACTOR_LOCKED', message: 'locked', retryAfterSec: 13 })
  t.ok(isErrorBody(e.toBody()))
  t.notOk(isErrorBody({ code: 'NOT_A_CODE', message: 'x' }))
  t.equal(ERROR_CODES.length, Object.keys(ERROR_STATUS).length)
})

t.test('the AsyncAPI 3 document covers every subject', async (t) => {
  const doc = buildAsyncApi('1.2.3') as { asyncapi: string, channels: Record<string, { address: string | null }>, operations: Record<string, unknown> }
  t.equal(doc.asyncapi, '3.0.0')
  const addresses = new Set(Object.values(doc.channels).map((c) => c.address))
  for (const e of ENDPOINTS) t.ok(addresses.has(e.subject), e.subject)
  for (const ev of EVENTS) t.ok(addresses.has(ev.subject), ev.subject)
  t.equal(Object.keys(doc.operations).length, ENDPOINTS.length + EVENTS.length)
  t.doesNotThrow(() => JSON.stringify(doc))
})
