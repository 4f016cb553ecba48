import { BusError } from '@warden/contracts'
import { uniqueUserId } from '@warden/testkit'
import t from 'tap'
import { createSmsService } from '../src/service.js'
import { renderSmsText, SMS_LOCALES, smsLocale } from '../src/sms-text.js'
import { codeOf, fakeDeps, unavailableChallenges, wrongCode } from './fakes.js'

type Fakes = ReturnType<typeof fakeDeps>
type Service = ReturnType<typeof createSmsService>

const NO_MOBILE = '+4791234567'
const flowId = (n: number | string): string => `txn_${String(n).padStart(43, 'A')}`

function setup (opts: Parameters<typeof fakeDeps>[0] = {}) {
  const f = fakeDeps(opts)
  return { f, sms: createSmsService(f.deps) }
}

/** Adds `number` and enters the code it received; the clock moves past the resend cooldown. */
async function verifiedPhone (f: Fakes, sms: Service, userId: string, number = NO_MOBILE): Promise<string> {
  const added = await sms.enroll({ userId, number })
  const res = await sms.confirm({ userId, phoneId: added.phoneId, code: codeOf(f.sender.sent.at(-1)) })
  if (res.result !== 'verified') throw new Error('setup: verify failed')
  f.clock.advance(31_000)
  return added.phoneId
}

t.test('adding a phone', async (t) => {
  t.test('each kind of unusable number is refused with its own reason; nothing is stored or sent', async (t) => {
    const { f, sms } = setup({ settings: { allowedRegions: new Set(['NO', 'GB', 'CH', 'SE']) } })
    const userId = uniqueUserId()
    const cases: Array<[string, string]> = [
      ['hello', 'PHONE_INVALID'],
      ['91234567', 'PHONE_INVALID'], // no country prefix
      ['+4712', 'PHONE_INVALID'],
      ['+4782012345', 'PHONE_PREMIUM_RATE'],
      ['+41840123456', 'PHONE_SHARED_COST'],
      ['+448001234567', 'PHONE_TOLL_FREE'],
      ['+4785012345', 'PHONE_VOIP'],
      ['+4722123456', 'PHONE_NOT_MOBILE'], // fixed line
      ['+4781012345', 'PHONE_NOT_MOBILE'], // UAN
      ['+33612345678', 'PHONE_COUNTRY_NOT_ALLOWED'],
    ]
    for (const [number, code] of cases) await t.rejects(sms.enroll({ userId, number }), { code }, number)
    t.equal(f.phones.books.size, 0)
    t.equal(f.sender.sent.length, 0)
  })

  t.test('sends a code to the E.164 number and stores the phone sealed, masked and unverified', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const res = await sms.enroll({ userId, number: ' +47 912 34 567 ' })
    t.match(res, { phoneId: /^phn_/, reference: /^\d{4}$/, maskedPhone: '+47 •• •• •• 67', expiresAt: '2026-03-01T12:05:00.000Z' })
    t.equal(f.sender.sent.length, 1)
    t.equal(f.sender.sent[0]?.to, NO_MOBILE)
    t.ok(f.sender.sent[0]?.text.includes(`Reference: ${res.reference}.`), 'the SMS names the reference the API returned')
    const stored = JSON.stringify(f.phones.books.get(userId))
    t.notOk(stored.includes('91234567') || stored.includes('4791'), 'the number is not stored in clear')
    t.match(f.phones.books.get(userId)?.value.phones[0], { verified: false, masked: '+47 •• •• •• 67', region: 'NO', callingCode: '47' })
    t.same(await sms.describe({ userId }), {
      factor: 'sms', enrolled: false, items: [{ id: res.phoneId, label: '+47 •• •• •• 67', createdAt: '2026-03-01T12:00:00.000Z', verified: false }],
    })
  })

  t.test('a fourth phone is refused with LIMIT_REACHED; an addition whose code was never entered frees its slot in time', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    await verifiedPhone(f, sms, userId, '+4791234567')
    await verifiedPhone(f, sms, userId, '+46701234567')
    t.match(await sms.enroll({ userId, number: '+447400123456' }), { maskedPhone: /^\+44 / })
    await t.rejects(sms.enroll({ userId, number: '+4741234567' }), { code: 'LIMIT_REACHED' })
    t.equal(f.phones.books.get(userId)?.value.phones.length, 3)
    f.clock.advance(15 * 60_000)
    const later = await sms.enroll({ userId, number: '+4741234567' })
    t.match(later, { phoneId: /^phn_/ }, 'the unverified third phone expired and gave its slot back')
    t.equal(f.phones.books.get(userId)?.value.phones.length, 3)
  })

  t.test('parallel additions never make a fourth phone', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const numbers = ['+4791234567', '+4741234567', '+4790000001', '+4790000002', '+4790000003']
    const results = await Promise.allSettled(numbers.map((number) => sms.enroll({ userId, number })))
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 3)
    t.equal(f.phones.books.get(userId)?.value.phones.length, 3)
  })

  t.test('the same number: ALREADY_ENROLLED once verified; before that, adding it again is a resend', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const first = await sms.enroll({ userId, number: NO_MOBILE })
    await t.rejects(sms.enroll({ userId, number: '+47 91 23 45 67' }), { code: 'RATE_LIMITED', retryAfterSec: 30 }, 'the resend waits out the cooldown')
    f.clock.advance(30_000)
    const again = await sms.enroll({ userId, number: NO_MOBILE })
    t.match(again, { phoneId: first.phoneId })
    t.equal(f.phones.books.get(userId)?.value.phones.length, 1)
    const phoneId = first.phoneId
    t.match(await sms.confirm({ userId, phoneId, code: codeOf(f.sender.sent[0]) }), { result: 'rejected', reason: 'invalid_code' }, 'the resend replaced the first code')
    t.match(await sms.confirm({ userId, phoneId, code: codeOf(f.sender.sent[1]) }), { result: 'verified' })
    await t.rejects(sms.enroll({ userId, number: NO_MOBILE }), { code: 'ALREADY_ENROLLED' })
  })

  t.test('a phone whose SMS could not be sent gives its slot back', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    f.sender.failWith(new BusError('PROVIDER_UNAVAILABLE', 'the SMS could not be sent: use another method'))
    await t.rejects(sms.enroll({ userId, number: NO_MOBILE }), { code: 'PROVIDER_UNAVAILABLE' })
    t.same(f.phones.books.get(userId)?.value.phones, [])
  })
})

