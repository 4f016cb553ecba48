import {
  BusError, factorEnrolled, recoveryCodeUsed, recoveryRegenerated, supportCodeIssued,
  type AcknowledgeRecoveryCodeRequest, type AcknowledgeRecoveryCodeResponse, type DescribeResponse, type IssueRecoveryCodeRequest,
  type IssueRecoveryCodeResponse, type IssueSupportCodeRequest, type IssueSupportCodeResponse, type UserRequest,
  type VerifyRecoveryRequest, type VerifyRecoveryResponse,
} from '@warden/contracts'
import { once, toTimestamp } from '@warden/service-kit'
import { formatRecoveryCode, normalizeRecoveryCode } from './code-format.js'
import type { EmergencyCode, RecordedVerify, RecoveryRecord, RecoveryServiceDeps, Spend, SupportCode } from './ports.js'

const iso = (ms: number): string => toTimestamp(new Date(ms))

/**
 * A write that loses its compare-and-set to an unrelated change (an acknowledgement, a support
 * code) reads again and decides again, this many times, before answering "try again".
 */
const MAX_WRITE_ATTEMPTS = 5

type Rejected = Extract<RecordedVerify, { result: 'rejected' }>
type MutableRecord = { v: 1, code?: EmergencyCode, support?: SupportCode, spent?: Spend }
/** What a read-change-write decides: a record to write and the answer, or an answer without a write. */
type Change<T> = { write: RecoveryRecord, result: T } | { result: T }

/** The user's record minus what has run out: a reveal or a spend receipt past its window, a support code past its life. */
function tidy (record: RecoveryRecord | undefined, now: number): MutableRecord {
  const next: MutableRecord = { v: 1 }
  if (record?.code !== undefined) {
    const { reveal, ...code } = record.code
    next.code = reveal !== undefined && Date.parse(reveal.until) > now ? { ...code, reveal } : code
  }
  if (record?.support !== undefined && Date.parse(record.support.expiresAt) > now) next.support = record.support
  if (record?.spent !== undefined && Date.parse(record.spent.until) > now) next.spent = record.spent
  return next
}

function liveSupport (record: RecoveryRecord | undefined, now: number): SupportCode | undefined {
  return record?.support !== undefined && Date.parse(record.support.expiresAt) > now ? record.support : undefined
}

export type RecoveryService = ReturnType<typeof createRecoveryService>

/**
 * The emergency code ("Master Key") and the support code: issue, acknowledge, spend at sign-in in
 * the seeds' two modes, and forget on `user.reset`. Decisions only; every effect goes through a port.
 */
