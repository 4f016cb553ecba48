import type { Clock } from '@warden/service-kit'
import type { AddressPolicy } from './address-policy.js'
import type { EventContext } from '@warden/contracts'

export type { Clock }

/** What an event says beyond who and when: each field only for the types that have it. */
export interface EventDetails {
  readonly factor?: string
  readonly itemId?: string
  /** emergencycode.used: `emergency` or `support`. */
  readonly kind?: string
  readonly reason?: string
  readonly mode?: string
  readonly lockedUntil?: string
  readonly deviceId?: string
  readonly notMe?: boolean
  readonly reportedEventId?: string
}

/**
 * The public view of one security event: what the activity feed, the audit query and webhooks
 * show. Built field by field from the validated payload (never copied whole), so nothing that a
 * publisher adds later can leak through. Never holds a secret.
 */
export interface SecurityEvent {
  readonly eventId: string
  /** The event's short type: `factor.enrolled`, `user.reset`... */
  readonly type: string
  /** RFC 3339, UTC. */
  readonly occurredAt: string
  readonly userId: string
  readonly details: EventDetails
  readonly context: EventContext
}

/** A page position: the last event of the previous page, in (occurredAt, eventId) descending order. */
export interface ActivityPosition { readonly occurredAt: string, readonly eventId: string }

export interface ActivityQuery {
  readonly userId: string
  /** Only these types; all when absent. */
  readonly types?: readonly string[]
  /** occurredAt >= since */
  readonly since?: string
  /** occurredAt < until */
  readonly until?: string
  /** Only events strictly after this position (older, or same time and smaller id). */
  readonly after?: ActivityPosition
  readonly limit: number
}

/**
 * Every event of every user, durable (the store port: JetStream KV by default, or MongoDB).
 * Faults surface as BusError UNAVAILABLE.
 */
export interface ActivityStore {
  /** Stores the event under its id, once: false if an event with this id is already stored. */
  record: (event: SecurityEvent) => Promise<boolean>
  /** Newest first: occurredAt descending, then eventId descending. At most `limit` events. */
  query: (q: ActivityQuery) => Promise<SecurityEvent[]>
  /** Deletes every event (of every user) that occurred before `before`; answers how many. */
  prune: (before: Date) => Promise<number>
}

/** A webhook signing secret, sealed at rest (SecretCipher). */
export interface WebhookSecret {
  readonly sealed: string
  readonly createdAt: string
  /** Set when a newer secret replaced it: until then deliveries carry both signatures. */
  readonly retiresAt?: string
}

export interface Webhook {
  readonly id: string
  readonly url: string
  /** Short event types (`factor.removed`), or `*` for all. */
  readonly events: readonly string[]
  readonly enabled: boolean
  /** Newest first. */
  readonly secrets: readonly WebhookSecret[]
  readonly createdAt: string
  readonly updatedAt: string
}

export interface Revisioned<T> { readonly value: T, readonly revision: number }

/** Webhook endpoints, durable. Faults surface as BusError UNAVAILABLE. */
export interface WebhookStore {
  get: (id: string) => Promise<Revisioned<Webhook> | undefined>
  /**
   * Creates (revision undefined) or replaces the webhook at `revision`: false if another writer
   * came first (the caller reads again).
   */
  save: (webhook: Webhook, revision: number | undefined) => Promise<boolean>
  /** Removes it; false if there was none. */
  delete: (id: string) => Promise<boolean>
  list: () => Promise<Webhook[]>
}

/** Seals secrets at rest, bound to their owner (AAD), so a sealed secret cannot move to another webhook. */
export interface SecretCipher {
  seal: (secret: string, owner: string) => string
  open: (sealed: string, owner: string) => string
}

/** Who a queued delivery goes to: one webhook endpoint, or the user through their own factors. */
export type Target = `webhook:${string}` | 'user'

/** One queued delivery. The event is its public view: the outbox never holds a secret. */
export interface OutboxItem {
  readonly event: SecurityEvent
  /** When it was queued: the retry period runs from here. */
  readonly enqueuedAt: string
  /** Failed attempts so far. */
  readonly attempts: number
  /** A safe description of the last failure (`HTTP 503`, `timeout`), never a body. */
  readonly lastError?: string
}

/** The head of one (target, user) queue, leased to one dispatcher until `leaseUntil`. */
export interface ClaimedDelivery {
  readonly target: Target
  readonly userId: string
  readonly item: OutboxItem
}

/**
 * Deliveries waiting to go out: one FIFO queue per (target, user), so each user's events reach
 * each target in order, and one target's trouble never delays another's. Shared by every replica
 * (Redis, atomic scripts); a queue's head is leased to one dispatcher at a time.
 */
