import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose'
import { BusError, type GatewayJwksResponse } from '@warden/contracts'
import { failClosed, type Clock, type KeyRing, type Log } from '@warden/service-kit'
import { StoreConflictError, type Store } from '@warden/store'

/** One ES256 key: kid = RFC 7638 thumbprint. The private part only where it may sign. */
export interface MfaKey { kid: string, publicKey: KeyObject, jwk: JWK, privateKey?: KeyObject }

/**
 * The keys of MFA and enrollment tokens: one signs, the others still verify until every token
 * they signed has expired. Both JWKS answers (HTTP and bus) come from `jwks()`.
 */
export interface MfaSigningKeys {
  /** The key that signs now (a managed ring may rotate here first). */
  signing: () => Promise<MfaKey & { privateKey: KeyObject }>
  /** A key that verifies, by kid (a managed ring reloads once for a kid it does not know yet). */
  find: (kid: string) => Promise<MfaKey | undefined>
  /** The public keys: the signing key first. */
  jwks: () => Promise<GatewayJwksResponse>
}

async function keyOf (publicKey: KeyObject, privateKey?: KeyObject): Promise<MfaKey> {
  const jwk = await exportJWK(publicKey)
  return { kid: await calculateJwkThumbprint(jwk), publicKey, jwk, ...(privateKey === undefined ? {} : { privateKey }) }
}

function isEs256 (key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
}

// P-256 keys only (checked where they come in), so x and y are always there.
const toJwks = (keys: readonly MfaKey[]): GatewayJwksResponse => ({
  keys: keys.map((k) => ({ kty: 'EC' as const, crv: 'P-256' as const, x: k.jwk.x as string, y: k.jwk.y as string, kid: k.kid, alg: 'ES256' as const, use: 'sig' as const })),
})

/**
 * Keys from configuration: MFA_SIGNING_KEY_PEM signs, MFA_PREVIOUS_PUBLIC_KEYS_PEM still verify
 * (the operator rotates). Without a key, one is generated for this process only (demo, tests).
 */
export async function staticMfaKeys (signingPem: string | undefined, previousPem: string | undefined): Promise<MfaSigningKeys> {
  let privateKey: KeyObject
  if (signingPem === undefined) {
    privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  } else {
    privateKey = createPrivateKey(signingPem)
    if (!isEs256(privateKey)) throw new Error('invalid configuration: MFA_SIGNING_KEY_PEM must be an EC P-256 (ES256) PKCS#8 key')
  }
  const current = await keyOf(createPublicKey(privateKey), privateKey) as MfaKey & { privateKey: KeyObject }
  const all: MfaKey[] = [current]
  for (const pem of (previousPem ?? '').match(/-----BEGIN PUBLIC KEY-----[^-]+-----END PUBLIC KEY-----/g) ?? []) {
    let key: KeyObject
    try {
      key = createPublicKey(pem)
    } catch {
      throw new Error('invalid configuration: MFA_PREVIOUS_PUBLIC_KEYS_PEM holds a key that cannot be read')
    }
    if (!isEs256(key)) throw new Error('invalid configuration: MFA_PREVIOUS_PUBLIC_KEYS_PEM must hold EC P-256 (ES256) SPKI public keys')
    const k = await keyOf(key)
    if (!all.some((a) => a.kid === k.kid)) all.push(k)
  }
  const jwks = toJwks(all)
  return {
    signing: async () => current,
    find: async (kid) => all.find((k) => k.kid === kid),
    jwks: async () => jwks,
  }
}

/** What the store holds: newest first; private keys sealed with SECRET_KEYS (AES-256-GCM). */
export interface StoredMfaKey { kid: string, createdAt: string, sealedPrivateKey: string }
export interface StoredMfaKeyRing { keys: StoredMfaKey[] }

export const MFA_KEYS_KEY = ['mfa-signing-keys']
const AAD = 'auth-gateway/mfa-signing-key'

export interface ManagedMfaKeyOptions {
  store: Store<StoredMfaKeyRing>
  secrets: KeyRing
  clock: Clock
  log: Log
  /** A signing key signs for this long, then a new one takes over. */
  rotationMs: number
  /** After it stops signing, a key verifies for this long (the token lifetime plus JWKS caching). */
  retireAfterMs: number
  /** How stale this replica's copy of the ring may get before it is read again. */
  refreshMs?: number
}

/**
 * The managed ring, shared by every replica through the store: the first replica to find the
 * signing key due creates the next one with compare-and-set (the others lose the race, reload and
 * use the winner's), so all replicas sign with one key and serve one JWKS. Times come from the
 * injected clock; nothing runs in the background.
 */
