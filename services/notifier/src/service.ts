import { BusError, type EventContext } from '@warden/contracts'
import { refuseUrl } from './address-policy.js'
import { KNOWN_EVENTS, typeOf } from './event-types.js'
import type {
  ActivityPosition, ClaimedDelivery, DeliveryFailure, EventDetails, NotifierDeps, OutboxItem, SecurityEvent, Target,
  Webhook, WebhookSecret,
} from './ports.js'
import { encodeSecret, webhookHeaders } from './standard-webhooks.js'

// Phase 1: the shapes of the notifier's bus verbs. Phase 2 turns them into TypeBox contracts
// (packages/contracts/src/messages/notifier.ts) that validate them on both ends; the service
// still checks what a schema cannot (known types, cursors, URL policy).

export interface ActivityRequest {
  readonly userId: string
  /** 1..100, 20 by default. */
  readonly limit?: number
  /** From the previous page's nextCursor. */
  readonly cursor?: string
  readonly types?: readonly string[]
  readonly since?: string
  readonly until?: string
}

/** One event as the feed and the audit query show it. */
export interface ActivityEntry {
  readonly eventId: string
  readonly type: string
  readonly occurredAt: string
  readonly details: EventDetails
  readonly context: EventContext
}

export interface ActivityPage { readonly events: ActivityEntry[], readonly nextCursor?: string }

export interface PutWebhookRequest {
  readonly id: string
  readonly url: string
  readonly events: readonly string[]
  readonly enabled: boolean
  /** Issue a new signing secret; the current one keeps signing during the overlap. */
  readonly rotateSecret?: boolean
}

export interface WebhookView {
  readonly id: string
  readonly url: string
  readonly events: string[]
  readonly enabled: boolean
  readonly createdAt: string
  readonly updatedAt: string
  /** While a replaced secret still signs: when it stops. */
  readonly previousSecretRetiresAt?: string
  /** Deliveries given up on, newest first (GET only). */
  readonly recentFailures?: Array<Omit<DeliveryFailure, 'target'>>
}

/** The secret is answered once: when the webhook is created, and when it is rotated. */
export interface PutWebhookResponse { readonly webhook: WebhookView, readonly created: boolean, readonly secret?: string }

/** The gateway locks the user's second factor on this answer (the lock is its to enforce at sign-in). */
export interface ReportNotMeResponse { readonly result: 'reported', readonly reportedEventId: string, readonly userId: string }

/** The events the user's own feed shows (issue 14 §2); the audit query shows every event. */
export const USER_FEED_TYPES: ReadonlySet<string> = new Set([
  'factor.enrolled', 'factor.removed', 'factor.locked', 'emergencycode.used', 'recovery.regenerated', 'user.reset',
  'device.remembered', 'push.denied', 'network.seen', 'user.reported',
])

const KNOWN_TYPES: ReadonlySet<string> = new Set([...KNOWN_EVENTS.keys()].map(typeOf))
const WEBHOOK_ID = /^[A-Za-z0-9_-]{1,64}$/
const MAX_PAGE = 100
const DEFAULT_PAGE = 20
const FAILURES_SHOWN = 20
const SECRET_BYTES = 24
const TIMESTAMP = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$/
const EVENT_ID = /^evt_[A-Za-z0-9_-]{16,64}$/

/** How each factor is named in messages to the user. */
const FACTOR_NOUN: Readonly<Record<string, string>> = {
  totp: 'authenticator app', push: 'sign-in app', sms: 'phone number', webauthn: 'security key', recovery: 'emergency code',
}

function pick<T extends object> (source: Record<string, unknown>, keys: ReadonlyArray<keyof T & string>, types: Readonly<Record<string, string>>): T {
  const out: Record<string, unknown> = {}
  for (const k of keys) if (typeof source[k] === types[k]) out[k] = source[k]
  return out as T
}

const DETAIL_KEYS = ['factor', 'itemId', 'kind', 'reason', 'mode', 'lockedUntil', 'deviceId', 'notMe', 'reportedEventId'] as const
const DETAIL_TYPES: Record<string, string> = { factor: 'string', itemId: 'string', kind: 'string', reason: 'string', mode: 'string', lockedUntil: 'string', deviceId: 'string', notMe: 'boolean', reportedEventId: 'string' }
const CONTEXT_KEYS = ['clientId', 'ip', 'userAgent'] as const
const CONTEXT_TYPES: Record<string, string> = { clientId: 'string', ip: 'string', userAgent: 'string' }

/**
 * The public view of a validated event: every field copied by name, so a secret a publisher
 * might add to a payload later never reaches the feed, the outbox or a webhook.
 */
