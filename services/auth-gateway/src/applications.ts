import { createHash, timingSafeEqual } from 'node:crypto'
import type { Log } from '@warden/service-kit'
import { fail } from './errors.js'
import type { Principal } from './plugins/tokens.js'
import type { Policy } from './policy.js'

/**
 * Applications (issue 13): what an application registers to send its users to the hosted pages
 * and get them back (its name, its exact redirect URIs, how it authenticates at the code exchange),
 * and its 2FA policy. One record per clientId (adapters/application-store.ts): the policy routes
 * and sign-in read the policy from the same record.
 */

export interface ClientRegistration {
  /** What the hosted pages show: "Sign in to Payroll". */
  name: string
  /** Exact strings; no wildcards, no prefix matching. */
  redirectUris: string[]
  /** A public client (a SPA, a native app) has no secret: PKCE is what binds its code. */
  publicClient: boolean
  /** `sha256:` + base64url(SHA-256(secret)) of a confidential client's secret; never the secret. */
  clientSecretHash?: string
}

/** The stored record: a policy-only record (from the policy routes) has no registration. */
export interface ApplicationRecord {
  policy?: Policy
  client?: ClientRegistration
}

export interface Application extends ClientRegistration {
  clientId: string
  policy?: Policy
}

export interface ApplicationStore {
  /** The registered application, or undefined when there is none (a policy alone is not one). */
  get: (clientId: string) => Promise<Application | undefined>
  /** Sets the registration and the policy (undefined: the stored policy stays) in one write. */
  put: (clientId: string, client: ClientRegistration, policy: Policy | undefined) => Promise<void>
  /** Removes the registration and the policy; false when there was nothing. */
  delete: (clientId: string) => Promise<boolean>
}

export const SECRET_HASH_PATTERN = '^sha256:[A-Za-z0-9_-]{43}$'

/** The hash a confidential client's secret is registered with (README: "Integrate your application"). */
export function hashClientSecret (secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('base64url')}`
}

/** Constant time over the hashes (equal lengths): the secret itself is never stored. */
export function clientSecretMatches (registeredHash: string, secret: string): boolean {
  const given = Buffer.from(hashClientSecret(secret))
  const stored = Buffer.from(registeredHash)
  return given.length === stored.length && timingSafeEqual(given, stored)
}

/**
 * Whether a redirect URI may be registered: an absolute https URL without a fragment or
 * credentials; in demo mode also http on localhost or 127.0.0.1 (the demo application).
 */
export function redirectUriAllowed (uri: string, opts: { demo: boolean }): boolean {
  let u: URL
  try {
    u = new URL(uri)
  } catch {
    return false
  }
  // No wildcard of any kind, no fragment (RFC 6749 §3.1.2), no credentials.
  if (uri.includes('*') || u.hash !== '' || uri.includes('#') || u.username !== '' || u.password !== '') return false
  // What the URL parser would normalise (case, default ports, dot segments) is refused: a
  // registered URI must be compared as the exact string the application sends.
  if (u.href !== uri && `${u.href}` !== `${uri}/`) return false
  if (u.protocol === 'https:') return true
  return opts.demo && u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1')
}

/** `redirectUri` is one of the registered ones, character for character. */
export function redirectUriRegistered (app: Pick<ClientRegistration, 'redirectUris'>, redirectUri: string): boolean {
  return app.redirectUris.includes(redirectUri)
}

/** RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export function pkceChallengeOf (verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}

export interface ApplicationView extends Omit<Application, 'clientSecretHash'> {
  /** Whether a secret hash is registered (the hash itself is never answered). */
  hasClientSecret: boolean
}

export interface PutApplicationBody {
  name: string
  redirectUris: string[]
  /** Absent fields take the configured defaults, as on PUT /v1/admin/policies. */
  policy?: Pick<Policy, 'mode'> & Partial<Policy>
  clientSecretHash?: string
  publicClient?: boolean
}

function viewOf (a: Application): ApplicationView {
  return {
    clientId: a.clientId, name: a.name, redirectUris: a.redirectUris, publicClient: a.publicClient,
    hasClientSecret: a.clientSecretHash !== undefined, ...(a.policy === undefined ? {} : { policy: a.policy }),
  }
}

/** The /v1/admin/applications use cases; the route has checked the admin role. */
export function createApplicationsService (deps: {
  applications: ApplicationStore
  demo: boolean
  defaults: Pick<Policy, 'rememberDays' | 'stepUpMaxAgeSec'>
  log: Log
}) {
  const { applications, log } = deps
  return {
    async get (clientId: string): Promise<ApplicationView> {
      const a = await applications.get(clientId)
      if (a === undefined) throw fail('NOT_FOUND', 'no such application')
      return viewOf(a)
    },

    async put (admin: Principal, clientId: string, body: PutApplicationBody): Promise<ApplicationView> {
      const publicClient = body.publicClient === true
      if (publicClient === (body.clientSecretHash !== undefined)) {
        throw fail('BAD_REQUEST', 'give either clientSecretHash (a confidential client) or publicClient: true')
      }
      const bad = body.redirectUris.find((u) => !redirectUriAllowed(u, { demo: deps.demo }))
      if (bad !== undefined) {
        throw fail('INVALID_REDIRECT_URI', deps.demo
          ? 'redirect URIs must be absolute https URLs (or http on localhost / 127.0.0.1), without a fragment'
          : 'redirect URIs must be absolute https URLs without a fragment')
      }
      if (new Set(body.redirectUris).size !== body.redirectUris.length) throw fail('BAD_REQUEST', 'redirectUris has duplicates')
      const client: ClientRegistration = {
        name: body.name, redirectUris: [...body.redirectUris], publicClient,
        ...(body.clientSecretHash === undefined ? {} : { clientSecretHash: body.clientSecretHash }),
      }
      const policy: Policy | undefined = body.policy === undefined
        ? undefined
        : { mode: body.policy.mode, rememberDays: body.policy.rememberDays ?? deps.defaults.rememberDays, stepUpMaxAgeSec: body.policy.stepUpMaxAgeSec ?? deps.defaults.stepUpMaxAgeSec }
      await applications.put(clientId, client, policy)
      log.info({ admin: admin.sub, clientId, redirectUris: client.redirectUris.length, publicClient }, 'admin: application stored')
      return this.get(clientId)
    },

    async delete (admin: Principal, clientId: string): Promise<{ removed: boolean }> {
      const removed = await applications.delete(clientId)
      log.info({ admin: admin.sub, clientId, removed }, 'admin: application removed')
      return { removed }
    },
  }
}

export type ApplicationsService = ReturnType<typeof createApplicationsService>