t.test('verifying an added phone', async (t) => {
  t.test('the right code makes it usable, once, and announces it without the number', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const added = await sms.enroll({ userId, number: NO_MOBILE })
    const code = codeOf(f.sender.sent[0])
    t.match(await sms.confirm({ userId, phoneId: added.phoneId, code }), { result: 'verified', phoneId: added.phoneId, maskedPhone: '+47 •• •• •• 67' })
    await t.rejects(sms.confirm({ userId, phoneId: added.phoneId, code }), { code: 'CONFLICT' })
    t.match(await sms.describe({ userId }), { factor: 'sms', enrolled: true, items: [{ id: added.phoneId, verified: true }] })
    t.same(f.events, [{ subject: 'warden.events.v1.factor.enrolled', body: { userId, factor: 'sms', itemId: added.phoneId } }])
  })

  t.test('wrong codes count down; the fifth burns the code and never lock sign-in', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const added = await sms.enroll({ userId, number: NO_MOBILE })
    const code = codeOf(f.sender.sent[0])
    const left: Array<number | undefined> = []
    for (let i = 0; i < 5; i++) {
      const r = await sms.confirm({ userId, phoneId: added.phoneId, code: wrongCode(code) })
      left.push(r.result === 'rejected' ? r.attemptsLeft : -1)
      f.clock.advance(20_000) // wait out the gate's growing pauses
    }
    t.same(left, [4, 3, 2, 1, 0])
    t.match(await sms.confirm({ userId, phoneId: added.phoneId, code }), { result: 'rejected', reason: 'expired' })
    t.equal(f.limiter.state.get(userId), undefined, 'the sign-in counter is untouched')
  })

  t.test('an unknown phone is NOT_FOUND; an expired addition is ENROLLMENT_EXPIRED', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    await t.rejects(sms.confirm({ userId, phoneId: 'phn_AAAAAAAAAAAAAAAAAAAAAA', code: '123456' }), { code: 'NOT_FOUND' })
    const added = await sms.enroll({ userId, number: NO_MOBILE })
    f.clock.advance(15 * 60_000)
    await t.rejects(sms.confirm({ userId, phoneId: added.phoneId, code: codeOf(f.sender.sent[0]) }), { code: 'ENROLLMENT_EXPIRED' })
  })
})

