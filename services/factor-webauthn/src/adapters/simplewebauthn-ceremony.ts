import { createHash, timingSafeEqual } from 'node:crypto'
import {
  generateAuthenticationOptions, generateRegistrationOptions, SettingsService, verifyAuthenticationResponse,
  verifyRegistrationResponse, type AuthenticationResponseJSON, type RegistrationResponseJSON,
} from '@simplewebauthn/server'
import { decodeAttestationObject, decodeClientDataJSON, parseAuthenticatorData } from '@simplewebauthn/server/helpers'
import type { AssertionCheck, Ceremony, CheckFailure, RegistrationCheck, RelyingParty } from '../ports.js'

/** COSE algorithms offered and accepted: EdDSA, ES256, RS256 (WebAuthn L3 §5.8.3 recommends these). */
export const SUPPORTED_ALGORITHMS = [-8, -7, -257]
const TRANSPORTS = new Set(['usb', 'nfc', 'ble', 'smart-card', 'hybrid', 'internal', 'cable'])
/** Attestation formats whose certificate chain is checked against the configured roots (the others ship theirs). */
const ROOTED_FORMATS = ['packed', 'fido-u2f', 'tpm'] as const
const BASE64URL = /^[A-Za-z0-9_-]*$/

class Refused extends Error {
  constructor (readonly why: CheckFailure) { super(why) }
}

const refuse = (why: CheckFailure): never => { throw new Refused(why) }
const isString = (v: unknown): v is string => typeof v === 'string' && BASE64URL.test(v)

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The common shape of both answers: a public-key credential whose id is its rawId. */
function credentialShape (response: object, fields: readonly string[]): Record<string, string> {
  const r = response as { id?: unknown, rawId?: unknown, type?: unknown, response?: unknown }
  if (!isString(r.id) || r.id.length === 0 || r.id !== r.rawId || r.type !== 'public-key') refuse('malformed')
  const inner = r.response
  if (typeof inner !== 'object' || inner === null) return refuse('malformed')
  const out: Record<string, string> = {}
  for (const f of fields) {
    const v = (inner as Record<string, unknown>)[f]
    if (!isString(v) || v.length === 0) refuse('malformed')
    out[f] = v as string
  }
  return out
}

/**
 * The client data checks, made here rather than left to the library, so each refusal has a
 * category and none depends on a library default: exact type, challenge and origin; and no
 * cross-origin iframe (the library lets `crossOrigin: true` pass when there is no topOrigin).
 */
function checkClientData (encoded: string, type: 'webauthn.create' | 'webauthn.get', challenge: string, rp: RelyingParty): void {
  let data: unknown
  try { data = decodeClientDataJSON(encoded) } catch { refuse('malformed') }
  if (typeof data !== 'object' || data === null) refuse('malformed')
  const c = data as Record<string, unknown>
  if (typeof c.type !== 'string' || typeof c.challenge !== 'string' || typeof c.origin !== 'string') refuse('malformed')
  if (c.type !== type) refuse('type')
  if (!sameBytes(Buffer.from(c.challenge as string, 'utf8'), Buffer.from(challenge, 'utf8'))) refuse('challenge')
  if (c.crossOrigin !== undefined && c.crossOrigin !== false) refuse('cross_origin')
  if (c.topOrigin !== undefined) refuse('cross_origin')
  if (!rp.origins.includes(c.origin as string)) refuse('origin')
}

type Flags = ReturnType<typeof parseAuthenticatorData>

function checkAuthenticatorData (authData: Uint8Array, rp: RelyingParty, requireUserVerification: boolean): Flags {
  let parsed: Flags
  try { parsed = parseAuthenticatorData(new Uint8Array(authData)) } catch { return refuse('malformed') }
  if (!sameBytes(parsed.rpIdHash, createHash('sha256').update(rp.rpId, 'utf8').digest())) refuse('rp_id')
  if (!parsed.flags.up) refuse('user_presence')
  if (requireUserVerification && !parsed.flags.uv) refuse('user_verification')
  // BS without BE is impossible (L3 §6.1.3): a single-device credential cannot be backed up.
  if (parsed.flags.bs && !parsed.flags.be) refuse('backup_flags')
  return parsed
}

function transportsOf (response: object): string[] {
  const t = (response as { response?: { transports?: unknown } }).response?.transports
  return Array.isArray(t) ? [...new Set(t.filter((x): x is string => typeof x === 'string' && TRANSPORTS.has(x)))] : []
}

async function guarded<T extends { ok: boolean }> (run: () => Promise<T>): Promise<T | { ok: false, why: CheckFailure }> {
  try {
    return await run()
  } catch (err) {
    if (err instanceof Refused) return { ok: false, why: err.why }
    throw err
  }
}

export interface SimpleWebauthnOptions {
  /**
   * PEM roots that `packed`, `fido-u2f` and `tpm` attestation chains must lead to, for the
   * `direct` policy. SimpleWebAuthn keeps them process-wide.
   */
  attestationRoots?: readonly string[]
}

