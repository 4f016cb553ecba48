import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

/**
 * A software WebAuthn authenticator for tests: P-256 keys from node:crypto, `none` attestation,
 * ES256 (DER) assertions, and knobs to misbehave the ways attackers and broken clients do:
 * tamper with what was signed, replay, clone a key (two copies with one counter history), set the
 * UV/BE/BS flags, and claim another origin, type, RP ID or a cross-origin iframe.
 *
 * It speaks the JSON forms of the WebAuthn API (what @simplewebauthn/browser sends), typed here
 * structurally so the kit needs no WebAuthn library of its own.
 */

// ---- the JSON shapes (WebAuthn L3 §5.1.8, §5.4.5) -------------------------------------------------

export interface CredentialDescriptorJSON { id: string, type: string, transports?: string[] | undefined }

/** What `generateRegistrationOptions()` answers (the fields this authenticator reads). */
export interface CreationOptionsJSON {
  challenge: string
  rp: { id?: string | undefined, name: string }
  user: { id: string, name: string, displayName: string }
  excludeCredentials?: CredentialDescriptorJSON[] | undefined
  authenticatorSelection?: { residentKey?: string | undefined, requireResidentKey?: boolean | undefined, userVerification?: string | undefined } | undefined
  attestation?: string | undefined
}

/** What `generateAuthenticationOptions()` answers (the fields this authenticator reads). */
export interface RequestOptionsJSON {
  challenge: string
  rpId?: string | undefined
  allowCredentials?: CredentialDescriptorJSON[] | undefined
  userVerification?: string | undefined
}

export interface RegistrationResponseJSON {
  id: string
  rawId: string
  type: 'public-key'
  authenticatorAttachment?: 'platform' | 'cross-platform'
  clientExtensionResults: { credProps?: { rk: boolean } }
  response: { clientDataJSON: string, attestationObject: string, transports?: string[] }
}

export interface AuthenticationResponseJSON {
  id: string
  rawId: string
  type: 'public-key'
  authenticatorAttachment?: 'platform' | 'cross-platform'
  clientExtensionResults: Record<string, never>
  response: { clientDataJSON: string, authenticatorData: string, signature: string, userHandle?: string }
}

// ---- knobs -------------------------------------------------------------------------------------------

/** The kind of authenticator, which decides its defaults. */
export type AuthenticatorKind =
  /** A roaming FIDO2 key: device-bound (BE=0), counts its signatures, not discoverable unless asked. */
  | 'security-key'
  /** A synced passkey (password manager, platform): discoverable, backed up (BE=1, BS=1), counter always 0. */
  | 'passkey'

export interface SoftAuthenticatorOptions {
  /** The origin the "browser" reports in clientDataJSON, e.g. `http://localhost:8080`. */
  origin: string
  kind?: AuthenticatorKind
  /** Whether it verifies the user (PIN, biometrics): sets UV. Default true. */
  userVerification?: boolean
  /** Creates discoverable (resident) credentials. Default: true for a passkey, else as the options ask (`required`/`preferred`). */
  residentKey?: boolean
}

/** Per-ceremony misbehaviour. Everything defaults to what an honest browser and authenticator do. */
export interface ClientOverrides {
  origin?: string
  type?: string
  crossOrigin?: boolean
  topOrigin?: string
  /** Replaces the challenge the client echoes. */
  challenge?: string
  /** Hashes another RP ID into authenticatorData. */
  rpId?: string
  up?: boolean
  uv?: boolean
  be?: boolean
  bs?: boolean
}

export interface CreateOverrides extends ClientOverrides {
  /** The new credential's id (to register one id twice, or one longer than 1023 bytes). */
  credentialId?: Uint8Array
  /** Creates even if a credential of this authenticator is in excludeCredentials (as a broken client might). */
  ignoreExclude?: boolean
  /** The `id`/`rawId` the client reports, if not the credential's own. */
  reportedId?: string
}

export type TamperTarget = 'authenticatorData' | 'clientDataJSON' | 'signature'

