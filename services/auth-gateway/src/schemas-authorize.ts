import { Type } from 'typebox'
import { SECRET_HASH_PATTERN } from './applications.js'
import { Action } from './schemas.js'
import { EXAMPLE_JWT, EXAMPLE_TIME } from './schema-parts.js'
import { PolicyBody, PolicyView } from './schemas-admin.js'

/**
 * REST schemas of the hosted flow (/v1/authorize, /v1/token) and of /v1/admin/applications. As
 * elsewhere: bodies refuse unknown properties and nothing is coerced.
 */

const EXAMPLE_CLIENT = 'payroll'
const EXAMPLE_REDIRECT = 'https://payroll.example.com/auth/callback'
const EXAMPLE_HANDLE = 'urn:warden:request:UmVxdWVzdEhhbmRsZUV4YW1wbGVWYWx1ZU9mNDNDaGF'
const EXAMPLE_CODE = 'Q29kZUV4YW1wbGVWYWx1ZU9mRm9ydHlUaHJlZUNoYXJ'
const EXAMPLE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
const EXAMPLE_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
const EXAMPLE_SECRET_HASH = 'sha256:OI3-0D82kq7FQTgY8K47f8Tecfz_CI461yz6_4ytc_U' // of 's3cr3t-from-your-vault'

const ClientId = Type.String({ pattern: '^[\\x21-\\x7E]{1,200}$', description: 'The application (`azp` of its users\' primary tokens)', examples: [EXAMPLE_CLIENT] })
const ClientSecret = Type.String({ minLength: 1, maxLength: 512, description: 'Confidential clients only: the secret whose hash is registered' })
const RedirectUri = Type.String({ minLength: 1, maxLength: 2000, description: 'Exactly one of the registered redirect URIs (no wildcard, no prefix match)', examples: [EXAMPLE_REDIRECT] })
const RequestUri = Type.String({ pattern: '^urn:warden:request:[A-Za-z0-9_-]{43}$', description: 'The single-use handle of a pushed request', examples: [EXAMPLE_HANDLE] })

// ---- POST /v1/authorize --------------------------------------------------------------------------

export const AuthorizeBody = Type.Object({
  clientId: ClientId,
  clientSecret: Type.Optional(ClientSecret),
  redirectUri: RedirectUri,
  state: Type.String({ pattern: '^[\\x21-\\x7E]{1,512}$', description: 'Opaque to Warden; handed back on the redirect (CSRF protection of your callback)' }),
  codeChallenge: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'PKCE: BASE64URL(SHA-256(codeVerifier)) (RFC 7636)' }),
  codeChallengeMethod: Type.Literal('S256', { description: 'Only S256 (plain is refused)' }),
  purpose: Type.Optional(Type.Enum(['signin', 'step-up'], { description: 'Default signin; step-up needs action' })),
  action: Type.Optional(Action),
}, {
  additionalProperties: false,
  description: 'Pushed by the application\'s backend with the user\'s primary token (RFC 9126 style)',
  examples: [
    { clientId: EXAMPLE_CLIENT, clientSecret: 's3cr3t-from-your-vault', redirectUri: EXAMPLE_REDIRECT, state: 'af0ifjsldkj', codeChallenge: EXAMPLE_CHALLENGE, codeChallengeMethod: 'S256' },
    { clientId: 'payroll-spa', redirectUri: 'https://payroll.example.com/spa/cb', state: 'x1', codeChallenge: EXAMPLE_CHALLENGE, codeChallengeMethod: 'S256', purpose: 'step-up', action: 'change-bank-details' },
  ],
})
export type AuthorizeBody = Type.Static<typeof AuthorizeBody>

export const AuthorizeAnswer = Type.Object({
  requestUri: RequestUri,
  url: Type.String({ description: 'Send the browser here (a page under /ui/; it carries no token)' }),
  expiresIn: Type.Integer({ description: 'Seconds the handle stays usable (single use)' }),
}, {
  additionalProperties: false,
  examples: [{ requestUri: EXAMPLE_HANDLE, url: `https://warden.example.com/ui/?request_uri=${encodeURIComponent(EXAMPLE_HANDLE)}`, expiresIn: 300 }],
})

// ---- the hosted page ---------------------------------------------------------------------------

export const SessionBody = Type.Object({ requestUri: RequestUri }, {
  additionalProperties: false,
  description: 'The hosted page spends the handle of its URL',
  examples: [{ requestUri: EXAMPLE_HANDLE }],
})