/** The ceremonies on @simplewebauthn/server, with Warden's checks around them. */
export function createSimpleWebauthnCeremony (opts: SimpleWebauthnOptions = {}): Ceremony {
  if (opts.attestationRoots !== undefined && opts.attestationRoots.length > 0) {
    for (const identifier of ROOTED_FORMATS) SettingsService.setRootCertificates({ identifier, certificates: [...opts.attestationRoots] })
  }
  return {
    async registrationOptions (rp, input) {
      return generateRegistrationOptions({
        rpName: rp.rpName,
        rpID: rp.rpId,
        userName: input.userName,
        userID: new Uint8Array(Buffer.from(input.userHandle, 'base64url')),
        challenge: new Uint8Array(input.challenge),
        timeout: input.timeoutMs,
        attestationType: input.attestation.conveyance,
        excludeCredentials: input.exclude.map((c) => ({ id: c.credentialId, transports: [...c.transports] })),
        // A passkey where the authenticator can make one, a plain security key where not.
        authenticatorSelection: { residentKey: 'preferred', userVerification: input.userVerification },
        extensions: { credProps: true },
        supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
      })
    },

    async authenticationOptions (rp, input) {
      return generateAuthenticationOptions({
        rpID: rp.rpId,
        challenge: new Uint8Array(input.challenge),
        timeout: input.timeoutMs,
        userVerification: input.userVerification,
        allowCredentials: input.allow.map((c) => ({ id: c.credentialId, transports: [...c.transports] })),
      })
    },

    verifyRegistration: (rp, input) => guarded(async (): Promise<RegistrationCheck> => {
      const { clientDataJSON, attestationObject } = credentialShape(input.response, ['clientDataJSON', 'attestationObject'])
      checkClientData(clientDataJSON as string, 'webauthn.create', input.challenge, rp)
      let fmt: string
      let hasX5c: boolean
      let authData: Uint8Array
      try {
        const decoded = decodeAttestationObject(Buffer.from(attestationObject as string, 'base64url'))
        fmt = decoded.get('fmt')
        hasX5c = decoded.get('attStmt').get('x5c') !== undefined
        authData = decoded.get('authData')
        if (typeof fmt !== 'string' || !(authData instanceof Uint8Array)) return { ok: false, why: 'malformed' }
      } catch {
        return { ok: false, why: 'malformed' }
      }
      const parsed = checkAuthenticatorData(authData, rp, input.requireUserVerification)
      if (!parsed.flags.at || parsed.credentialID === undefined) return { ok: false, why: 'malformed' }
      // The id the client reports must be the one the authenticator made.
      const reported = Buffer.from((input.response as { id: string }).id, 'base64url')
      if (!sameBytes(reported, parsed.credentialID)) return { ok: false, why: 'malformed' }

      let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>
      try {
        result = await verifyRegistrationResponse({
          response: input.response as RegistrationResponseJSON,
          expectedChallenge: input.challenge,
          expectedOrigin: [...rp.origins],
          expectedRPID: [rp.rpId],
          expectedType: 'webauthn.create',
          requireUserPresence: true,
          requireUserVerification: input.requireUserVerification,
          supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
        })
      } catch (err) {
        return { ok: false, why: /\balg\b/i.test((err as Error).message) ? 'algorithm' : 'attestation' }
      }
      if (!result.verified) return { ok: false, why: 'attestation' }
      const info = result.registrationInfo
      return {
        ok: true,
        credentialId: info.credential.id,
        publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
        counter: info.credential.counter,
        transports: transportsOf(input.response),
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        userVerified: info.userVerified,
        aaguid: info.aaguid,
        fmt: info.fmt,
        attested: fmt !== 'none' && hasX5c,
      }
    }),

    verifyAssertion: (rp, input) => guarded(async (): Promise<AssertionCheck> => {
      const { clientDataJSON, authenticatorData } = credentialShape(input.response, ['clientDataJSON', 'authenticatorData', 'signature'])
      if ((input.response as { id: string }).id !== input.credentialId) return { ok: false, why: 'malformed' }
      checkClientData(clientDataJSON as string, 'webauthn.get', input.challenge, rp)
      checkAuthenticatorData(Buffer.from(authenticatorData as string, 'base64url'), rp, input.requireUserVerification)
      let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>
      try {
        result = await verifyAuthenticationResponse({
          response: input.response as AuthenticationResponseJSON,
          expectedChallenge: input.challenge,
          expectedOrigin: [...rp.origins],
          expectedRPID: [rp.rpId],
          expectedType: 'webauthn.get',
          requireUserVerification: input.requireUserVerification,
          // Counter 0 here: the library would judge the signCount before the signature. The service
          // compares it afterwards, so only an authentic assertion can flag a key as cloned.
          credential: { id: input.credentialId, publicKey: new Uint8Array(Buffer.from(input.publicKey, 'base64url')), counter: 0 },
        })
      } catch {
        return { ok: false, why: 'malformed' }
      }
      if (!result.verified) return { ok: false, why: 'signature' }
      const info = result.authenticationInfo
      return { ok: true, counter: info.newCounter, userVerified: info.userVerified, deviceType: info.credentialDeviceType, backedUp: info.credentialBackedUp }
    }),
  }
}