export function toSecurityEvent (subject: string, payload: Record<string, unknown>): SecurityEvent {
  const context = typeof payload.context === 'object' && payload.context !== null ? payload.context as Record<string, unknown> : {}
  return {
    eventId: String(payload.eventId),
    type: typeOf(subject),
    occurredAt: String(payload.occurredAt),
    userId: String(payload.userId),
    details: pick<EventDetails>(payload, DETAIL_KEYS, DETAIL_TYPES),
    context: pick<EventContext>(context, CONTEXT_KEYS, CONTEXT_TYPES),
  }
}

/** The high-risk events the user is told about through their own factors (issue 14 §5), else undefined. */
export function userMessageText (event: SecurityEvent): string | undefined {
  const noun = FACTOR_NOUN[event.details.factor ?? ''] ?? 'second factor'
  switch (event.type) {
    case 'factor.enrolled': return `Warden: a new ${noun} was added to your account.`
    case 'factor.removed': return `Warden: your ${noun} was removed.`
    case 'emergencycode.used': return event.details.kind === 'support'
      ? 'Warden: a support code was used to sign in to your account.'
      : 'Warden: your emergency code was used to sign in.'
    // A replacement made by a sign-in is told once, by its emergencycode.used.
    case 'recovery.regenerated': return event.details.reason === 'regenerated'
      ? 'Warden: a new emergency code was made for your account; the previous one no longer works.'
      : undefined
    case 'user.reset': return event.details.reason === 'disabled'
      ? 'Warden: two-step verification was turned off for your account.'
      : 'Warden: two-step verification was reset for your account.'
    default: return undefined
  }
}

/** The delivered body: Standard Webhooks' `{type, timestamp, data}`, data being the public view. */
export function webhookBody (event: SecurityEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt, data: event })
}

function entryOf (e: SecurityEvent): ActivityEntry {
  return { eventId: e.eventId, type: e.type, occurredAt: e.occurredAt, details: e.details, context: e.context }
}

function encodeCursor (p: ActivityPosition): string {
  return Buffer.from(JSON.stringify([p.occurredAt, p.eventId]), 'utf8').toString('base64url')
}

function decodeCursor (cursor: string): ActivityPosition {
  let parsed: unknown
  try { parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) } catch { parsed = undefined }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new BusError('BAD_REQUEST', 'the cursor is not one this service made')
  const [occurredAt, eventId] = parsed as unknown[]
  if (typeof occurredAt !== 'string' || !TIMESTAMP.test(occurredAt) || typeof eventId !== 'string' || !EVENT_ID.test(eventId)) {
    throw new BusError('BAD_REQUEST', 'the cursor is not one this service made')
  }
  return { occurredAt, eventId }
}

function timeFilter (name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!TIMESTAMP.test(value) || Number.isNaN(Date.parse(value))) throw new BusError('BAD_REQUEST', `${name} is not an RFC 3339 UTC timestamp`)
  return new Date(value).toISOString()
}

const webhookTarget = (id: string): Target => `webhook:${id}`

export type NotifierService = ReturnType<typeof createNotifierService>