t.test('sign-in challenge', async (t) => {
  t.test('the SMS carries the reference the API returned and ends with the origin-bound line', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    const res = await sms.challenge({ userId, flowId: flowId(1), phoneId })
    t.match(res, { reference: /^\d{4}$/, maskedPhone: '+47 •• •• •• 67' })
    t.equal(res.expiresAt, new Date(f.clock.now().getTime() + 300_000).toISOString())
    const sent = f.sender.sent.at(-1)
    const code = codeOf(sent)
    t.equal(sent?.to, NO_MOBILE)
    t.equal(sent?.text, `${code} is your Warden sign-in code. Reference: ${res.reference}. It expires in 5 minutes. Do not share it.\n\n@warden.example #${code}`)
    t.match(sent?.clientRef, /^sch_[A-Za-z0-9_-]+-1$/, 'one client reference per (challenge, send number)')
    t.match(await sms.verify({ userId, flowId: flowId(1), code }), { result: 'verified' })
    t.match(await sms.verify({ userId, flowId: flowId(1), code }), { result: 'rejected', reason: 'no_challenge' }, 'single use')
  })

  t.test('the text follows the locale, and falls back to the default', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    const res = await sms.challenge({ userId, flowId: flowId(2), phoneId, locale: 'nb-NO' })
    t.match(f.sender.sent.at(-1)?.text, new RegExp(`^\\d{6} er din Warden-kode\\. Referanse: ${res.reference}\\.`))
    await sms.challenge({ userId, flowId: flowId(3), phoneId, locale: 'xx' })
    t.match(f.sender.sent.at(-1)?.text, /is your Warden sign-in code/)
  })

  t.test('a code works only for the transaction it was sent for', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    await sms.challenge({ userId, flowId: flowId('a'), phoneId })
    const codeA = codeOf(f.sender.sent.at(-1))
    t.match(await sms.verify({ userId, flowId: flowId('b'), code: codeA }), { result: 'rejected', reason: 'no_challenge' })
    await sms.challenge({ userId, flowId: flowId('b'), phoneId })
    const codeB = codeOf(f.sender.sent.at(-1))
    if (codeA !== codeB) t.match(await sms.verify({ userId, flowId: flowId('b'), code: codeA }), { result: 'rejected', reason: 'invalid_code' })
    t.match(await sms.verify({ userId, flowId: flowId('b'), code: codeB }), { result: 'verified' })
    const other = uniqueUserId()
    await t.rejects(sms.verify({ userId: other, flowId: flowId('a'), code: codeA }), { code: 'NOT_ENROLLED' }, 'nor for another user')
  })

  t.test('five wrong tries burn the code; the attempt gate counts them too', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    await sms.challenge({ userId, flowId: flowId(4), phoneId })
    const code = codeOf(f.sender.sent.at(-1))
    const left: Array<number | undefined> = []
    for (let i = 0; i < 5; i++) {
      const r = await sms.verify({ userId, flowId: flowId(4), code: wrongCode(code) })
      left.push(r.result === 'rejected' ? r.attemptsLeft : -1)
      f.clock.advance(20_000)
    }
    t.same(left, [4, 3, 2, 1, 0], 'the tries left on this code (the gate allows more)')
    t.equal(f.limiter.state.get(userId)?.count, 5, 'each wrong try is a failed attempt of the factor')
    t.match(await sms.verify({ userId, flowId: flowId(4), code }), { result: 'rejected', reason: 'expired' }, 'even the right code')
    t.equal(f.limiter.state.get(userId)?.count, 6, 'and the try at a burnt code counts as well')
  })

  t.test('resend: 30 s apart, a new code each time that voids the old one, the same reference, at most 3', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    const first = await sms.challenge({ userId, flowId: flowId(5), phoneId })
    const code1 = codeOf(f.sender.sent.at(-1))
    f.clock.advance(10_000)
    await t.rejects(sms.challenge({ userId, flowId: flowId(5), phoneId }), { code: 'RATE_LIMITED', retryAfterSec: 20 })
    f.clock.advance(20_000)
    const second = await sms.challenge({ userId, flowId: flowId(5), phoneId })
    const code2 = codeOf(f.sender.sent.at(-1))
    t.equal(second.reference, first.reference, 'the reference belongs to the challenge')
    t.ok(f.sender.sent.at(-1)?.clientRef.endsWith('-2'))
    f.clock.advance(30_000)
    await sms.challenge({ userId, flowId: flowId(5), phoneId })
    const code3 = codeOf(f.sender.sent.at(-1))
    f.clock.advance(30_000)
    await t.rejects(sms.challenge({ userId, flowId: flowId(5), phoneId }), { code: 'RATE_LIMITED' }, 'no fourth send')
    for (const old of [code1, code2].filter((c) => c !== code3)) {
      t.match(await sms.verify({ userId, flowId: flowId(5), code: old }), { result: 'rejected', reason: 'invalid_code' }, 'an older code is void')
    }
    t.match(await sms.verify({ userId, flowId: flowId(5), code: code3 }), { result: 'verified' })
  })

  t.test('a code lives 5 minutes', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    await sms.challenge({ userId, flowId: flowId(6), phoneId })
    f.clock.advance(300_000)
    t.match(await sms.verify({ userId, flowId: flowId(6), code: codeOf(f.sender.sent.at(-1)) }), { result: 'rejected', reason: 'expired' })
  })

  t.test('an unverified phone never receives a sign-in code', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const pending = await sms.enroll({ userId, number: NO_MOBILE })
    const pendingId = pending.phoneId
    await t.rejects(sms.challenge({ userId, flowId: flowId(7), phoneId: pendingId }), { code: 'NOT_ENROLLED' })
    await verifiedPhone(f, sms, userId, '+46701234567')
    await t.rejects(sms.challenge({ userId, flowId: flowId(7), phoneId: pendingId }), { code: 'NOT_FOUND' })
    t.equal(f.sender.sent.filter((s) => s.to === NO_MOBILE).length, 1, 'only the verification SMS went to it')
  })

  t.test('removing a phone kills its live challenges at once', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    const other = await verifiedPhone(f, sms, userId, '+46701234567')
    await sms.challenge({ userId, flowId: flowId(8), phoneId })
    const code = codeOf(f.sender.sent.at(-1))
    t.same(await sms.remove({ userId, phoneId }), { removed: true })
    t.match(await sms.verify({ userId, flowId: flowId(8), code }), { result: 'rejected', reason: 'no_challenge' })
    await t.rejects(sms.challenge({ userId, flowId: flowId(8), phoneId }), { code: 'NOT_FOUND' })
    t.same(await sms.remove({ userId, phoneId }), { removed: false })
    t.match(f.events.at(-1), { subject: 'warden.events.v1.factor.removed', body: { userId, factor: 'sms', itemId: phoneId } })
    t.match(await sms.describe({ userId }), { enrolled: true, items: [{ id: other }] })

    const pending = await sms.enroll({ userId, number: '+4741234567' })
    const pendingId = pending.phoneId
    const pendingCode = codeOf(f.sender.sent.at(-1))
    await sms.remove({ userId, phoneId: pendingId })
    await t.rejects(sms.confirm({ userId, phoneId: pendingId, code: pendingCode }), { code: 'NOT_FOUND' })
    t.equal(f.events.filter((e) => e.subject.endsWith('removed')).length, 1, 'an unverified addition is not announced')
  })

  t.test('a retried start with the same idempotency key sends nothing more', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    const before = f.sender.sent.length
    const req = { userId, flowId: flowId(9), phoneId, idempotencyKey: 'key-0123456789abcdef' }
    const a = await sms.challenge(req)
    const b = await sms.challenge(req)
    t.same(b, a)
    t.equal(f.sender.sent.length, before + 1)
  })

  t.test('a locked factor sends nothing', async (t) => {
    const { f, sms } = setup({ attemptLimits: { maxFailures: 2, windowMs: 900_000, lockMs: 900_000, suspendAfter: 100, freeFailures: 3 } })
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    await sms.challenge({ userId, flowId: flowId(10), phoneId })
    const code = codeOf(f.sender.sent.at(-1))
    await sms.verify({ userId, flowId: flowId(10), code: wrongCode(code) })
    await sms.verify({ userId, flowId: flowId(10), code: wrongCode(code) })
    await t.rejects(sms.verify({ userId, flowId: flowId(10), code }), { code: 'FACTOR_LOCKED' }, 'locked: even the right code is refused')
    const before = f.sender.sent.length
    await t.rejects(sms.challenge({ userId, flowId: flowId(11), phoneId }), { code: 'FACTOR_LOCKED', retryAfterSec: 900 })
    t.equal(f.sender.sent.length, before)
    t.match(f.events.at(-1), { subject: 'warden.events.v1.factor.locked', body: { userId, factor: 'sms' } })
  })

  t.test('provider failures answer PROVIDER_UNAVAILABLE, give the budget back and leave the factor offered', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    f.sender.failWith(new BusError('PROVIDER_UNAVAILABLE', 'the SMS could not be sent: use another method'))
    await t.rejects(sms.challenge({ userId, flowId: flowId(12), phoneId, ip: '192.0.2.1' }), { code: 'PROVIDER_UNAVAILABLE' })
    t.same(f.budget.windows.get('ip/192.0.2.1'), [], 'the IP budget got its SMS back')
    t.match(await sms.describe({ userId }), { enrolled: true })
    t.equal(f.metrics.get('sms_refused_total{"reason":"provider"}'), 1)
  })

  t.test('fails closed when the challenge store is down', async (t) => {
    const f = fakeDeps()
    const userId = uniqueUserId()
    const up = createSmsService(f.deps)
    const phoneId = await verifiedPhone(f, up, userId)
    const down = createSmsService({ ...f.deps, challenges: unavailableChallenges() })
    await t.rejects(down.challenge({ userId, flowId: flowId(13), phoneId }), { code: 'UNAVAILABLE' })
    await t.rejects(down.verify({ userId, flowId: flowId(13), code: '123456' }), { code: 'UNAVAILABLE' })
  })

  t.test('reset forgets every phone', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    await verifiedPhone(f, sms, userId)
    await sms.reset(userId)
    t.same(await sms.describe({ userId }), { factor: 'sms', enrolled: false, items: [] })
    await sms.reset(userId)
  })
})

