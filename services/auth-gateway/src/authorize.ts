import { randomBytes } from 'node:crypto'
import { decodeJwt } from 'jose'
import type { Clock, Log, Metrics } from '@warden/service-kit'
import { clientSecretMatches, pkceChallengeOf, redirectUriRegistered, type Application, type ApplicationStore } from './applications.js'
import { fail } from './errors.js'
import type { SigninPurpose } from './flows.js'
import type { Principal } from './plugins/tokens.js'

/**
 * The hosted flow (issue 13; RFC 9126 pushed requests, RFC 7636 PKCE, RFC 6749 §4.1 codes):
 *
 * 1. the application's backend pushes the request with the user's primary token
 *    (`POST /v1/authorize`) and gets a single-use handle (≤5 min) and the URL of the hosted page;
 * 2. the browser opens it: the page trades the handle for a hosted session (an HttpOnly cookie),
 *    which stands in for the primary token on the sign-in API, bound to the same user and
 *    application, with the request's purpose and action;
 * 3. the MFA token the sign-in ends with never reaches the browser: it is kept in the session,
 *    and `complete` turns it into a code (≤60 s, single use, bound to the client, the redirect URI
 *    and the PKCE challenge) in a redirect to the application;
 * 4. the backend exchanges the code (`POST /v1/token`); a code used twice revokes the token
 *    issued from it (its `jti`), which the gateway's own MFA-token checks then refuse.
 */

export const REQUEST_TTL_MS = 5 * 60_000
export const CODE_TTL_MS = 60_000
export const REQUEST_URI_PREFIX = 'urn:warden:request:'

/** What the application pushed, bound to the user (the primary token) and the application. */
export interface PushedRequest {
  userId: string
  accountName: string
  authTime?: number
  clientId: string
  clientName: string
  redirectUri: string
  state: string
  codeChallenge: string
  purpose: SigninPurpose
  action?: string
  expiresAt: string
}

/** The browser's side of one pushed request, once its handle is spent; `token` once signed in. */
export interface HostedSession extends PushedRequest {
  token?: string
}

export interface CodeRecord {
  userId: string
  clientId: string
  redirectUri: string
  codeChallenge: string
  token: string
  jti: string
  expiresAt: string
}

/** Redis (adapters/authorize-store.ts); handles, session ids and codes are stored by their hash only. */
export interface AuthorizeStore {
  putRequest: (handle: string, request: PushedRequest, ttlMs: number) => Promise<void>
  /** Spends the handle: the request once, then never again. */
  takeRequest: (handle: string) => Promise<PushedRequest | undefined>
  putSession: (id: string, session: HostedSession, ttlMs: number) => Promise<void>
  getSession: (id: string) => Promise<HostedSession | undefined>
  /** Keeps the session's remaining life. */
  updateSession: (id: string, session: HostedSession) => Promise<boolean>
  /** True for exactly one caller. */
  deleteSession: (id: string) => Promise<boolean>
  putCode: (code: string, record: CodeRecord, keepMs: number) => Promise<void>
  /** The code's record, and whether this call is its first use (exactly one caller is first). */
  useCode: (code: string, keepMs: number) => Promise<{ record: CodeRecord | undefined, first: boolean }>
  revokeToken: (jti: string, ttlMs: number) => Promise<void>
  isRevoked: (jti: string) => Promise<boolean>
}

export interface AuthorizeDeps {
  applications: ApplicationStore
  store: AuthorizeStore
  clock: Clock
  log: Log
  metrics: Metrics
  /** The hosted session lives as long as a sign-in transaction. */
  sessionTtlMs: number
  /** Used codes and revocations are kept as long as the tokens they concern live. */
  tokenTtlMs: number
}

export interface PushInput {
  clientId: string
  clientSecret?: string
  redirectUri: string
  state: string
  codeChallenge: string
  codeChallengeMethod: 'S256'
  purpose?: SigninPurpose
  action?: string
}

export interface TokenInput {
  grantType: 'authorization_code'
  code: string
  redirectUri: string
  codeVerifier: string
  clientId: string
  clientSecret?: string
}