export function createNotifierService (deps: NotifierDeps) {
  const { clock, settings } = deps

  async function page (req: ActivityRequest, allowed: ReadonlySet<string> | undefined): Promise<ActivityPage> {
    const limit = req.limit ?? DEFAULT_PAGE
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new BusError('BAD_REQUEST', `limit is 1 to ${MAX_PAGE}`)
    for (const t of req.types ?? []) if (!KNOWN_TYPES.has(t)) throw new BusError('BAD_REQUEST', 'unknown event type in types')
    // The user's own feed never shows audit-only types, whatever the filter asks for.
    const types = allowed === undefined ? req.types : [...(req.types ?? allowed)].filter((t) => allowed.has(t))
    // Past the retention an event is gone, even before the sweep has deleted it.
    const oldest = new Date(clock.now().getTime() - settings.activityRetentionMs).toISOString()
    const asked = timeFilter('since', req.since)
    const since = asked === undefined || asked < oldest ? oldest : asked
    const until = timeFilter('until', req.until)
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor)
    if (types !== undefined && types.length === 0) return { events: [] }
    const found = await deps.activity.query({
      userId: req.userId, limit: limit + 1, since,
      ...(types === undefined ? {} : { types }),
      ...(until === undefined ? {} : { until }), ...(after === undefined ? {} : { after }),
    })
    const events = found.slice(0, limit)
    const last = events[events.length - 1]
    return found.length > limit && last !== undefined
      ? { events: events.map(entryOf), nextCursor: encodeCursor(last) }
      : { events: events.map(entryOf) }
  }

  function liveSecrets (webhook: Webhook, now: Date): WebhookSecret[] {
    return webhook.secrets.filter((s) => s.retiresAt === undefined || Date.parse(s.retiresAt) > now.getTime())
  }

  function view (webhook: Webhook, now: Date, failures?: readonly DeliveryFailure[]): WebhookView {
    const retiring = liveSecrets(webhook, now).find((s) => s.retiresAt !== undefined)
    return {
      id: webhook.id, url: webhook.url, events: [...webhook.events], enabled: webhook.enabled,
      createdAt: webhook.createdAt, updatedAt: webhook.updatedAt,
      ...(retiring?.retiresAt === undefined ? {} : { previousSecretRetiresAt: retiring.retiresAt }),
      ...(failures === undefined ? {} : { recentFailures: failures.map(({ target: _target, ...f }) => f) }),
    }
  }

  function subscribed (webhook: Webhook, type: string): boolean {
    return webhook.enabled && (webhook.events.includes('*') || webhook.events.includes(type))
  }

  /** The delay before retry number `attempts` (1 = the first retry): exponential, capped. */
  function retryDelayMs (attempts: number): number {
    return Math.min(settings.retryBaseDelayMs * settings.retryFactor ** Math.max(0, attempts - 1), settings.retryMaxDelayMs)
  }

  type Attempt = { ok: true } | { ok: false, error: string } | { drop: true }

  async function attemptWebhook (id: string, event: SecurityEvent, now: Date): Promise<Attempt> {
    const found = await deps.webhooks.get(id)
    // Deleted or switched off since the event was queued: it no longer wants deliveries.
    if (found === undefined || !found.value.enabled) return { drop: true }
    const webhook = found.value
    const refused = refuseUrl(webhook.url, settings.addressPolicy)
    if (refused !== undefined) return { ok: false, error: `refused: ${refused}` }
    const secrets = liveSecrets(webhook, now).map((s) => deps.cipher.open(s.sealed, webhook.id))
    const body = webhookBody(event)
    const headers = webhookHeaders(secrets, { id: event.eventId, timestamp: Math.floor(now.getTime() / 1000), body })
    const sent = await deps.sender.post({ url: webhook.url, headers, body })
    return sent.ok ? { ok: true } : { ok: false, error: sent.error }
  }

  async function attemptUser (event: SecurityEvent, now: Date): Promise<Attempt> {
    const text = userMessageText(event)
    if (text === undefined) return { drop: true }
    const notYouUrl = deps.links.url({ userId: event.userId, eventId: event.eventId, expiresAt: new Date(now.getTime() + settings.reportLinkTtlMs) })
    // The link goes apart: the SMS appends it, a push shows it as the notice's action.
    const message = { userId: event.userId, eventId: event.eventId, text: `${text} Not you?`, notYouUrl }
    try {
      // Push to paired devices first; SMS only when there is none (issue 14 §5).
      if (await deps.notifier.push(message) > 0) return { ok: true }
      await deps.notifier.sms(message)
      // Nobody to reach (e.g. after a reset every factor is gone): the platform's webhook is the channel left.
      return { ok: true }
    } catch (err) {
      return { ok: false, error: BusError.is(err) ? err.code : 'notification failed' }
    }
  }

  return {
    /**
     * One event from WARDEN_EVENTS (already validated against its contract): stored for the feed
     * and the audit query, and queued for every subscribed webhook and, if it is high-risk, for
     * the user. Idempotent by event id: a redelivered event changes nothing.
     */
    async handleEvent (subject: string, payload: Record<string, unknown>): Promise<void> {
      const event = toSecurityEvent(subject, payload)
      await deps.activity.record(event)
      const targets: Target[] = (await deps.webhooks.list()).filter((w) => subscribed(w, event.type)).map((w) => webhookTarget(w.id))
      if (userMessageText(event) !== undefined) targets.push('user')
      if (targets.length > 0) await deps.outbox.enqueue(event, targets, clock.now())
    },

    /**
     * Deletes the events older than the retention (ACTIVITY_RETENTION_DAYS), of every user: the
     * trail is kept for a bounded time, like the stream it comes from. Answers how many went.
     */
    pruneActivity: (): Promise<number> => deps.activity.prune(new Date(clock.now().getTime() - settings.activityRetentionMs)),

    /** The user's own security activity: newest first, never audit-only types. */
    activity: (req: ActivityRequest) => page(req, USER_FEED_TYPES),

    /** Every event of a user, for support (admin only; the gateway checks the role). */
    audit: (req: ActivityRequest) => page(req, undefined),

    /**
     * Attempts one claimed delivery and settles it: done, retried later (exponential backoff),
     * or, once it has waited `retryForMs` since it was queued, recorded as failed and dropped so
     * the user's next event can go.
     */
    async deliver (claimed: ClaimedDelivery): Promise<'delivered' | 'retry' | 'failed' | 'dropped'> {
      const now = clock.now()
      const { item } = claimed
      const attempt = claimed.target === 'user'
        ? await attemptUser(item.event, now)
        : await attemptWebhook(claimed.target.slice('webhook:'.length), item.event, now)
      if ('drop' in attempt || attempt.ok) {
        await deps.outbox.complete(claimed, now)
        return 'drop' in attempt ? 'dropped' : 'delivered'
      }
      const attempts = item.attempts + 1
      const updated: OutboxItem = { ...item, attempts, lastError: attempt.error }
      if (now.getTime() - Date.parse(item.enqueuedAt) >= settings.retryForMs) {
        await deps.failures.record({
          target: claimed.target, eventId: item.event.eventId, userId: claimed.userId, type: item.event.type,
          attempts, enqueuedAt: item.enqueuedAt, failedAt: now.toISOString(), lastError: attempt.error,
        })
        await deps.outbox.complete(claimed, now)
        return 'failed'
      }
      await deps.outbox.retry(claimed, updated, new Date(now.getTime() + retryDelayMs(attempts)))
      return 'retry'
    },

    async putWebhook (req: PutWebhookRequest): Promise<PutWebhookResponse> {
      if (!WEBHOOK_ID.test(req.id)) throw new BusError('BAD_REQUEST', 'the webhook id is 1-64 letters, digits, _ or -')
      const refused = refuseUrl(req.url, settings.addressPolicy)
      if (refused !== undefined) throw new BusError('BAD_REQUEST', `webhook url: ${refused}`)
      if (req.events.length === 0) throw new BusError('BAD_REQUEST', 'events lists at least one type, or *')
      for (const t of req.events) if (t !== '*' && !KNOWN_TYPES.has(t)) throw new BusError('BAD_REQUEST', 'unknown event type in events')
      const events = [...new Set(req.events)]
      const now = clock.now()
      const at = now.toISOString()
      const found = await deps.webhooks.get(req.id)
      const fresh = found === undefined || req.rotateSecret === true ? encodeSecret(deps.randomBytes(SECRET_BYTES)) : undefined
      const sealed = fresh === undefined ? undefined : { sealed: deps.cipher.seal(fresh, req.id), createdAt: at }
      let webhook: Webhook
      if (found === undefined) {
        webhook = { id: req.id, url: req.url, events, enabled: req.enabled, secrets: sealed === undefined ? [] : [sealed], createdAt: at, updatedAt: at }
      } else {
        const retiresAt = new Date(now.getTime() + settings.secretOverlapMs).toISOString()
        // A rotation retires the current secret after the overlap; older ones past theirs are gone.
        const kept = liveSecrets(found.value, now).map((s) => sealed === undefined || s.retiresAt !== undefined ? s : { ...s, retiresAt })
        webhook = { ...found.value, url: req.url, events, enabled: req.enabled, secrets: sealed === undefined ? kept : [sealed, ...kept], updatedAt: at }
      }
      if (!await deps.webhooks.save(webhook, found?.revision)) throw new BusError('CONFLICT', 'the webhook changed meanwhile: try again')
      return { webhook: view(webhook, now), created: found === undefined, ...(fresh === undefined ? {} : { secret: fresh }) }
    },

    async getWebhook (req: { id: string }): Promise<WebhookView> {
      const found = WEBHOOK_ID.test(req.id) ? await deps.webhooks.get(req.id) : undefined
      if (found === undefined) throw new BusError('NOT_FOUND', 'no webhook with this id')
      return view(found.value, clock.now(), await deps.failures.list(webhookTarget(req.id), FAILURES_SHOWN))
    },

    async deleteWebhook (req: { id: string }): Promise<{ deleted: boolean }> {
      if (!WEBHOOK_ID.test(req.id)) return { deleted: false }
      const deleted = await deps.webhooks.delete(req.id)
      await deps.outbox.purge(webhookTarget(req.id))
      return { deleted }
    },

    /**
     * The user followed a "Not you?" link and confirmed: checks the link and files the report
     * for support (the `user.reported` event reaches the audit trail and the webhooks); the
     * gateway then locks the user's second factor. Using the same link again files nothing new:
     * the report's event id is derived from the reported event.
     */
    async reportNotMe (req: { token: string }): Promise<ReportNotMeResponse> {
      const claims = deps.links.open(req.token)
      if (claims === undefined) throw new BusError('BAD_REQUEST', 'this link is not valid')
      if (clock.now().getTime() >= claims.expiresAt.getTime()) throw new BusError('FLOW_EXPIRED', 'this link has expired: contact support')
      await deps.events.reported({ userId: claims.userId, reportedEventId: claims.eventId })
      return { result: 'reported', reportedEventId: claims.eventId, userId: claims.userId }
    },
  }
}