t.test('pumping defence (rules with moved time; the Redis adapters are tested against Redis)', async (t) => {
  t.test('10 SMS per account per 24 h, shared by its phones', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    const phones = [await verifiedPhone(f, sms, userId, '+4791234567'), await verifiedPhone(f, sms, userId, '+4741234567'), await verifiedPhone(f, sms, userId, '+46701234567')]
    // 3 verification SMS so far; 7 sign-in SMS remain, spread over the phones.
    for (let i = 0; i < 7; i++) await sms.challenge({ userId, flowId: flowId(`acct${i}`), phoneId: phones[i % 3] as string })
    const err = await sms.challenge({ userId, flowId: flowId('acct-x'), phoneId: phones[0] as string }).catch((e: unknown) => e)
    t.match(err, { code: 'RATE_LIMITED' })
    t.ok((err as BusError).retryAfterSec !== undefined && (err as BusError).retryAfterSec as number > 23 * 3600, 'the oldest SMS leaves the window in almost 24 h')
    f.clock.advance(24 * 3600_000)
    t.match(await sms.challenge({ userId, flowId: flowId('acct-y'), phoneId: phones[0] as string }), { reference: /^\d{4}$/ })
    t.equal(f.metrics.get('sms_refused_total{"reason":"budget_account"}'), 1)
  })

  t.test('5 SMS per phone number per hour, across accounts', async (t) => {
    const { f, sms } = setup()
    const alice = uniqueUserId()
    const bob = uniqueUserId()
    const a = await verifiedPhone(f, sms, alice)
    const b = await verifiedPhone(f, sms, bob) // the same number: 2 SMS so far
    for (let i = 0; i < 3; i++) await sms.challenge({ userId: i % 2 === 0 ? alice : bob, flowId: flowId(`ph${i}`), phoneId: i % 2 === 0 ? a : b })
    await t.rejects(sms.challenge({ userId: alice, flowId: flowId('ph-x'), phoneId: a }), { code: 'RATE_LIMITED' })
    f.clock.advance(3600_000)
    t.ok(await sms.challenge({ userId: alice, flowId: flowId('ph-y'), phoneId: a }))
  })

  t.test('20 SMS per source IP per hour', async (t) => {
    const { f, sms } = setup()
    let sent = 0
    const users: Array<{ userId: string, phoneId: string }> = []
    for (let i = 0; i < 5; i++) {
      const userId = uniqueUserId()
      users.push({ userId, phoneId: await verifiedPhone(f, sms, userId, `+479000000${i}`) })
    }
    for (const u of users) {
      for (let j = 0; j < 4; j++) { await sms.challenge({ ...u, flowId: flowId(`ip${sent}`), ip: '198.51.100.7' }); sent++ }
    }
    const fresh = uniqueUserId()
    const added = await sms.enroll({ userId: fresh, number: '+4790000009', ip: '198.51.100.7' }).catch((e: unknown) => e)
    t.match(added, { code: 'RATE_LIMITED' }, 'the 21st SMS from one IP is refused, whatever the account')
    t.ok(await sms.enroll({ userId: fresh, number: '+4790000009', ip: '198.51.100.8' }), 'another IP is not')
    f.clock.advance(3600_000)
    t.ok(await sms.challenge({ ...(users[0] as { userId: string, phoneId: string }), flowId: flowId('ip-y'), ip: '198.51.100.7' }))
  })

  t.test('the country allow-list also applies to phones added before it changed', async (t) => {
    const f = fakeDeps()
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, createSmsService(f.deps), userId)
    const narrowed = createSmsService({ ...f.deps, settings: { ...f.deps.settings, allowedRegions: new Set(['SE']) } })
    await t.rejects(narrowed.challenge({ userId, flowId: flowId('cty'), phoneId }), { code: 'PROVIDER_UNAVAILABLE' })
  })

  t.test('the global breaker: past N SMS an hour, SMS pauses (announced once)', async (t) => {
    const { f, sms } = setup({ sendLimits: { globalPerHour: 3, globalPauseMs: 900_000 } })
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    await sms.challenge({ userId, flowId: flowId('g1'), phoneId })
    await sms.challenge({ userId, flowId: flowId('g2'), phoneId })
    await t.rejects(sms.challenge({ userId, flowId: flowId('g3'), phoneId }), { code: 'PROVIDER_UNAVAILABLE', retryAfterSec: 900 })
    f.clock.advance(60_000)
    await t.rejects(sms.challenge({ userId, flowId: flowId('g4'), phoneId }), { code: 'PROVIDER_UNAVAILABLE', retryAfterSec: 840 })
    t.equal(f.alerts().length, 1)
    t.match(f.alerts()[0], { breaker: 'global', until: '2026-03-01T12:15:31.000Z', eventId: /^evt_/ })
    t.equal(f.metrics.get('sms_breaker_opened_total{"breaker":"global"}'), 1)
    f.clock.advance(3600_000)
    t.ok(await sms.challenge({ userId, flowId: flowId('g5'), phoneId }), 'closed again once the hour has passed')
  })

  t.test('the conversion breaker: a calling code whose codes are not typed stops receiving SMS', async (t) => {
    const { f, sms } = setup({
      sendLimits: { accountPerDay: 1000, numberPerHour: 1000, ipPerHour: 1000 },
      conversionLimits: { minSent: 10, minRatio: 0.3, graceMs: 120_000, windowMs: 3600_000, pauseMs: 3600_000 },
    })
    const honest = uniqueUserId()
    const se = await verifiedPhone(f, sms, honest, '+46701234567')
    const pumper = uniqueUserId()
    const no = await verifiedPhone(f, sms, pumper)
    // 2 verified of 12 sent to +47: 17% < 30%.
    for (let i = 0; i < 10; i++) {
      await sms.challenge({ userId: pumper, flowId: flowId(`pump${i}`), phoneId: no })
      f.clock.advance(1000)
    }
    f.clock.advance(120_000) // past the grace: now the sends are judged
    const err = await sms.challenge({ userId: pumper, flowId: flowId('pump-x'), phoneId: no }).catch((e: unknown) => e)
    t.match(err, { code: 'PROVIDER_UNAVAILABLE', retryAfterSec: 3600 })
    t.match(f.alerts(), [{ breaker: 'conversion', callingCode: '47', sent: 11, verified: 1 }])
    t.equal(f.metrics.get('sms_breaker_opened_total{"breaker":"conversion","calling_code":"47"}'), 1)
    t.ok(await sms.challenge({ userId: honest, flowId: flowId('se'), phoneId: se }), 'other calling codes keep working')
    await t.rejects(sms.challenge({ userId: pumper, flowId: flowId('pump-y'), phoneId: no }), { code: 'PROVIDER_UNAVAILABLE' })
    t.equal(f.alerts().length, 1, 'announced once')
    f.clock.advance(3600_000)
    t.ok(await sms.challenge({ userId: pumper, flowId: flowId('pump-z'), phoneId: no }), 'it closes after its pause')
  })

  t.test('codes that are typed keep the conversion breaker closed', async (t) => {
    const { f, sms } = setup({
      sendLimits: { accountPerDay: 1000, numberPerHour: 1000, ipPerHour: 1000 },
      conversionLimits: { minSent: 10, minRatio: 0.3, graceMs: 120_000, windowMs: 3600_000, pauseMs: 3600_000 },
    })
    const userId = uniqueUserId()
    const phoneId = await verifiedPhone(f, sms, userId)
    for (let i = 0; i < 12; i++) {
      await sms.challenge({ userId, flowId: flowId(`ok${i}`), phoneId })
      if (i % 3 === 0) await sms.verify({ userId, flowId: flowId(`ok${i}`), code: codeOf(f.sender.sent.at(-1)) })
      f.clock.advance(1000)
    }
    f.clock.advance(120_000)
    t.ok(await sms.challenge({ userId, flowId: flowId('ok-x'), phoneId }), '5 of 13 verified (38%) is enough')
    t.same(f.alerts(), [])
  })
})

