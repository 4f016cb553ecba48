import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface SwaggerOptions { version: string, publicUrl?: string | undefined }

/**
 * The OpenAPI document is generated from the route schemas (the reference for every detail of
 * the REST API), served at /openapi.json and rendered at /docs.
 */
async function swaggerPlugin (app: FastifyInstance, opts: SwaggerOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Warden auth-gateway',
        version: opts.version,
        description: [
          'Second-factor sign-in, enrollment and self-service.',
          '',
          'Errors are always `{ "error": { "code", "message", "retryAfterSec"? } }`; 429 and 503 carry `Retry-After`.',
          'Changes under /v1/me need, once the user has 2FA, an MFA token no older than the application\'s stepUpMaxAgeSec (default 10 minutes) in the `X-MFA-Token` header (else 403 STEP_UP_REQUIRED); tokens issued before the user\'s last reset, disable or first factor are refused.',
          'Every /v1 route is rate limited per client IP (counted before authentication); POST /v1/signin/{id}/challenge and /verify also per transaction, and /v1/demo/login per IP: 429 RATE_LIMITED with `Retry-After`. If the limiter cannot reach its store the answer is 503 UNAVAILABLE.',
          'Routes under /v1/admin need a primary token whose `role` claim is `warden:admin` (else 403 FORBIDDEN).',
        ].join('\n'),
      },
      ...(opts.publicUrl === undefined ? {} : { servers: [{ url: opts.publicUrl }] }),
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Primary token from the identity provider (password step passed)' },
          mfaToken: { type: 'apiKey', in: 'header', name: 'X-MFA-Token', description: 'MFA token (step-up) for changes once the user has 2FA' },
        },
      },
      tags: [
        { name: 'signin', description: 'Second factor at sign-in' },
        { name: 'me', description: 'The user\'s own factors' },
        { name: 'hosted flow', description: 'Applications send users to the hosted pages and get them back: pushed request, PKCE, code exchange' },
        { name: 'admin', description: 'Applications, their policies and users\' 2FA (primary token with role warden:admin)' },
        { name: 'demo', description: 'Demo identity provider (DEMO_MODE only)' },
        { name: 'keys', description: 'Public keys of MFA tokens' },
        { name: 'ops', description: 'Health and metrics' },
      ],
    },
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // The demo runs on plain http://127.0.0.1: upgrading requests to https would break the page.
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;/, ''),
  })
}

export default fp(swaggerPlugin, { name: 'swagger' })