export const SessionAnswer = Type.Object({
  clientName: Type.String({ description: 'What the page shows: "Sign in to Payroll"' }),
  accountName: Type.String({ description: 'The user, as the primary token names them (what the authenticator app shows)' }),
  purpose: Type.Enum(['signin', 'step-up']),
  action: Type.Optional(Type.String()),
  expiresAt: Type.String({ format: 'date-time' }),
}, {
  additionalProperties: false,
  description: 'The hosted session is set as an HttpOnly __Host- cookie; the sign-in API (/v1/signin) then takes it instead of a primary token',
  examples: [{ clientName: 'Payroll', accountName: 'alice', purpose: 'signin', expiresAt: EXAMPLE_TIME }],
})

export const CompleteBody = Type.Object({}, { additionalProperties: false, description: 'No body, or {}', examples: [{}] })

export const CancelBody = Type.Object({
  error: Type.Optional(Type.Enum(['access_denied', 'temporarily_unavailable', 'server_error'], { description: 'RFC 6749 §4.1.2.1; default access_denied' })),
}, { additionalProperties: false, examples: [{}, { error: 'temporarily_unavailable' }] })

export const RedirectAnswer = Type.Object({
  redirectTo: Type.String({ description: 'The registered redirect URI with code and state (or error and state)' }),
}, {
  additionalProperties: false,
  examples: [{ redirectTo: `${EXAMPLE_REDIRECT}?code=${EXAMPLE_CODE}&state=af0ifjsldkj` }, { redirectTo: `${EXAMPLE_REDIRECT}?error=access_denied&state=af0ifjsldkj` }],
})

// ---- POST /v1/token ----------------------------------------------------------------------------

export const TokenBody = Type.Object({
  grantType: Type.Literal('authorization_code'),
  code: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'From the redirect; single use, 60 s' }),
  redirectUri: RedirectUri,
  codeVerifier: Type.String({ pattern: '^[A-Za-z0-9._~-]{43,128}$', description: 'PKCE (RFC 7636 §4.1)' }),
  clientId: ClientId,
  clientSecret: Type.Optional(ClientSecret),
}, {
  additionalProperties: false,
  description: 'The code exchange, from the application\'s backend',
  examples: [{ grantType: 'authorization_code', code: EXAMPLE_CODE, redirectUri: EXAMPLE_REDIRECT, codeVerifier: EXAMPLE_VERIFIER, clientId: EXAMPLE_CLIENT, clientSecret: 's3cr3t-from-your-vault' }],
})
export type TokenBody = Type.Static<typeof TokenBody>

export const TokenAnswer = Type.Object({
  token: Type.String({ description: 'The MFA token (ES256; verify with /.well-known/jwks.json, e.g. with packages/step-up)' }),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Seconds left' }),
}, { additionalProperties: false, examples: [{ token: EXAMPLE_JWT, tokenType: 'Bearer', expiresIn: 897 }] })

// ---- /v1/admin/applications ---------------------------------------------------------------------

export const ApplicationBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\x00-\\x1F\\x7F]+$', description: 'Shown to users: "Sign in to Payroll"' }),
  redirectUris: Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), { minItems: 1, maxItems: 20, description: 'Exact URIs: https only (http://localhost and 127.0.0.1 in demo mode), no fragment' }),
  policy: Type.Optional(PolicyBody),
  clientSecretHash: Type.Optional(Type.String({ pattern: SECRET_HASH_PATTERN, description: 'Confidential client: sha256: + base64url(SHA-256(secret)); the secret itself is never sent' })),
  publicClient: Type.Optional(Type.Boolean({ description: 'true for a client without a secret (PKCE binds its codes); exactly one of this and clientSecretHash' })),
}, {
  additionalProperties: false,
  description: 'Replaces the registration. With `policy` it also replaces the policy (absent fields take the defaults); without, the stored policy stays',
  examples: [
    { name: 'Payroll', redirectUris: [EXAMPLE_REDIRECT], clientSecretHash: EXAMPLE_SECRET_HASH, policy: { mode: 'required' } },
    { name: 'Payroll (SPA)', redirectUris: ['https://payroll.example.com/spa/cb'], publicClient: true },
  ],
})
export type ApplicationBody = Type.Static<typeof ApplicationBody>

const { clientId: _c, isDefault: _d, ...policyFields } = PolicyView.properties
export const ApplicationView = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  redirectUris: Type.Array(Type.String()),
  publicClient: Type.Boolean(),
  hasClientSecret: Type.Boolean({ description: 'A secret hash is registered (never answered)' }),
  policy: Type.Optional(Type.Object(policyFields, { additionalProperties: false })),
}, {
  additionalProperties: false,
  examples: [{ clientId: EXAMPLE_CLIENT, name: 'Payroll', redirectUris: [EXAMPLE_REDIRECT], publicClient: false, hasClientSecret: true, policy: { mode: 'required', rememberDays: 30, stepUpMaxAgeSec: 600 } }],
})

export const RemovedAnswer = Type.Object({ removed: Type.Boolean() }, { additionalProperties: false, examples: [{ removed: true }] })