t.test('no code or full number in events, alerts, metrics or stored data', async (t) => {
  const { f, sms } = setup({ sendLimits: { globalPerHour: 3 } })
  const userId = uniqueUserId()
  const phoneId = await verifiedPhone(f, sms, userId)
  await sms.challenge({ userId, flowId: flowId('leak'), phoneId })
  await sms.verify({ userId, flowId: flowId('leak'), code: wrongCode(codeOf(f.sender.sent.at(-1))) })
  await sms.verify({ userId, flowId: flowId('leak'), code: codeOf(f.sender.sent.at(-1)) })
  await sms.challenge({ userId, flowId: flowId('leak2'), phoneId }).catch(() => undefined)
  await sms.challenge({ userId, flowId: flowId('leak3'), phoneId }).catch(() => undefined)
  await sms.remove({ userId, phoneId })
  const codes = f.sender.sent.map(codeOf)
  const visible = JSON.stringify({ events: f.events, metrics: [...f.metrics.keys()], phones: [...f.phones.books.values()], challenges: [...f.challenges.all.values()] })
  for (const code of codes) t.notOk(visible.includes(code), `code ${code.slice(0, 1)}… is not visible`)
  t.notOk(visible.includes('91234567'), 'the number is not visible')
  t.ok(f.alerts().length > 0 && f.events.length > 2, 'there was something to look at')
})