/** The errors a hosted page may hand back to the application (RFC 6749 §4.1.2.1). */
export type RedirectError = 'access_denied' | 'temporarily_unavailable' | 'server_error'

const random = (bytes = 32): string => randomBytes(bytes).toString('base64url')

export function redirectWith (redirectUri: string, params: Record<string, string>): string {
  const u = new URL(redirectUri)
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v)
  return u.href
}

export function createAuthorizeService (deps: AuthorizeDeps) {
  const { applications, store, clock, log, metrics } = deps
  const expired = (iso: string): boolean => Date.parse(iso) <= clock.now().getTime()

  /** Client authentication where a client can authenticate: a confidential client's secret; a public client has none. */
  function authenticateClient (app: Application | undefined, secret: string | undefined): Application {
    if (app === undefined) throw fail('INVALID_CLIENT', 'unknown client')
    if (app.publicClient) {
      if (secret !== undefined) throw fail('INVALID_CLIENT', 'a public client has no secret')
      return app
    }
    if (secret === undefined || app.clientSecretHash === undefined || !clientSecretMatches(app.clientSecretHash, secret)) {
      throw fail('INVALID_CLIENT', 'client authentication failed')
    }
    return app
  }

  async function liveSession (id: string): Promise<HostedSession> {
    const s = await store.getSession(id)
    if (s === undefined || expired(s.expiresAt)) throw fail('UNAUTHENTICATED', 'this sign-in has ended: go back to the application')
    return s
  }

  return {
    /** Step 1: the application's backend, with the user's primary token. */
    async push (principal: Principal, input: PushInput, hostedPageBase: string): Promise<{ requestUri: string, url: string, expiresIn: number }> {
      const app = authenticateClient(await applications.get(input.clientId), input.clientSecret)
      // The user's primary token must have been issued to this application: another application's
      // token (or one naming none) does not start this one's flow.
      if (principal.clientId !== app.clientId) throw fail('FORBIDDEN', 'the primary token was issued to another application')
      if (!redirectUriRegistered(app, input.redirectUri)) throw fail('INVALID_REDIRECT_URI', 'redirectUri is not registered for this client (exact match)')
      const purpose = input.purpose ?? 'signin'
      if (purpose === 'step-up' && input.action === undefined) throw fail('BAD_REQUEST', 'a step-up needs an action')
      if (purpose !== 'step-up' && input.action !== undefined) throw fail('BAD_REQUEST', 'action is only for purpose "step-up"')
      const handle = `${REQUEST_URI_PREFIX}${random()}`
      await store.putRequest(handle, {
        userId: principal.sub,
        accountName: principal.accountName,
        ...(principal.authTime === undefined ? {} : { authTime: principal.authTime }),
        clientId: app.clientId,
        clientName: app.name,
        redirectUri: input.redirectUri,
        state: input.state,
        codeChallenge: input.codeChallenge,
        purpose,
        ...(input.action === undefined ? {} : { action: input.action }),
        expiresAt: new Date(clock.now().getTime() + REQUEST_TTL_MS).toISOString(),
      }, REQUEST_TTL_MS)
      metrics.inc('authorize_requests_total', { purpose })
      log.info({ clientId: app.clientId, purpose }, 'hosted flow: request pushed')
      return { requestUri: handle, url: `${hostedPageBase}/ui/?request_uri=${encodeURIComponent(handle)}`, expiresIn: REQUEST_TTL_MS / 1000 }
    },

    /** Step 2: the browser spends the handle; the new session's id goes in an HttpOnly cookie. */
    async openSession (requestUri: string): Promise<{ sessionId: string, session: HostedSession }> {
      const request = await store.takeRequest(requestUri)
      if (request === undefined || expired(request.expiresAt)) {
        throw fail('INVALID_REQUEST_URI', 'this sign-in link has expired or was already used: go back to the application and start again')
      }
      const sessionId = random()
      const session: HostedSession = { ...request, expiresAt: new Date(clock.now().getTime() + deps.sessionTtlMs).toISOString() }
      await store.putSession(sessionId, session, deps.sessionTtlMs)
      log.info({ clientId: session.clientId, purpose: session.purpose }, 'hosted flow: page opened')
      return { sessionId, session }
    },

    /** The principal a hosted session stands for on the sign-in API, or undefined. */
    async session (sessionId: string): Promise<HostedSession | undefined> {
      const s = await store.getSession(sessionId)
      return s === undefined || expired(s.expiresAt) ? undefined : s
    },

    /** The sign-in API handed this session an MFA token: it is kept here, not in the browser. */
    async keepToken (sessionId: string, token: string): Promise<void> {
      const s = await liveSession(sessionId)
      await store.updateSession(sessionId, { ...s, token })
    },

    /** Step 3: the code, in the redirect to the application. The session ends here. */
    async complete (sessionId: string): Promise<{ redirectTo: string }> {
      const s = await liveSession(sessionId)
      if (s.token === undefined) throw fail('CONFLICT', 'the second step is not done yet')
      if (!await store.deleteSession(sessionId)) throw fail('CONFLICT', 'this sign-in was already completed')
      const claims = decodeJwt(s.token)
      const code = random()
      await store.putCode(code, {
        userId: s.userId, clientId: s.clientId, redirectUri: s.redirectUri, codeChallenge: s.codeChallenge, token: s.token,
        jti: String(claims.jti), expiresAt: new Date(clock.now().getTime() + CODE_TTL_MS).toISOString(),
      }, deps.tokenTtlMs)
      metrics.inc('authorize_completed_total', { result: 'code' })
      log.info({ clientId: s.clientId }, 'hosted flow: code issued')
      return { redirectTo: redirectWith(s.redirectUri, { code, state: s.state }) }
    },

    /** Cancel or an error on the page: back to the (registered) redirect URI with the error and the state. */
    async cancel (sessionId: string, error: RedirectError): Promise<{ redirectTo: string }> {
      const s = await liveSession(sessionId)
      await store.deleteSession(sessionId)
      metrics.inc('authorize_completed_total', { result: error })
      log.info({ clientId: s.clientId, error }, 'hosted flow: returned with an error')
      return { redirectTo: redirectWith(s.redirectUri, { error, state: s.state }) }
    },

    /** Step 4: the backend exchanges the code for the MFA token. */
    async exchange (input: TokenInput): Promise<{ token: string, tokenType: 'Bearer', expiresIn: number }> {
      const app = authenticateClient(await applications.get(input.clientId), input.clientSecret)
      const { record, first } = await store.useCode(input.code, deps.tokenTtlMs)
      if (record === undefined) throw fail('INVALID_GRANT', 'unknown or expired code')
      if (!first) {
        // RFC 6749 §4.1.2: a code used twice may have been stolen; what it gave is taken back.
        await store.revokeToken(record.jti, deps.tokenTtlMs)
        metrics.inc('authorize_code_reuse_total', {})
        log.warn({ clientId: record.clientId }, 'hosted flow: code used twice; its token is revoked')
        throw fail('INVALID_GRANT', 'the code was already used')
      }
      if (expired(record.expiresAt)) throw fail('INVALID_GRANT', 'unknown or expired code')
      if (record.clientId !== app.clientId) throw fail('INVALID_GRANT', 'the code was issued to another client')
      if (record.redirectUri !== input.redirectUri) throw fail('INVALID_GRANT', 'redirectUri does not match the authorization request')
      if (pkceChallengeOf(input.codeVerifier) !== record.codeChallenge) throw fail('INVALID_GRANT', 'codeVerifier does not match the code challenge')
      const exp = decodeJwt(record.token).exp ?? 0
      log.info({ clientId: app.clientId }, 'hosted flow: code exchanged')
      return { token: record.token, tokenType: 'Bearer', expiresIn: Math.max(0, exp - Math.floor(clock.now().getTime() / 1000)) }
    },

    isRevoked: (jti: string) => store.isRevoked(jti),
  }
}

export type AuthorizeService = ReturnType<typeof createAuthorizeService>
