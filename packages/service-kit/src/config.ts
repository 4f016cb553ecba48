import { Ajv } from 'ajv'
import { Type } from 'typebox'

// Config gets its own ajv: env vars are strings, so coerce them and fill in defaults.
const configAjv = new Ajv({ strict: true, coerceTypes: true, useDefaults: true, allErrors: true })

/** Settings every service shares. Each service's config.ts spreads these into its own schema. */
export const BaseConfig = {
  NATS_URL: Type.String({ default: 'nats://127.0.0.1:4222', description: 'NATS server(s), comma-separated' }),
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379' }),
  OPS_HOST: Type.String({ default: '0.0.0.0', description: 'Where /healthz, /readyz and /metrics listen' }),
  OPS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 0, description: '0 picks a free port' }),
  LOG_LEVEL: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('silent')], { default: 'info' }),
  SERVICE_VERSION: Type.String({ default: '0.1.0', pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+' }),
}

/** Where a factor service keeps its durable data (packages/store): one bucket or collection per owner. */
export const StoreConfig = {
  STORE: Type.Union([Type.Literal('kv'), Type.Literal('mongodb')], { default: 'kv', description: 'kv: JetStream KV on the bus; mongodb: MongoDB (MONGODB_URI)' }),
  MONGODB_URI: Type.Optional(Type.String({ minLength: 1, description: 'Required with STORE=mongodb; holds credentials, never logged' })),
  MONGODB_DB: Type.String({ default: 'warden', pattern: '^[A-Za-z0-9_-]{1,63}$' }),
  KV_REPLICAS: Type.Integer({ minimum: 1, maximum: 5, default: 1, description: 'Replicas of KV buckets this service creates' }),
}

/** What runFactorService needs from a factor service's config: spread it into the service's schema. */
export const FactorServiceConfig = { ...BaseConfig, ...StoreConfig }

/** Validates `env` against `schema`, with defaults and coercion, before any connection is made. */
export function loadConfig<S extends Type.TSchema> (schema: S, env: Record<string, string | undefined>): Readonly<Type.Static<S>> {
  const validate = configAjv.compile(schema)
  const known = Object.keys((schema as unknown as { properties?: object }).properties ?? {})
  const data: Record<string, unknown> = {}
  for (const k of known) if (env[k] !== undefined && env[k] !== '') data[k] = env[k]
  if (!validate(data)) {
    // Name the fields, never their values: some are secrets.
    const fields = (validate.errors ?? []).map((e) => `${e.instancePath.replace(/^\//, '') || e.params?.missingProperty || '(root)'}: ${e.message ?? 'invalid'}`)
    throw new Error(`invalid configuration: ${fields.join('; ')}`)
  }
  return Object.freeze(data) as Readonly<Type.Static<S>>
}
