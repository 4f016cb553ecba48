import { isIP } from 'node:net'
import { AttemptLimitsConfig, FactorServiceConfig, loadConfig } from '@warden/service-kit'
import { Type } from 'typebox'
import type { AttestationPolicy, RelyingParty, WebauthnSettings } from './ports.js'

/** A DNS name in lowercase: no wildcards, no IP literals in brackets. */
const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/

export const WebauthnConfig = Type.Object({
  ...FactorServiceConfig,
  WEBAUTHN_RP_ID: Type.String({
    default: 'localhost', minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$',
    description: 'Relying Party ID: a domain (never an IP address), the same as or a parent of every origin\'s host. Credentials are bound to it for good',
  }),
  WEBAUTHN_RP_NAME: Type.String({ default: 'Warden', minLength: 1, maxLength: 64, description: 'Shown by some authenticators while registering' }),
  WEBAUTHN_ORIGINS: Type.String({
    default: 'http://localhost:8080', minLength: 1, maxLength: 2000,
    description: 'Exact origins the ceremonies may come from, comma-separated (scheme://host[:port], no path). https, or http only for localhost. Compared as whole strings: no wildcards, no suffixes',
  }),
  WEBAUTHN_USER_VERIFICATION: Type.Union([Type.Literal('preferred'), Type.Literal('required')], {
    default: 'preferred', description: 'required: every ceremony needs UV (PIN, biometrics); preferred: only those that ask for it (step-up)',
  }),
  WEBAUTHN_ATTESTATION: Type.Union([Type.Literal('none'), Type.Literal('direct')], {
    default: 'none',
    description: 'none: any authenticator is accepted and its model is not checked. direct: only authenticators whose attestation chains to WEBAUTHN_ATTESTATION_ROOTS (or a root SimpleWebAuthn ships for apple/android-key); `none` and self attestation are refused',
  }),
  WEBAUTHN_ATTESTATION_ROOTS: Type.Optional(Type.String({
    maxLength: 200_000, description: 'PEM root certificates for the direct policy (packed, fido-u2f, tpm chains); required with it',
  })),
  WEBAUTHN_ATTESTATION_AAGUIDS: Type.Optional(Type.String({
    maxLength: 20_000, pattern: '^[0-9a-f-]{36}(,[0-9a-f-]{36})*$',
    description: 'With the direct policy: the only authenticator models (AAGUIDs, comma-separated) accepted',
  })),
  WEBAUTHN_CHALLENGE_TTL_SEC: Type.Integer({
    minimum: 30, maximum: 600, default: 300, description: 'Life of a challenge, and the ceremony timeout given to the browser (WebAuthn L3 recommends 300-600 s)',
  }),
  WEBAUTHN_MAX_CREDENTIALS: Type.Integer({ minimum: 1, maximum: 50, default: 10, description: 'Security keys and passkeys per user' }),
  ...AttemptLimitsConfig('WEBAUTHN'),
})
export type WebauthnConfig = Type.Static<typeof WebauthnConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadWebauthnConfig (env: Record<string, string | undefined> = process.env): Readonly<WebauthnConfig> {
  const config = loadConfig(WebauthnConfig, env)
  relyingParty(config)
  attestationPolicy(config)
  return config
}

/**
 * The RP ID and the exact origin allow-list, checked once at start: each origin is in canonical
 * form, secure (https, or http on localhost, which browsers treat as secure), and its host is the
 * RP ID or a subdomain of it, as browsers require (L3 §5.1.3 step 7, §5.1.4.1 step 7).
 */
export function relyingParty (config: Pick<WebauthnConfig, 'WEBAUTHN_RP_ID' | 'WEBAUTHN_RP_NAME' | 'WEBAUTHN_ORIGINS'>): RelyingParty {
  const rpId = config.WEBAUTHN_RP_ID
  if (isIP(rpId) !== 0) throw new Error('invalid configuration: WEBAUTHN_RP_ID: must be a domain, not an IP address')
  const origins = config.WEBAUTHN_ORIGINS.split(',').map((o) => o.trim())
  for (const origin of origins) {
    let url: URL
    try { url = new URL(origin) } catch { throw new Error('invalid configuration: WEBAUTHN_ORIGINS: an entry is not a URL') }
    if (url.origin !== origin || !HOSTNAME.test(url.hostname)) throw new Error('invalid configuration: WEBAUTHN_ORIGINS: write each origin as scheme://host[:port], lowercase, without path or trailing slash')
    const localhost = url.hostname === 'localhost' || url.hostname.endsWith('.localhost')
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && localhost)) {
      throw new Error('invalid configuration: WEBAUTHN_ORIGINS: https only (http is allowed for localhost)')
    }
    if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
      throw new Error('invalid configuration: WEBAUTHN_ORIGINS: every origin\'s host must be WEBAUTHN_RP_ID or a subdomain of it')
    }
  }
  return { rpId, rpName: config.WEBAUTHN_RP_NAME, origins: [...new Set(origins)] }
}

export function attestationPolicy (config: Pick<WebauthnConfig, 'WEBAUTHN_ATTESTATION' | 'WEBAUTHN_ATTESTATION_AAGUIDS' | 'WEBAUTHN_ATTESTATION_ROOTS'>): AttestationPolicy {
  if (config.WEBAUTHN_ATTESTATION === 'none') return { conveyance: 'none' }
  if (attestationRoots(config).length === 0) {
    throw new Error('invalid configuration: WEBAUTHN_ATTESTATION_ROOTS: the direct policy needs the root certificates it trusts')
  }
  const aaguids = config.WEBAUTHN_ATTESTATION_AAGUIDS?.split(',')
  return aaguids === undefined ? { conveyance: 'direct' } : { conveyance: 'direct', aaguids }
}

/** The PEM certificates of WEBAUTHN_ATTESTATION_ROOTS, one string each. */
export function attestationRoots (config: Pick<WebauthnConfig, 'WEBAUTHN_ATTESTATION_ROOTS'>): string[] {
  return config.WEBAUTHN_ATTESTATION_ROOTS?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
}

export function webauthnSettings (config: Readonly<WebauthnConfig>): WebauthnSettings {
  return {
    rp: relyingParty(config),
    userVerification: config.WEBAUTHN_USER_VERIFICATION,
    attestation: attestationPolicy(config),
    challengeTtlMs: config.WEBAUTHN_CHALLENGE_TTL_SEC * 1000,
    maxCredentials: config.WEBAUTHN_MAX_CREDENTIALS,
  }
}