export interface Outbox {
  /**
   * Appends one item per target for this event, all or nothing, and only the first time this
   * event id is offered (a redelivered event enqueues nothing): true if it was enqueued now.
   */
  enqueue: (event: SecurityEvent, targets: readonly Target[], now: Date) => Promise<boolean>
  /** Targets that have queued deliveries. */
  targets: () => Promise<Target[]>
  /** Leases up to `max` queues of `target` whose head is due at `now`, until `leaseUntil`. */
  claim: (target: Target, now: Date, max: number, leaseUntil: Date) => Promise<ClaimedDelivery[]>
  /** Removes the head (if it is still that event) and makes the next item due at `now`. */
  complete: (delivery: ClaimedDelivery, now: Date) => Promise<void>
  /** Keeps the head with its new attempt count, due again at `retryAt`. */
  retry: (delivery: ClaimedDelivery, item: OutboxItem, retryAt: Date) => Promise<void>
  /** Drops every queued delivery to `target` (its webhook was deleted). */
  purge: (target: Target) => Promise<void>
}

/** A delivery given up on after the whole retry period: kept for the platform team to see. */
export interface DeliveryFailure {
  readonly target: Target
  readonly eventId: string
  readonly userId: string
  readonly type: string
  readonly attempts: number
  readonly enqueuedAt: string
  readonly failedAt: string
  readonly lastError: string
}

export interface DeliveryFailureLog {
  record: (failure: DeliveryFailure) => Promise<void>
  /** The most recent failures of one target, newest first. */
  list: (target: Target, limit: number) => Promise<DeliveryFailure[]>
}

export type SendResult =
  | { readonly ok: true, readonly status: number }
  | { readonly ok: false, readonly error: string, readonly status?: number }

/**
 * Posts a webhook. Never throws for the receiver's or the network's faults: they are results.
 * Applies the address policy to the addresses the name resolves to, and connects only to a
 * checked address (no DNS rebinding between check and connect). Never follows redirects.
 */
export interface WebhookSender {
  post: (req: { url: string, headers: Readonly<Record<string, string>>, body: string }) => Promise<SendResult>
}

/** A message to the user about their own account, with the "Not you?" link. */
export interface UserMessage {
  readonly userId: string
  /** The event it is about; also the idempotency key of the send. */
  readonly eventId: string
  /** What the user reads (at most 320 characters), ending with "Not you?". */
  readonly text: string
  /** The signed "Not you?" link: after the text in an SMS, the action of a push. */
  readonly notYouUrl: string
}

/**
 * Reaches the user through their own factors (issue 14 §5). An integrator may replace it; email
 * belongs to the platform, through the webhook. Throws on faults (the outbox retries).
 */
export interface UserNotifier {
  /** To every paired push device; the number of devices reached (0: none paired). */
  push: (message: UserMessage) => Promise<number>
  /** To every verified phone; the number of phones reached (0: none verified). */
  sms: (message: UserMessage) => Promise<number>
}

/** What a "Not you?" link carries, once its signature checked out. */
export interface ReportLinkClaims { readonly userId: string, readonly eventId: string, readonly expiresAt: Date }

/** Signed, expiring "Not you?" links. */
export interface ReportLinks {
  /** The URL the user opens: it leads to a page that asks before it locks anything. */
  url: (claims: ReportLinkClaims) => string
  /** The claims of a well-formed token with a valid signature, whatever its expiry; else undefined. */
  open: (token: string) => ReportLinkClaims | undefined
}

export interface NotifierEventSink {
  /**
   * Publishes `user.reported`, its event id derived from the reported event's, so a repeated
   * report is one event (the stream and the activity store both drop the duplicate).
   */
  reported: (body: { userId: string, reportedEventId: string }) => Promise<void>
}

export interface NotifierSettings {
  /** Webhook URL rules: https only in production, which addresses are refused (SSRF). */
  readonly addressPolicy: AddressPolicy
  /** First retry delay; each next one is `retryFactor` times longer, up to `retryMaxDelayMs`. */
  readonly retryBaseDelayMs: number
  readonly retryFactor: number
  readonly retryMaxDelayMs: number
  /** How long after it was queued a failing delivery is still retried, before it is recorded as failed (≥ 24 h). */
  readonly retryForMs: number
  /** How long a replaced signing secret still signs (both signatures are sent meanwhile). */
  readonly secretOverlapMs: number
  readonly reportLinkTtlMs: number
  /** How long an event stays in the activity feed and the audit trail (older ones are never shown, and pruned). */
  readonly activityRetentionMs: number
}

export interface NotifierDeps {
  readonly activity: ActivityStore
  readonly webhooks: WebhookStore
  readonly outbox: Outbox
  readonly failures: DeliveryFailureLog
  readonly sender: WebhookSender
  readonly notifier: UserNotifier
  readonly links: ReportLinks
  readonly events: NotifierEventSink
  readonly cipher: SecretCipher
  readonly clock: Clock
  /** Random bytes for signing secrets (injectable so tests can pin them). */
  readonly randomBytes: (n: number) => Uint8Array
  readonly settings: NotifierSettings
}