export interface GetOverrides extends ClientOverrides {
  /** Which of its credentials answers (base64url id); otherwise the first one the options allow. */
  credentialId?: string
  /** The signCount to report instead of the next one (a clone reusing a counter). */
  counter?: number
  /** Changes the named part after it was signed. */
  tamper?: TamperTarget
  /** The userHandle to report, or null to omit it; by default a discoverable credential reports its own. */
  userHandle?: string | null
}

/** Thrown like the browser's DOMException: `InvalidStateError` (excluded), `NotAllowedError` (no credential). */
export class AuthenticatorError extends Error {
  constructor (readonly domName: 'InvalidStateError' | 'NotAllowedError', message: string) {
    super(message)
    this.name = domName
  }
}

// ---- CBOR (RFC 8949), just enough for a COSE key and a `none` attestation object ------------------

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>

function head (major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n])
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n])
  if (n < 0x10000) { const b = Buffer.alloc(3); b[0] = (major << 5) | 25; b.writeUInt16BE(n, 1); return b }
  const b = Buffer.alloc(5); b[0] = (major << 5) | 26; b.writeUInt32BE(n, 1); return b
}

function cbor (v: Cbor): Buffer {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v)
  if (typeof v === 'string') { const s = Buffer.from(v, 'utf8'); return Buffer.concat([head(3, s.length), s]) }
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), Buffer.from(v)])
  const parts = [head(5, v.size)]
  for (const [k, x] of v) parts.push(cbor(k), cbor(x))
  return Buffer.concat(parts)
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest()

const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const

interface SoftCredential {
  readonly id: Buffer
  readonly privateKey: KeyObject
  readonly rpId: string
  readonly userHandle: string
  readonly discoverable: boolean
  counter: number
}

export interface SoftAuthenticator {
  readonly kind: AuthenticatorKind
  /** navigator.credentials.create(): a new credential, answered with `none` attestation. */
  create: (options: CreationOptionsJSON, overrides?: CreateOverrides) => RegistrationResponseJSON
  /** navigator.credentials.get(): an ES256 assertion by one of its credentials. */
  get: (options: RequestOptionsJSON, overrides?: GetOverrides) => AuthenticationResponseJSON
  /** The last assertion, byte for byte, to send again. */
  replay: () => AuthenticationResponseJSON
  /** A second authenticator holding copies of the same keys and counters: each copy then counts on its own. */
  clone: () => SoftAuthenticator
  /** The base64url ids of its credentials, oldest first. */
  credentialIds: () => string[]
  /** The signCount a credential has reached. */
  counterOf: (credentialId: string) => number
}

/** A software authenticator; see {@link SoftAuthenticatorOptions} and the per-call overrides. */
export function createSoftAuthenticator (opts: SoftAuthenticatorOptions): SoftAuthenticator {
  return build(opts, [])
}