export async function managedMfaKeys (opts: ManagedMfaKeyOptions): Promise<MfaSigningKeys> {
  const { store, secrets, clock, log } = opts
  const refreshMs = opts.refreshMs ?? 60_000
  let cached: { keys: Array<MfaKey & { createdAt: number }>, revision: number | undefined, loadedAt: number } | undefined
  let lastMissReload = 0

  async function open (stored: StoredMfaKeyRing): Promise<Array<MfaKey & { createdAt: number }>> {
    return Promise.all(stored.keys.map(async (s) => {
      let privateKey: KeyObject
      try {
        privateKey = createPrivateKey({ key: secrets.decrypt(s.sealedPrivateKey, AAD), format: 'der', type: 'pkcs8' })
      } catch (cause) {
        throw new Error('cannot read the MFA signing keys: SECRET_KEYS lacks the key they were sealed with', { cause })
      }
      return { ...await keyOf(createPublicKey(privateKey), privateKey), createdAt: Date.parse(s.createdAt) }
    }))
  }

  async function load (): Promise<NonNullable<typeof cached>> {
    const entry = await failClosed('the MFA key store', () => store.get(MFA_KEYS_KEY))
    cached = { keys: entry === undefined ? [] : await open(entry.value), revision: entry?.revision, loadedAt: clock.now().getTime() }
    return cached
  }

  /** Writes the ring with a new signing key (and without retired ones); false if another replica won. */
  async function rotate (ring: NonNullable<typeof cached>, now: number): Promise<boolean> {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const fresh: StoredMfaKey = {
      kid: (await keyOf(createPublicKey(key))).kid,
      createdAt: new Date(now).toISOString(),
      sealedPrivateKey: secrets.encrypt(key.export({ type: 'pkcs8', format: 'der' }), AAD),
    }
    const stored = (await failClosed('the MFA key store', () => store.get(MFA_KEYS_KEY)))?.value.keys ?? []
    // A key retires when its successor starts signing; it verifies retireAfterMs longer.
    const kept = stored.filter((k, i) => {
      const successorSince = i === 0 ? now : Date.parse(stored[i - 1]?.createdAt ?? '')
      return successorSince + opts.retireAfterMs > now
    })
    const next: StoredMfaKeyRing = { keys: [fresh, ...kept] }
    try {
      if (ring.revision === undefined) await store.create(MFA_KEYS_KEY, next)
      else await store.update(MFA_KEYS_KEY, next, ring.revision)
    } catch (err) {
      if (StoreConflictError.is(err)) return false
      // The store is away: current() keeps the keys already held; never a key of this replica's own.
      throw new BusError('UNAVAILABLE', 'the MFA key store is unavailable', { cause: err, retryAfterSec: 5 })
    }
    log.info({ kid: fresh.kid, kept: kept.length }, 'MFA signing key rotated')
    return true
  }

  /** The ring as it should be now: read again when stale, rotated when the signing key is due. */
  async function current (): Promise<NonNullable<typeof cached>> {
    const now = clock.now().getTime()
    try {
      let ring = cached !== undefined && now - cached.loadedAt < refreshMs ? cached : await load()
      for (let i = 0; i < 3; i++) {
        const signer = ring.keys[0]
        if (signer !== undefined && signer.createdAt + opts.rotationMs > now) return ring
        await rotate(ring, now)
        ring = await load()
      }
      if (ring.keys[0] === undefined) throw new Error('the MFA signing key ring could not be written')
      return ring
    } catch (err) {
      // The store is away: the keys this replica already holds stay good (a rotation can wait),
      // and it asks the store again after refreshMs. Without any, it cannot sign: 503.
      if (!BusError.is(err) || err.code !== 'UNAVAILABLE' || cached === undefined || cached.keys[0] === undefined) throw err
      log.warn({ errorCode: err.code }, 'MFA key store unavailable: signing with the keys already loaded')
      cached = { ...cached, loadedAt: now }
      return cached
    }
  }

  const ring = await current()
  log.info({ kid: ring.keys[0]?.kid, keys: ring.keys.length }, 'MFA signing keys loaded (managed, shared through the store)')
  return {
    signing: async () => (await current()).keys[0] as MfaKey & { privateKey: KeyObject },
    find: async (kid) => {
      const known = (await current()).keys.find((k) => k.kid === kid)
      if (known !== undefined) return known
      // Another replica may have rotated a moment ago: look again, at most once a second.
      const now = clock.now().getTime()
      if (now - lastMissReload < 1_000) return undefined
      lastMissReload = now
      return (await load()).keys.find((k) => k.kid === kid)
    },
    jwks: async () => toJwks((await current()).keys),
  }
}
