import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { hashClientSecret, pkceChallengeOf, redirectUriAllowed } from '../applications.js'

/**
 * The demo application (DEMO_MODE only; demo-app/README.md): a confidential client of Warden that
 * runs the hosted flow the way an integrator's backend would, through the public HTTP API
 * (`inject`, so it needs no address of its own): password page (the demo IdP), pushed request
 * with PKCE and state, the hop to the hosted page, the code exchange and the check of the MFA
 * token against the JWKS. Its pages have no script at all.
 */

export const DEMO_CLIENT_ID = 'demo-app'
const DEMO_APP_DIR = new URL('../../demo-app/', import.meta.url)
const COOKIE = 'demo_app_session'
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

const HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
}

interface SignedIn { username: string, claims: Record<string, unknown>, kid: string }
interface DemoSession { pending?: { verifier: string, state: string, username: string, redirectUri: string }, signedIn?: SignedIn, error?: string }

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page (title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Demo App</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/demo-app/style.css"></head>
<body><header>Demo App</header><main>${body}</main></body></html>`
}

const METHOD_WORDS: Record<string, string> = { otp: 'a one-time code', pop: 'a phone or security key', sms: 'a text message', hwk: 'a security key', swk: 'a key on the device' }

function signedInPage (s: SignedIn): string {
  const c = s.claims
  const amr = Array.isArray(c.amr) ? c.amr.map(String).filter((a) => a !== 'mfa') : []
  const how = c.remembered === true
    ? 'No second step was needed: this device is remembered.'
    : amr.length > 0 ? `Second step: ${amr.map((a) => METHOD_WORDS[a] ?? a).join(', ')}.` : 'No second step was required.'
  return page('Signed in', `<h1>You are signed in</h1>
<p class="alert good" role="status">Welcome, ${esc(s.username)}.</p>
<p>${esc(how)}</p>
<p class="muted">The Demo App verified Warden's MFA token against its JWKS (/.well-known/jwks.json): ES256 signature with key ${esc(s.kid.slice(0, 12))}…, issuer ${esc(String(c.iss))}, audience ${esc(String(c.aud))}, not expired, ${esc(String(c.acr))}.</p>
<details><summary>Details for developers</summary><pre>${esc(JSON.stringify(c, null, 2))}</pre></details>
<form method="post" action="/demo-app/sign-out"><button type="submit">Sign out</button></form>`)
}

function loginPage (error?: string): string {
  return page('Sign in', `<h1>Sign in to Demo App</h1>
<p class="muted">The demo identity provider: any username, password "demo". Warden then asks for your second step.</p>
${error === undefined ? '' : `<p class="alert" role="alert">${esc(error)}</p>`}
<form method="post" action="/demo-app/sign-in">
<label for="username">Username</label><input id="username" name="username" type="text" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`)
}

async function demoAppPlugin (app: FastifyInstance, opts: { publicUrl: string | undefined, mfaIssuer: string, policyDefaults: { rememberDays: number, stepUpMaxAgeSec: number } }): Promise<void> {
  const css = readFileSync(new URL('style.css', DEMO_APP_DIR), 'utf8')
  // A new secret each start: the registration below is refreshed with its hash at every sign-in.
  const clientSecret = randomBytes(32).toString('base64url')
  // Demo only: sessions in this process's memory.
  const sessions = new Map<string, DemoSession>()

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))))
  })

  const html = (reply: FastifyReply, body: string, status = 200): FastifyReply =>
    reply.code(status).headers(HEADERS).type('text/html; charset=utf-8').send(body)
  const sessionOf = (req: FastifyRequest): { id: string, s: DemoSession } | undefined => {
    const id = /(?:^|;\s*)demo_app_session=([A-Za-z0-9_-]{43})/.exec(req.headers.cookie ?? '')?.[1]
    const s = id === undefined ? undefined : sessions.get(id)
    return id === undefined || s === undefined ? undefined : { id, s }
  }
  const newSession = (reply: FastifyReply, s: DemoSession): void => {
    const id = randomBytes(32).toString('base64url')
    if (!SESSION_ID.test(id)) throw new Error('unexpected session id')
    sessions.set(id, s)
    void reply.header('set-cookie', `${COOKIE}=${id}; Path=/demo-app; HttpOnly; SameSite=Lax`)
  }
  // `host`: the address the browser used, so the hosted page's URL the gateway answers is on it.
  const call = async (method: 'GET' | 'POST', url: string, body?: unknown, token?: string, host?: string) => app.inject({
    method, url,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(host === undefined ? {} : { host }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  })

  /** Registers (refreshes) the demo application with the callback it is reached on. */
  async function register (redirectUri: string): Promise<void> {
    const current = await app.applications.get(DEMO_CLIENT_ID)
    const redirectUris = [...new Set([...(current?.redirectUris ?? []), redirectUri])].slice(-20)
    // It requires 2FA (the seeds' journey: set it up, then the code), unless an admin set a policy.
    const hasPolicy = current?.policy !== undefined || !(await app.policies.get(DEMO_CLIENT_ID)).isDefault
    const policy = hasPolicy ? undefined : { mode: 'required' as const, ...opts.policyDefaults }
    await app.applications.put(DEMO_CLIENT_ID, { name: 'Demo App', redirectUris, publicClient: false, clientSecretHash: hashClientSecret(clientSecret) }, policy)
  }

  app.get('/demo-app/style.css', { schema: { hide: true } }, async (_req, reply) => reply.headers(HEADERS).type('text/css; charset=utf-8').send(css))

  app.get('/demo-app/', { schema: { hide: true } }, async (req, reply) => {
    const session = sessionOf(req)
    if (session?.s.signedIn !== undefined) return html(reply, signedInPage(session.s.signedIn))
    return html(reply, loginPage(session?.s.error))
  })

  app.post<{ Body: Record<string, string> }>('/demo-app/sign-in', { schema: { hide: true } }, async (req, reply) => {
    const username = String(req.body?.username ?? '').trim().toLowerCase()
    const password = String(req.body?.password ?? '')
    const login = await call('POST', '/v1/demo/login', { username, password, clientId: DEMO_CLIENT_ID })
    if (login.statusCode !== 200) {
      return html(reply, loginPage(login.statusCode === 401 ? 'Wrong username or password.' : 'The sign-in did not work. Try again.'), login.statusCode === 401 ? 401 : 400)
    }
    const primary = (login.json() as { token: string }).token
    const origin = opts.publicUrl?.replace(/\/+$/, '') ?? `${req.protocol}://${req.host}`
    const redirectUri = `${origin}/demo-app/callback`
    if (!redirectUriAllowed(redirectUri, { demo: true })) return html(reply, loginPage('Open the demo application on localhost, 127.0.0.1 or PUBLIC_URL.'), 400)
    await register(redirectUri)
    const verifier = randomBytes(32).toString('base64url')
    const state = randomBytes(16).toString('base64url')
    const pushed = await call('POST', '/v1/authorize', {
      clientId: DEMO_CLIENT_ID, clientSecret, redirectUri, state, codeChallenge: pkceChallengeOf(verifier), codeChallengeMethod: 'S256',
    }, primary, req.host)
    if (pushed.statusCode !== 200) return html(reply, loginPage('Warden is not available right now. Try again shortly.'), 503)
    newSession(reply, { pending: { verifier, state, username, redirectUri } })
    return reply.code(303).header('location', (pushed.json() as { url: string }).url).send()
  })

  app.get<{ Querystring: Record<string, string | undefined> }>('/demo-app/callback', { schema: { hide: true } }, async (req, reply) => {
    const session = sessionOf(req)
    const pending = session?.s.pending
    const q = req.query
    const back = (error: string): FastifyReply => {
      if (session !== undefined) sessions.set(session.id, { error })
      return reply.code(303).header('location', '/demo-app/').send()
    }
    // The state ties this answer to the request this browser started (CSRF on the callback).
    if (session === undefined || pending === undefined || typeof q.state !== 'string' || q.state !== pending.state) return back('This answer does not belong to a sign-in started here. Sign in again.')
    if (typeof q.error === 'string') return back(q.error === 'access_denied' ? 'The sign-in was cancelled.' : `The sign-in did not complete (${q.error}). Try again.`)
    const exchanged = await call('POST', '/v1/token', {
      grantType: 'authorization_code', code: q.code, redirectUri: pending.redirectUri, codeVerifier: pending.verifier, clientId: DEMO_CLIENT_ID, clientSecret,
    })
    if (exchanged.statusCode !== 200) return back('The sign-in could not be completed. Try again.')
    const token = (exchanged.json() as { token: string }).token
    const jwks = (await call('GET', '/.well-known/jwks.json')).json() as JSONWebKeySet
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ['ES256'], audience: DEMO_CLIENT_ID, issuer: opts.mfaIssuer })
      if (payload.token_use !== 'mfa' || payload.sub !== pending.username) return back('The MFA token is not for this user. Sign in again.')
      sessions.set(session.id, { signedIn: { username: pending.username, claims: payload, kid: String(decodeProtectedHeader(token).kid) } })
    } catch {
      return back('The MFA token did not verify. Sign in again.')
    }
    return reply.code(303).header('location', '/demo-app/').send()
  })

  app.post('/demo-app/sign-out', { schema: { hide: true } }, async (req, reply) => {
    const session = sessionOf(req)
    if (session !== undefined) sessions.delete(session.id)
    return reply.code(303).header('location', '/demo-app/').send()
  })
}
export default demoAppPlugin