export function createRecoveryService (deps: RecoveryServiceDeps) {
  const { store, hasher, clock, settings } = deps

  /** Read, decide, compare-and-set; on a lost race, again from a fresh read. */
  async function update<T> (userId: string, decide: (current: RecoveryRecord | undefined) => Change<T>): Promise<T> {
    for (let i = 0; i < MAX_WRITE_ATTEMPTS; i++) {
      const entry = await store.get(userId)
      const change = decide(entry?.value)
      if (!('write' in change)) return change.result
      if (await store.save(userId, change.write, entry?.revision)) return change.result
    }
    throw new BusError('UNAVAILABLE', 'the emergency code is being changed by another request: try again', { retryAfterSec: 1 })
  }

  /** The plaintext of the user's current code if it was made by `attempt` and its window is open. */
  function revealed (userId: string, record: RecoveryRecord | undefined, attempt: string | undefined, now: number): { codeId: string, code: string, createdAt: string } | undefined {
    const code = record?.code
    if (attempt === undefined || code?.reveal === undefined) return undefined
    if (code.reveal.attempt !== attempt || Date.parse(code.reveal.until) <= now) return undefined
    return { codeId: code.codeId, code: formatRecoveryCode(deps.sealer.open(code.reveal.sealed, userId, code.codeId)), createdAt: code.createdAt }
  }

  function newCode (userId: string, canonical: string, codeId: string, hash: string, attempt: string | undefined, now: number): EmergencyCode {
    const reveal = attempt === undefined
      ? undefined
      : { attempt, sealed: deps.sealer.seal(canonical, userId, codeId), until: iso(now + settings.retryWindowMs) }
    return { codeId, hash, createdAt: iso(now), ...(reveal === undefined ? {} : { reveal }) }
  }

  async function rejectSignIn (userId: string, reason: Rejected['reason']): Promise<Rejected> {
    const { attemptsLeft } = await deps.gate.fail(userId)
    return { result: 'rejected', reason, attemptsLeft }
  }

  /** One evaluation of a sign-in with a code (the outcome ledger makes it at most one per idempotency key). */
  async function spend (req: VerifyRecoveryRequest, canonical: string, attempt: string | undefined): Promise<{ recorded: RecordedVerify, shown?: string }> {
    const entry = await store.get(req.userId)
    const now = clock.now()
    const record = entry?.value
    // The same request again, after it spent the code and its reply (and the ledger's record) was
    // lost: the store's receipt answers it, so the user is never left with a spent code and nothing.
    const receipt = record?.spent
    if (attempt !== undefined && receipt?.attempt === attempt && Date.parse(receipt.until) > now.getTime()) {
      const again = receipt.mode === 'temporary' ? revealed(req.userId, record, attempt, now.getTime()) : undefined
      return { recorded: { result: 'verified', verifiedAt: receipt.verifiedAt, ...(again === undefined ? {} : { newCodeId: again.codeId }) } }
    }
    const { code } = record ?? {}
    const support = record?.support
    if (code === undefined && support === undefined) throw new BusError('NOT_ENROLLED', 'no emergency code for this user')

    // Counted before any code is compared; refused while locked, even the right code.
    await deps.gate.admit(req.userId)
    // Every stored code is compared, whichever matches: the time taken says nothing about which.
    const [isCode, isSupport] = await Promise.all([
      code === undefined ? false : hasher.matches(code.hash, canonical),
      support === undefined ? false : hasher.matches(support.hash, canonical),
    ])
    const used = isCode && code !== undefined
      ? { kind: 'emergency' as const, codeId: code.codeId }
      : isSupport && support !== undefined ? { kind: 'support' as const, codeId: support.codeId } : undefined
    if (used === undefined) return { recorded: await rejectSignIn(req.userId, 'invalid_code') }
    if (used.kind === 'support' && support !== undefined && Date.parse(support.expiresAt) <= now.getTime()) {
      return { recorded: await rejectSignIn(req.userId, 'expired') }
    }

    // Temporary loss: the replacement is made and hashed before the write that retires the old code.
    const fresh = req.mode === 'temporary' ? { canonical: deps.codes.newCode(), codeId: deps.ids.codeId() } : undefined
    const freshHash = fresh === undefined ? undefined : await hasher.hash(fresh.canonical)
    // Counters first: a Redis fault then leaves the code unspent, and a retry can try again.
    await deps.gate.succeed(req.userId)
    const at = now.getTime()
    const won = await update(req.userId, (current): Change<boolean> => {
      const still = used.kind === 'emergency' ? current?.code?.codeId === used.codeId : current?.support?.codeId === used.codeId
      // A parallel request spent it first: exactly one winner, and only its new code exists.
      if (!still) return { result: false }
      const next = tidy(current, at)
      if (used.kind === 'emergency') delete next.code
      else delete next.support
      if (fresh !== undefined && freshHash !== undefined) next.code = newCode(req.userId, fresh.canonical, fresh.codeId, freshHash, attempt, at)
      if (attempt === undefined) delete next.spent
      else next.spent = { attempt, codeId: used.codeId, mode: req.mode, verifiedAt: iso(now.getTime()), until: iso(at + settings.retryWindowMs) }
      return { write: next, result: true }
    })
    if (!won) return { recorded: await rejectSignIn(req.userId, 'replayed') }
    await deps.events.emit(recoveryCodeUsed, { userId: req.userId, itemId: used.codeId, kind: used.kind, mode: req.mode })
    if (fresh !== undefined) await deps.events.emit(recoveryRegenerated, { userId: req.userId, itemId: fresh.codeId, reason: 'temporary_loss' })
    return {
      recorded: { result: 'verified', verifiedAt: iso(now.getTime()), ...(fresh === undefined ? {} : { newCodeId: fresh.codeId }) },
      ...(fresh === undefined ? {} : { shown: formatRecoveryCode(fresh.canonical) }),
    }
  }

  return {
    /** Enrolled means a code that can still be spent: an unused emergency code, or a live support code. */
    async describe (req: UserRequest): Promise<DescribeResponse> {
      const record = (await store.get(req.userId))?.value
      const now = clock.now().getTime()
      const code = record?.code
      const support = liveSupport(record, now)
      if (code === undefined && support === undefined) return { factor: 'recovery', enrolled: false, items: [] }
      const lockedUntil = await deps.gate.lockedUntil(req.userId)
      return {
        factor: 'recovery',
        enrolled: true,
        ...(code === undefined ? {} : { createdAt: code.createdAt }),
        ...(lockedUntil === undefined ? {} : { lockedUntil }),
        items: [
          // `verified` on the emergency code: the user confirmed they stored it (the wizard's last step).
          ...(code === undefined ? [] : [{ id: code.codeId, label: 'Emergency code', createdAt: code.createdAt, verified: code.acknowledgedAt !== undefined }]),
          ...(support === undefined ? [] : [{ id: support.codeId, label: 'Support code', createdAt: support.createdAt }]),
        ],
      }
    },

    /**
     * A new emergency code, shown once: the first one, or a regeneration that invalidates the old
     * one in the same write. A retry with the same idempotency key (lost reply, within the retry
     * window) gets the same code, never a second new one.
     */
    async issue (req: IssueRecoveryCodeRequest): Promise<IssueRecoveryCodeResponse> {
      const attempt = req.idempotencyKey === undefined ? undefined : `issue/${req.idempotencyKey}`
      const now = clock.now().getTime()
      const canonical = deps.codes.newCode()
      const codeId = deps.ids.codeId()
      const hash = await hasher.hash(canonical)
      const answer = await update(req.userId, (current): Change<{ res: IssueRecoveryCodeResponse, isNew: boolean, replaced: boolean }> => {
        const again = revealed(req.userId, current, attempt, now)
        if (again !== undefined) return { result: { res: again, isNew: false, replaced: false } }
        const next = tidy(current, now)
        next.code = newCode(req.userId, canonical, codeId, hash, attempt, now)
        return { write: next, result: { res: { code: formatRecoveryCode(canonical), codeId, createdAt: iso(now) }, isNew: true, replaced: current?.code !== undefined } }
      })
      // The first code binds the factor; a later one replaces it (the feed and the user are told which).
      if (answer.isNew && answer.replaced) await deps.events.emit(recoveryRegenerated, { userId: req.userId, itemId: codeId, reason: 'regenerated' })
      else if (answer.isNew) await deps.events.emit(factorEnrolled, { userId: req.userId, factor: 'recovery', itemId: codeId })
      return answer.res
    },

    /** "I have safely copied and stored this code." Ends the retry window: the code is never shown again. */
    async acknowledge (req: AcknowledgeRecoveryCodeRequest): Promise<AcknowledgeRecoveryCodeResponse> {
      const now = clock.now().getTime()
      return update(req.userId, (current): Change<AcknowledgeRecoveryCodeResponse> => {
        const code = current?.code
        if (code === undefined) throw new BusError('NOT_ENROLLED', 'no emergency code to acknowledge: issue one first')
        if (req.codeId !== undefined && req.codeId !== code.codeId) throw new BusError('CONFLICT', 'the emergency code was replaced: store the new one')
        const acknowledgedAt = code.acknowledgedAt ?? iso(now)
        const result = { codeId: code.codeId, acknowledgedAt }
        if (code.acknowledgedAt !== undefined && code.reveal === undefined) return { result }
        const next = tidy(current, now)
        const { reveal: _, ...kept } = code
        next.code = { ...kept, acknowledgedAt }
        return { write: next, result }
      })
    },

    /**
     * Sign-in with a code, in the seeds' two modes. Temporary: the old code is retired and a new
     * one issued in one compare-and-set, its hash stored before the answer leaves. Permanent: the
     * code is spent and the caller resets 2FA (`user.reset`). A support code is spent the same way.
     */
    async verify (req: VerifyRecoveryRequest): Promise<VerifyRecoveryResponse> {
      // The contract already requires the format; a caller that skipped it gets the same answer.
      const canonical = normalizeRecoveryCode(req.code)
      if (canonical === undefined) throw new BusError('BAD_REQUEST', 'an emergency code is 16 characters A-Z and 2-7')
      const attempt = req.idempotencyKey === undefined ? undefined : `${req.flowId}/${req.idempotencyKey}`
      let shown: string | undefined
      const recorded = await once({ ledger: deps.verifyOutcomes, scope: req.userId, key: req.idempotencyKey, fingerprint: req.flowId }, async () => {
        const out = await spend(req, canonical, attempt)
        shown = out.shown
        return out.recorded
      })
      if (recorded.result === 'rejected') return recorded
      const { newCodeId, ...verified } = recorded
      if (newCodeId === undefined) return verified
      if (shown !== undefined) return { ...verified, newCode: shown }
      // A retry answered from the record: the same new code while its sealed copy lasts. Past that
      // the user is signed in all the same, with a session from which to make a new code.
      const again = revealed(req.userId, (await store.get(req.userId))?.value, attempt, clock.now().getTime())
      return again?.codeId === newCodeId ? { ...verified, newCode: again.code } : verified
    },

    /**
     * Support's one-time code (emergency-code format, ≤ 24 h). It replaces nothing until it is
     * spent; a newer support code replaces an older one. Support acting also ends a lock and the
     * "100 failures in a row" suspension.
     */
    async issueSupportCode (req: IssueSupportCodeRequest): Promise<IssueSupportCodeResponse> {
      const now = clock.now().getTime()
      const ttlMs = Math.min(req.ttlSec === undefined ? settings.supportCodeTtlMs : req.ttlSec * 1000, settings.supportCodeMaxTtlMs)
      const canonical = deps.codes.newCode()
      const codeId = deps.ids.codeId()
      const hash = await hasher.hash(canonical)
      const expiresAt = iso(now + ttlMs)
      await update(req.userId, (current): Change<void> => {
        const next = tidy(current, now)
        next.support = { codeId, hash, createdAt: iso(now), expiresAt }
        return { write: next, result: undefined }
      })
      await deps.gate.clear(req.userId)
      await deps.events.emit(supportCodeIssued, { userId: req.userId, itemId: codeId, expiresAt })
      return { code: formatRecoveryCode(canonical), codeId, expiresAt }
    },

    /** `user.reset`: forget everything about the user (idempotent: events arrive at least once). */
    async reset (userId: string): Promise<void> {
      await store.removeAll(userId)
      await deps.gate.clear(userId)
    },
  }
}