function build (opts: SoftAuthenticatorOptions, credentials: SoftCredential[]): SoftAuthenticator {
  const kind = opts.kind ?? 'security-key'
  const synced = kind === 'passkey'
  const attachment = synced ? 'platform' : 'cross-platform'
  const transports = synced ? ['hybrid', 'internal'] : ['usb']
  let last: AuthenticationResponseJSON | undefined

  function flags (o: ClientOverrides, extra: number): number {
    let f = extra
    if (o.up ?? true) f |= FLAG.UP
    if (o.uv ?? opts.userVerification ?? true) f |= FLAG.UV
    if (o.be ?? synced) f |= FLAG.BE
    if (o.bs ?? synced) f |= FLAG.BS
    return f
  }

  function clientData (type: string, challenge: string, o: ClientOverrides): Buffer {
    return Buffer.from(JSON.stringify({
      type: o.type ?? type,
      challenge: o.challenge ?? challenge,
      origin: o.origin ?? opts.origin,
      crossOrigin: o.crossOrigin ?? false,
      ...(o.topOrigin === undefined ? {} : { topOrigin: o.topOrigin }),
    }))
  }

  function counterBytes (n: number): Buffer {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n >>> 0)
    return b
  }

  return {
    kind,

    create (options, o = {}) {
      const rpId = options.rp.id ?? new URL(opts.origin).hostname
      const excluded = new Set((options.excludeCredentials ?? []).map((c) => c.id))
      if (o.ignoreExclude !== true && credentials.some((c) => c.rpId === rpId && excluded.has(b64u(c.id)))) {
        throw new AuthenticatorError('InvalidStateError', 'this authenticator already holds an excluded credential')
      }
      const wanted = options.authenticatorSelection?.residentKey
      const discoverable = opts.residentKey ?? (synced || wanted === 'required' || wanted === 'preferred' || options.authenticatorSelection?.requireResidentKey === true)
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const jwk = publicKey.export({ format: 'jwk' })
      const cose = cbor(new Map<Cbor, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x ?? '', 'base64url')],
        [-3, Buffer.from(jwk.y ?? '', 'base64url')],
      ]))
      const id = Buffer.from(o.credentialId ?? randomBytes(32))
      const idLength = Buffer.alloc(2)
      idLength.writeUInt16BE(id.length)
      const authData = Buffer.concat([
        sha256(o.rpId ?? rpId), Buffer.from([flags(o, FLAG.AT)]), counterBytes(0),
        Buffer.alloc(16), // AAGUID: zeros, as with `none` attestation
        idLength, id, cose,
      ])
      credentials.push({ id, privateKey, rpId, userHandle: options.user.id, discoverable, counter: 0 })
      const attestationObject = cbor(new Map<Cbor, Cbor>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]))
      const reported = o.reportedId ?? b64u(id)
      return {
        id: reported,
        rawId: reported,
        type: 'public-key',
        authenticatorAttachment: attachment,
        clientExtensionResults: { credProps: { rk: discoverable } },
        response: { clientDataJSON: b64u(clientData('webauthn.create', options.challenge, o)), attestationObject: b64u(attestationObject), transports },
      }
    },

    get (options, o = {}) {
      const rpId = options.rpId ?? new URL(opts.origin).hostname
      const allowed = new Set((options.allowCredentials ?? []).map((c) => c.id))
      const cred = o.credentialId === undefined
        ? credentials.find((c) => c.rpId === rpId && (allowed.size === 0 ? c.discoverable : allowed.has(b64u(c.id))))
        : credentials.find((c) => b64u(c.id) === o.credentialId)
      if (cred === undefined) throw new AuthenticatorError('NotAllowedError', 'no credential of this authenticator fits the options')
      // A synced passkey keeps no counter (always 0); a security key counts every signature.
      if (!synced) cred.counter += 1
      const counter = o.counter ?? cred.counter
      const authData = Buffer.concat([sha256(o.rpId ?? rpId), Buffer.from([flags(o, 0)]), counterBytes(counter)])
      let clientDataJSON = clientData('webauthn.get', options.challenge, o)
      const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.privateKey)
      switch (o.tamper) {
        case 'authenticatorData': authData[32] = (authData[32] ?? 0) ^ FLAG.BS ^ FLAG.BE; break // the backup flags, after signing
        case 'signature': signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 1; break
        case 'clientDataJSON': {
          // Same challenge, origin and type: only the signature can tell it was changed.
          const parsed = JSON.parse(clientDataJSON.toString('utf8')) as Record<string, unknown>
          clientDataJSON = Buffer.from(JSON.stringify({ ...parsed, crossOrigin: false, extra: 'changed after signing' }))
          break
        }
        case undefined: break
      }
      const userHandle = o.userHandle === undefined ? (cred.discoverable ? cred.userHandle : undefined) : (o.userHandle ?? undefined)
      last = {
        id: b64u(cred.id),
        rawId: b64u(cred.id),
        type: 'public-key',
        authenticatorAttachment: attachment,
        clientExtensionResults: {},
        response: {
          clientDataJSON: b64u(clientDataJSON),
          authenticatorData: b64u(authData),
          signature: b64u(signature),
          ...(userHandle === undefined ? {} : { userHandle }),
        },
      }
      return structuredClone(last)
    },

    replay () {
      if (last === undefined) throw new Error('nothing to replay: no assertion was made yet')
      return structuredClone(last)
    },

    clone () {
      return build(opts, credentials.map((c) => ({ ...c })))
    },

    credentialIds: () => credentials.map((c) => b64u(c.id)),

    counterOf (credentialId) {
      const c = credentials.find((x) => b64u(x.id) === credentialId)
      if (c === undefined) throw new Error('no such credential')
      return c.counter
    },
  }
}
