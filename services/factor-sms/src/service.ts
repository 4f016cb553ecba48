import {
  BusError, factorEnrolled, factorRemoved, smsBreakerOpened,
  type ConfirmSmsRequest, type ConfirmSmsResponse, type DescribeResponse, type EnrollSmsRequest, type EnrollSmsResponse, type ErrorCode,
  type NotifyUserRequest, type NotifyUserResponse,
  type RemoveSmsRequest, type RemoveSmsResponse, type StartSmsRequest, type StartSmsResponse, type UserRequest,
  type VerifySmsRequest, type VerifySmsResponse,
} from '@warden/contracts'
import { once } from '@warden/service-kit'
import type { AttemptGate, Challenge, ChallengeKey, PhoneRecord, PhoneRefusal, SmsServiceDeps } from './ports.js'
import { renderSmsText, smsLocale } from './sms-text.js'

/** A code is refused as an answer, not an error: the caller branches on `result`. */
type Rejected = Extract<VerifySmsResponse, { result: 'rejected' }>

/** Each unusable number has its own code, so a client can say what to fix. */
const REFUSAL_CODE: Readonly<Record<PhoneRefusal, ErrorCode>> = {
  invalid_number: 'PHONE_INVALID',
  premium_rate: 'PHONE_PREMIUM_RATE',
  shared_cost: 'PHONE_SHARED_COST',
  toll_free: 'PHONE_TOLL_FREE',
  voip: 'PHONE_VOIP',
  not_mobile: 'PHONE_NOT_MOBILE',
  country_not_allowed: 'PHONE_COUNTRY_NOT_ALLOWED',
}
const REFUSAL_MESSAGE: Readonly<Record<PhoneRefusal, string>> = {
  invalid_number: 'not a valid phone number: include the country prefix (+47 …)',
  premium_rate: 'premium-rate numbers cannot be added',
  shared_cost: 'shared-cost numbers cannot be added',
  toll_free: 'toll-free numbers cannot be added',
  voip: 'internet (VoIP) numbers cannot be added: use a mobile number',
  not_mobile: 'this number cannot receive text messages: use a mobile number',
  country_not_allowed: 'text messages cannot be sent to this country',
}

const iso = (ms: number): string => new Date(ms).toISOString()
/** The provider's retries of a notice end by then. */
const NOTICE_DEADLINE_MS = 60_000
const secondsUntil = (until: number, now: number): number => Math.max(1, Math.ceil((until - now) / 1000))

/** A phone that holds a slot: verified, or added and still waiting for its code. */
const holdsSlot = (p: PhoneRecord, now: number): boolean =>
  p.verified || (p.expiresAt !== undefined && Date.parse(p.expiresAt) > now)

const signinKey = (userId: string, flowId: string): ChallengeKey => ({ userId, scope: 'signin', id: flowId })
const phoneKey = (userId: string, phoneId: string): ChallengeKey => ({ userId, scope: 'phone', id: phoneId })
const sendIdOf = (c: Pick<Challenge, 'challengeId' | 'sendNo'>): string => `${c.challengeId}-${c.sendNo}`

export type SmsService = ReturnType<typeof createSmsService>

