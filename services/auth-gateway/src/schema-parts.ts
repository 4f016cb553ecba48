import { DescribeResponse } from '@warden/contracts'
import { Type } from 'typebox'
import { ErrorResponse } from './errors.js'

/**
 * REST schema pieces shared by schemas.ts and the factor strategies (src/factors/<name>.ts).
 * schemas.ts builds its unions from the strategies, which import these: so this module imports
 * neither, or the three would form a cycle.
 */

export const EXAMPLE_TXN = 'txn_Q2hhbGxlbmdlSWRFeGFtcGxlVmFsdWVPZjQzQ2hhcnNBQQ'
export const EXAMPLE_TIME = '2026-11-23T09:40:00.000Z'
export const EXAMPLE_JWT = 'eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
export const EXAMPLE_RD = 'rd_UmVtZW1iZXJUb2tlbkV4YW1wbGVWYWx1ZU9mNDNDaGFyc0FB'

/** The error answers every route documents. */
export const errorResponses = {
  '4xx': ErrorResponse,
  '5xx': ErrorResponse,
} as const

export const Jwt = Type.String({ maxLength: 8192, description: 'A compact JWS' })
export const MfaJwt = (description: string) => Type.String({ maxLength: 8192, description })

export const FactorItem = DescribeResponse.properties.items.items

/** An opaque remember-this-device token (256 bits); only its HMAC is stored. */
export const RememberToken = Type.String({ pattern: '^rd_[A-Za-z0-9_-]{43}$', description: 'Remember-this-device token: opaque, 256 bits, rotated on every use. Keep it like a password', examples: [EXAMPLE_RD] })

export const RememberDeviceFlag = Type.Optional(Type.Boolean({ description: 'Remember this device: the answer carries a `rememberToken` (not for step-up, nor when the policy\'s rememberDays is 0)' }))

export const MfaTokenAnswer = MfaJwt('MFA token: ES256, kid at /.well-known/jwks.json, aud = the application, amr per RFC 8176 (+ mfa), acr aal2, auth_time; `action` for a step-up')

/** The challenge answer of a method with nothing to send: the user reads the code from where it is. */
export const NothingToSend = Type.Object({}, { additionalProperties: false, title: 'nothing to send', description: 'Nothing to send: ask for the code' })

export const MfaHeaders = Type.Object({
  'x-mfa-token': Type.Optional(Type.String({ maxLength: 8192, description: 'MFA token, needed once the user has 2FA (step-up, ≤10 min); on enrollment routes an enrollment token also does' })),
})

export const RemoveAnswer = Type.Object({ removed: Type.Boolean({ description: 'false when there was nothing to remove' }) }, { additionalProperties: false, examples: [{ removed: true }] })

// ---- OpenAPI security and notes of the /v1/me routes -------------------------------------------

export const bearer = [{ bearer: [] }]
/** Primary token, plus an MFA token once the user has 2FA. */
export const bearerAndStepUp = [{ bearer: [], mfaToken: [] }, { bearer: [] }]
export const STEP_UP_NOTE = 'Once the user has 2FA this needs an MFA token (acr aal2) no older than the application\'s stepUpMaxAgeSec (default 10 minutes), for the same user and application, issued after the user\'s last reset, disable or first factor, in X-MFA-Token; else 403 STEP_UP_REQUIRED.'
export const ENROLL_NOTE = 'An enrollment token (from enrollment_required, or a permanent-loss recovery) also does here, until the user\'s first factor is confirmed: it adds that factor, and nothing else.'