t.test('notify: a notice to every verified phone, not a code', async (t) => {
  const notice = { text: 'Warden: your authenticator app was removed. Not you?', link: 'https://id.example.com/ui/#not-me=a.b' }

  t.test('one SMS per verified phone, the link after the text; a phone still waiting for its code gets none', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    await verifiedPhone(f, sms, userId)
    await verifiedPhone(f, sms, userId, '+46701234567')
    await sms.enroll({ userId, number: '+46701234568' })
    f.sender.sent.length = 0
    t.same(await sms.notify({ userId, ...notice }), { reached: 2 })
    t.same(f.sender.sent.map((m) => m.text), [`${notice.text} ${notice.link}`, `${notice.text} ${notice.link}`])
    t.same(f.sender.sent.map((m) => m.to).sort(), ['+46701234567', NO_MOBILE])
    t.same(f.events.filter((e) => !e.subject.endsWith('factor.enrolled')), [], 'a notice is no event')
  })

  t.test('nobody to reach: 0, nothing sent', async (t) => {
    const { f, sms } = setup()
    t.same(await sms.notify({ userId: uniqueUserId(), text: 'x' }), { reached: 0 })
    t.equal(f.sender.sent.length, 0)
  })

  t.test('a phone in a country no longer allowed is skipped', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    await verifiedPhone(f, sms, userId)
    f.sender.sent.length = 0
    const narrowed = createSmsService({ ...f.deps, settings: { ...f.deps.settings, allowedRegions: new Set(['GB']) } })
    t.same(await narrowed.notify({ userId, ...notice }), { reached: 0 })
    t.equal(f.sender.sent.length, 0)
  })

  t.test('the same idempotency key sends once; a provider failure is an error the caller retries', async (t) => {
    const { f, sms } = setup()
    const userId = uniqueUserId()
    await verifiedPhone(f, sms, userId)
    f.sender.sent.length = 0
    f.sender.failWith(new BusError('PROVIDER_UNAVAILABLE', 'down'))
    const req = { userId, ...notice, idempotencyKey: 'evt_AAAAAAAAAAAAAAAAAAAAAA' }
    await t.rejects(sms.notify(req), { code: 'PROVIDER_UNAVAILABLE' })
    f.sender.failWith(undefined)
    t.same(await sms.notify(req), { reached: 1 }, 'the retry sends')
    t.same(await sms.notify(req), { reached: 1 }, 'a repeat is answered from the record')
    t.equal(f.sender.sent.length, 1)
  })
})

t.test('every SMS text fits one GSM-7 message and ends with the origin-bound line', async (t) => {
  const gsm7 = /^[A-Za-z0-9 @£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!"#¤%&'()*+,\-./:;<=>?¡ÄÖÑÜ§¿äöñüà]*$/
  for (const locale of SMS_LOCALES) {
    const text = renderSmsText({ locale, appName: 'Warden', code: '042042', reference: '0815', originHost: 'login.example.com' }, 300_000)
    t.ok(gsm7.test(text), `${locale}: GSM-7 only`)
    t.ok(text.length <= 160, `${locale}: ${text.length} characters`)
    t.ok(text.includes('0815'), `${locale}: names the reference`)
    t.ok(text.endsWith('\n\n@login.example.com #042042'), `${locale}: the last line is for WebOTP`)
  }
  t.equal(smsLocale('sv-SE', 'en'), 'sv')
  t.equal(smsLocale('no', 'en'), 'nb')
  t.equal(smsLocale(undefined, 'da'), 'da')
  t.equal(smsLocale('zz', 'zz'), 'en')
})