export function createSmsService (deps: SmsServiceDeps) {
  const { clock, settings } = deps

  /**
   * Applies `change` to the user's phones with compare-and-set, reloading and deciding again when
   * somebody else wrote first. `phones: undefined` means nothing to write.
   */
  async function updatePhones<R> (
    userId: string, change: (phones: readonly PhoneRecord[], now: number) => { phones?: PhoneRecord[], result: R },
  ): Promise<R> {
    for (let i = 0; i < 5; i++) {
      const current = await deps.phones.get(userId)
      const out = change(current?.value.phones ?? [], clock.now().getTime())
      if (out.phones === undefined) return out.result
      if (await deps.phones.save(userId, { phones: out.phones }, current?.revision)) return out.result
    }
    throw new BusError('UNAVAILABLE', 'the phone list keeps changing: try again', { retryAfterSec: 1 })
  }

  async function verifiedPhones (userId: string): Promise<PhoneRecord[]> {
    const book = await deps.phones.get(userId)
    return (book?.value.phones ?? []).filter((p) => p.verified)
  }

  async function breakerOpened (breaker: 'conversion' | 'global', until: number, detail: { callingCode?: string, sent?: number, verified?: number } = {}): Promise<void> {
    deps.metrics.inc('sms_breaker_opened_total', { breaker, ...(detail.callingCode === undefined ? {} : { calling_code: detail.callingCode }) })
    await deps.events.emit(smsBreakerOpened, {
      breaker, until: iso(until), ...detail,
      eventId: deps.random.eventId(`sms.breaker:${breaker}:${detail.callingCode ?? '*'}:${until}`),
    })
  }

  function refuse (reason: PhoneRefusal): never {
    refused(`number_${reason}`)
    throw new BusError(REFUSAL_CODE[reason], REFUSAL_MESSAGE[reason])
  }

  function refused (reason: string): void {
    deps.metrics.inc('sms_refused_total', { reason })
  }

  /**
   * Sends a new code for `key` to `phone`: the challenge's own rules (cooldown, sends), the
   * country and the breakers, then the budgets, then one SMS per (challenge, send number).
   */
  async function sendCode (opts: { key: ChallengeKey, phone: PhoneRecord, ip?: string, locale?: string }): Promise<{ reference: string, expiresAt: string }> {
    const { key, phone } = opts
    const now = clock.now().getTime()
    const existing = await deps.challenges.get(key)
    if (existing !== undefined) {
      if (existing.sendNo >= settings.maxSends) {
        refused('max_sends')
        throw new BusError('RATE_LIMITED', 'no more codes can be sent for this attempt: try another way')
      }
      const readyAt = existing.sentAt + settings.resendCooldownMs
      if (readyAt > now) {
        refused('cooldown')
        throw new BusError('RATE_LIMITED', 'a code was sent moments ago: wait before asking for another', { retryAfterSec: secondsUntil(readyAt, now) })
      }
    }
    // The allow-list may have shrunk since the phone was added.
    if (settings.allowedRegions !== undefined && !settings.allowedRegions.has(phone.region)) {
      refused('country')
      throw new BusError('PROVIDER_UNAVAILABLE', 'SMS to this country is not offered: use another method')
    }
    const breaker = await deps.conversion.check(phone.callingCode, now)
    if (breaker.open) {
      if (breaker.opened !== undefined) await breakerOpened('conversion', breaker.until, { callingCode: phone.callingCode, ...breaker.opened })
      refused('conversion_breaker')
      throw new BusError('PROVIDER_UNAVAILABLE', 'SMS to this country is paused: use another method', { retryAfterSec: secondsUntil(breaker.until, now) })
    }

    const challengeId = existing?.challengeId ?? deps.random.challengeId()
    const sendNo = (existing?.sendNo ?? 0) + 1
    const reservation = {
      sendId: sendIdOf({ challengeId, sendNo }), userId: key.userId, numberHash: phone.numberHash, ...(opts.ip === undefined ? {} : { ip: opts.ip }),
    }
    const budget = await deps.budget.reserve(reservation, now)
    if (!budget.ok) {
      refused(`budget_${budget.budget}`)
      if (budget.budget === 'global') {
        if (budget.opened === true) await breakerOpened('global', budget.retryAt)
        throw new BusError('PROVIDER_UNAVAILABLE', 'SMS is paused: use another method', { retryAfterSec: secondsUntil(budget.retryAt, now) })
      }
      throw new BusError('RATE_LIMITED', 'too many SMS: wait, or use another method', { retryAfterSec: secondsUntil(budget.retryAt, now) })
    }

    const code = deps.random.code()
    const next: Challenge = {
      challengeId,
      // Per challenge, not per code: a resend keeps the reference the screen already shows.
      reference: existing?.reference ?? deps.random.reference(),
      phoneId: phone.phoneId,
      callingCode: phone.callingCode,
      sendNo,
      codeMac: deps.digests.codeMac(challengeId, code),
      sentAt: now,
      expiresAt: now + settings.codeTtlMs,
      tries: 0,
    }
    if (!await deps.challenges.issue(key, next, existing?.sendNo ?? 0)) {
      await deps.budget.release(reservation)
      throw new BusError('RATE_LIMITED', 'a code was sent moments ago: wait before asking for another', { retryAfterSec: secondsUntil(now + settings.resendCooldownMs, now) })
    }
    const text = renderSmsText({
      locale: smsLocale(opts.locale, settings.defaultLocale), appName: settings.appName, code, reference: next.reference, originHost: settings.originHost,
    }, settings.codeTtlMs)
    const to = deps.cipher.open(phone.sealedNumber, key.userId, phone.phoneId)
    try {
      await once({ ledger: deps.deliveries, scope: challengeId, key: String(sendNo), fingerprint: reservation.sendId }, () =>
        deps.sender.send({ to, text, clientRef: reservation.sendId, deadline: new Date(next.expiresAt) }))
    } catch (err) {
      // Not sent: the budgets get it back. The code itself reached nobody, so it may stay.
      await deps.budget.release(reservation).catch(() => undefined)
      refused('provider')
      throw err
    }
    await deps.conversion.recordSent(phone.callingCode, reservation.sendId, now)
    deps.metrics.inc('sms_sent_total', { calling_code: phone.callingCode })
    return { reference: next.reference, expiresAt: iso(next.expiresAt) }
  }

  /**
   * Checks `code` against the live challenge of `key`. The try is counted before the comparison
   * (and the gate has already counted it as an attempt); a success consumes the code.
   */
  async function checkCode (opts: {
    key: ChallengeKey, code: string, gate: AttemptGate, usable: (phoneId: string) => PhoneRecord | undefined,
  }): Promise<Rejected | { result: 'ok', phone: PhoneRecord, challenge: Challenge }> {
    const { key } = opts
    const attempt = await deps.challenges.attempt(key, settings.maxTries, clock.now().getTime())
    if (attempt.state === 'none') return { result: 'rejected', reason: 'no_challenge' }
    if (attempt.state !== 'counted') return { result: 'rejected', reason: 'expired' }
    const challenge = attempt.challenge
    const phone = opts.usable(challenge.phoneId)
    if (phone === undefined) {
      // The phone was removed since the code was sent: its challenges die with it.
      await deps.challenges.drop(key)
      return { result: 'rejected', reason: 'no_challenge' }
    }
    if (!deps.digests.codeMatches(challenge.codeMac, challenge.challengeId, opts.code)) {
      const failed = await opts.gate.fail(key.userId)
      return { result: 'rejected', reason: 'invalid_code', attemptsLeft: Math.max(0, Math.min(failed.attemptsLeft, settings.maxTries - challenge.tries)) }
    }
    // One winner among parallel verifications; a resend since the try was counted also lands here.
    if (!await deps.challenges.consume(key, challenge.challengeId, challenge.sendNo)) return { result: 'rejected', reason: 'expired' }
    await deps.conversion.recordVerified(challenge.callingCode, sendIdOf(challenge), challenge.sentAt)
    deps.metrics.inc('sms_verified_total', { calling_code: challenge.callingCode })
    return { result: 'ok', phone, challenge }
  }

  return {
    async describe (req: UserRequest): Promise<DescribeResponse> {
      const now = clock.now().getTime()
      const book = await deps.phones.get(req.userId)
      const phones = (book?.value.phones ?? []).filter((p) => holdsSlot(p, now))
      const items = phones.map((p) => ({ id: p.phoneId, label: p.masked, createdAt: p.createdAt, verified: p.verified }))
      const enrolled = phones.some((p) => p.verified)
      if (!enrolled) return { factor: 'sms', enrolled: false, items }
      const lockedUntil = await deps.gate.lockedUntil(req.userId)
      return {
        factor: 'sms',
        enrolled: true,
        createdAt: phones.map((p) => p.verifiedAt ?? p.createdAt).sort()[0] as string,
        ...(lockedUntil === undefined ? {} : { lockedUntil }),
        items,
      }
    },

    /**
     * Adds a phone (unverified, holding one of the user's slots for a while) and sends it a code.
     * Adding a number that is waiting for its code again is a resend to it.
     */
    async enroll (req: EnrollSmsRequest): Promise<EnrollSmsResponse> {
      const classified = deps.numbers.classify(req.number)
      if (!classified.ok) refuse(classified.reason)
      const number = classified.number
      if (settings.allowedRegions !== undefined && !settings.allowedRegions.has(number.region)) refuse('country_not_allowed')
      const numberHash = deps.digests.numberHash(number.e164)
      return once({ ledger: deps.addOutcomes, scope: req.userId, key: req.idempotencyKey, fingerprint: `add:${numberHash}` }, async () => {
        const { phone, isNew } = await updatePhones(req.userId, (phones, now) => {
          const live = phones.filter((p) => holdsSlot(p, now))
          const same = live.find((p) => p.numberHash === numberHash)
          if (same?.verified === true) throw new BusError('ALREADY_ENROLLED', 'this number is already added')
          if (same !== undefined) return { result: { phone: same, isNew: false } }
          if (live.length >= settings.maxPhones) throw new BusError('LIMIT_REACHED', `at most ${settings.maxPhones} phones can be added: remove one first`)
          const phoneId = deps.random.phoneId()
          const added: PhoneRecord = {
            phoneId,
            sealedNumber: deps.cipher.seal(number.e164, req.userId, phoneId),
            numberHash,
            masked: number.masked,
            region: number.region,
            callingCode: number.callingCode,
            verified: false,
            createdAt: iso(now),
            expiresAt: iso(now + settings.phoneVerifyTtlMs),
          }
          // Expired additions are dropped on the way: their slots are free again.
          return { phones: [...live, added], result: { phone: added, isNew: true } }
        })
        try {
          const sent = await sendCode({
            key: phoneKey(req.userId, phone.phoneId), phone,
            ...(req.ip === undefined ? {} : { ip: req.ip }), ...(req.locale === undefined ? {} : { locale: req.locale }),
          })
          return { phoneId: phone.phoneId, reference: sent.reference, maskedPhone: phone.masked, expiresAt: sent.expiresAt }
        } catch (err) {
          // Nothing reached the phone: give its slot back rather than hold it for nothing.
          if (isNew) {
            await updatePhones(req.userId, (phones) => ({ phones: phones.filter((p) => p.phoneId !== phone.phoneId), result: undefined })).catch(() => undefined)
          }
          throw err
        }
      })
    },

    /** The code sent to an added phone: the phone becomes usable for sign-in. */
    async confirm (req: ConfirmSmsRequest): Promise<ConfirmSmsResponse> {
      return once({ ledger: deps.confirmOutcomes, scope: req.userId, key: req.idempotencyKey, fingerprint: `confirm:${req.phoneId}` }, async () => {
        const now = clock.now().getTime()
        const book = await deps.phones.get(req.userId)
        const phone = book?.value.phones.find((p) => p.phoneId === req.phoneId)
        if (phone === undefined) throw new BusError('NOT_FOUND', 'no phone with this id')
        if (phone.verified) throw new BusError('CONFLICT', 'this phone is already verified')
        if (!holdsSlot(phone, now)) throw new BusError('ENROLLMENT_EXPIRED', 'the code for this phone expired: add it again')
        await deps.confirmGate.admit(req.userId)
        const checked = await checkCode({
          key: phoneKey(req.userId, req.phoneId), code: req.code, gate: deps.confirmGate,
          usable: (phoneId) => (phoneId === phone.phoneId ? phone : undefined),
        })
        if (checked.result === 'rejected') return checked
        const verifiedAt = iso(clock.now().getTime())
        await updatePhones(req.userId, (phones) => {
          const i = phones.findIndex((p) => p.phoneId === req.phoneId)
          if (i < 0) throw new BusError('NOT_FOUND', 'the phone was removed meanwhile')
          const { expiresAt: _pendingUntil, ...rest } = phones[i] as PhoneRecord
          return { phones: phones.map((p, j) => (j === i ? { ...rest, verified: true, verifiedAt } : p)), result: undefined }
        })
        // A success with the factor (on a phone the user proved to hold) resets both counters.
        await deps.confirmGate.succeed(req.userId)
        await deps.gate.succeed(req.userId)
        await deps.events.emit(factorEnrolled, { userId: req.userId, factor: 'sms', itemId: req.phoneId })
        return { result: 'verified', phoneId: req.phoneId, maskedPhone: phone.masked, verifiedAt }
      })
    },

    /** Removes a phone. Codes already sent to it stop working at once. */
    async remove (req: RemoveSmsRequest): Promise<RemoveSmsResponse> {
      const removed = await updatePhones(req.userId, (phones) => {
        const phone = phones.find((p) => p.phoneId === req.phoneId)
        if (phone === undefined) return { result: undefined }
        return { phones: phones.filter((p) => p !== phone), result: phone }
      })
      await deps.challenges.drop(phoneKey(req.userId, req.phoneId))
      // An addition that never got its code is not a factor: its removal is not news.
      if (removed?.verified === true) await deps.events.emit(factorRemoved, { userId: req.userId, factor: 'sms', itemId: req.phoneId })
      return { removed: removed !== undefined }
    },

    /**
     * A notice about the user's own account (the notifier's security notifications), not a code:
     * one SMS to each verified phone in an allowed country, the link after the text. Notices are
     * few (one per high-risk event) and come from the notifier, never from a user's request, so
     * they spend none of the user's code budgets. A retry with the same idempotency key answers
     * the first count and sends nothing; when no phone took it because the provider failed, the
     * caller gets PROVIDER_UNAVAILABLE and retries.
     */
    async notify (req: NotifyUserRequest): Promise<NotifyUserResponse> {
      return once({ ledger: deps.noticeOutcomes, scope: req.userId, key: req.idempotencyKey, fingerprint: 'notify' }, async () => {
        const phones = (await verifiedPhones(req.userId))
          .filter((p) => settings.allowedRegions === undefined || settings.allowedRegions.has(p.region))
        const text = req.link === undefined ? req.text : `${req.text} ${req.link}`
        const deadline = new Date(clock.now().getTime() + NOTICE_DEADLINE_MS)
        const sent = await Promise.allSettled(phones.map(async (phone) => {
          await deps.sender.send({ to: deps.cipher.open(phone.sealedNumber, req.userId, phone.phoneId), text, clientRef: `ntc-${deps.random.challengeId()}`, deadline })
          deps.metrics.inc('sms_notices_total', { calling_code: phone.callingCode })
        }))
        const reached = sent.filter((r) => r.status === 'fulfilled').length
        const failed = sent.find((r): r is PromiseRejectedResult => r.status === 'rejected')
        if (reached === 0 && failed !== undefined) throw failed.reason
        return { reached }
      })
    },

    /**
     * Sends (or resends) the sign-in code of a transaction to one verified phone. A retry with the
     * same idempotency key gets the first answer and sends nothing.
     */
    async challenge (req: StartSmsRequest): Promise<StartSmsResponse> {
      return once({ ledger: deps.startOutcomes, scope: req.userId, key: req.idempotencyKey, fingerprint: `${req.flowId}:${req.phoneId}` }, async () => {
        const phones = await verifiedPhones(req.userId)
        if (phones.length === 0) throw new BusError('NOT_ENROLLED', 'no verified phone for this user')
        const phone = phones.find((p) => p.phoneId === req.phoneId)
        // Unverified phones never receive sign-in codes.
        if (phone === undefined) throw new BusError('NOT_FOUND', 'no verified phone with this id')
        // A locked factor costs no SMS.
        const lockedUntil = await deps.gate.lockedUntil(req.userId)
        const now = clock.now().getTime()
        if (lockedUntil !== undefined) {
          // A suspension (shown as the year 9999) has no time to wait for.
          if (lockedUntil.startsWith('9999')) throw new BusError('FACTOR_LOCKED', 'too many failed attempts: add your phone again')
          throw new BusError('FACTOR_LOCKED', 'too many failed attempts: try again later', { retryAfterSec: secondsUntil(Date.parse(lockedUntil), now) })
        }
        const sent = await sendCode({
          key: signinKey(req.userId, req.flowId), phone,
          ...(req.ip === undefined ? {} : { ip: req.ip }), ...(req.locale === undefined ? {} : { locale: req.locale }),
        })
        return { reference: sent.reference, maskedPhone: phone.masked, expiresAt: sent.expiresAt }
      })
    },

    /** The sign-in code of a transaction: only the code sent for that transaction matches. */
    async verify (req: VerifySmsRequest): Promise<VerifySmsResponse> {
      return once({ ledger: deps.verifyOutcomes, scope: req.userId, key: req.idempotencyKey, fingerprint: req.flowId }, async () => {
        const phones = await verifiedPhones(req.userId)
        if (phones.length === 0) throw new BusError('NOT_ENROLLED', 'no verified phone for this user')
        await deps.gate.admit(req.userId)
        const checked = await checkCode({
          key: signinKey(req.userId, req.flowId), code: req.code, gate: deps.gate,
          usable: (phoneId) => phones.find((p) => p.phoneId === phoneId),
        })
        if (checked.result === 'rejected') return checked
        await deps.gate.succeed(req.userId)
        return { result: 'verified', verifiedAt: iso(clock.now().getTime()) }
      })
    },

    /** `user.reset`: forget every phone and counter of the user (idempotent). */
    async reset (userId: string): Promise<void> {
      await deps.phones.removeAll(userId)
      await deps.gate.clear(userId)
      await deps.confirmGate.clear(userId)
    },
  }
}
