import { BaseConfig, loadConfig, StoreConfig } from '@warden/service-kit'
import { Type } from 'typebox'

export const NotifierConfig = Type.Object({
  ...BaseConfig,
  ...StoreConfig,
  DEMO_MODE: Type.Boolean({ default: false, description: 'Allows http:// and loopback webhook URLs (a local receiver). Never in production.' }),
  SECRET_KEYS: Type.String({
    minLength: 46, description: 'Key ring for webhook signing secrets at rest: kid:base64(32 bytes)[,kid2:...]',
  }),
  SECRET_ACTIVE_KEY_ID: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'Key id that seals new secrets; the first of SECRET_KEYS by default',
  })),
  REPORT_LINK_KEY: Type.String({
    minLength: 44, description: 'HMAC key of the "Not you?" links: base64 of at least 32 random bytes, used for nothing else',
  }),
  PUBLIC_URL: Type.String({
    default: 'http://127.0.0.1:8080', pattern: '^https?://[^#?]+$', description: 'The gateway as users reach it: where "Not you?" links point',
  }),
  REPORT_LINK_TTL_SEC: Type.Integer({ minimum: 3600, maximum: 30 * 86400, default: 7 * 86400, description: 'How long a "Not you?" link works' }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 500, maximum: 30_000, default: 5_000, description: 'One delivery attempt, connect to response' }),
  WEBHOOK_RETRY_BASE_SEC: Type.Integer({ minimum: 1, maximum: 3600, default: 5, description: 'First retry delay' }),
  WEBHOOK_RETRY_FACTOR: Type.Integer({ minimum: 2, maximum: 10, default: 4, description: 'Each retry waits this many times longer than the previous one' }),
  WEBHOOK_RETRY_MAX_DELAY_SEC: Type.Integer({ minimum: 60, maximum: 86_400, default: 4 * 3600, description: 'Longest wait between two attempts' }),
  WEBHOOK_RETRY_FOR_SEC: Type.Integer({
    minimum: 86_400, maximum: 7 * 86_400, default: 26 * 3600,
    description: 'How long after it was queued a failing delivery is still retried (at least 24 h) before it is recorded as failed',
  }),
  WEBHOOK_SECRET_OVERLAP_SEC: Type.Integer({ minimum: 0, maximum: 30 * 86_400, default: 24 * 3600, description: 'After a rotation, how long the previous secret still signs' }),
  WEBHOOK_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'Deliveries in flight per target (one per user at most)' }),
  WEBHOOK_ALLOWED_NETWORKS: Type.String({
    default: '', description: 'CIDRs webhooks may reach although private, e.g. 10.1.0.0/16 (SSRF guard exceptions)',
  }),
  DISPATCH_INTERVAL_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1_000, description: 'How often due deliveries are looked for' }),
  ACTIVITY_RETENTION_DAYS: Type.Integer({
    minimum: 1, maximum: 3650, default: 400,
    description: 'How long an event stays in the activity feed and the audit trail; older ones are deleted by a periodic sweep',
  }),
  ACTIVITY_PRUNE_INTERVAL_SEC: Type.Integer({ minimum: 60, maximum: 7 * 86_400, default: 6 * 3600, description: 'How often the activity older than the retention is swept' }),
  USER_NOTIFY_TIMEOUT_MS: Type.Integer({ minimum: 500, maximum: 30_000, default: 5_000, description: 'One ask of factor-push or factor-sms to send a user a notice' }),
  OUTBOX_DEDUPE_TTL_SEC: Type.Integer({ minimum: 3600, maximum: 30 * 86_400, default: 7 * 86_400, description: 'How long an event id is remembered so a redelivered event is not queued twice' }),
})
export type NotifierConfig = Type.Static<typeof NotifierConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadNotifierConfig (env: Record<string, string | undefined> = process.env): Readonly<NotifierConfig> {
  return loadConfig(NotifierConfig, env)
}
