import type { Redis } from 'ioredis'
import { BusError } from '@warden/contracts'
import { failClosed, redisScript } from './redis.js'

/**
 * Idempotency for operations with an effect (SECURITY.md §3: core NATS is at most once). A caller
 * names each attempt with a key; a retry with the same key after a lost reply gets the recorded
 * outcome, never a second evaluation. So a lost reply to a verify that burnt the code cannot turn
 * the retry into "replayed", and a retried wrong guess is not counted twice.
 */
export type LedgerEntry<T> =
  | { state: 'new' }
  | { state: 'pending', fingerprint: string }
  | { state: 'done', fingerprint: string, outcome: T }

export interface OutcomeLedger<T> {
  /**
   * Atomically: the recorded entry of (scope, key), or marks it pending for `fingerprint` (what
   * the attempt was about, e.g. its transaction id; never a secret) and answers `new`.
   */
  begin: (scope: string, key: string, fingerprint: string) => Promise<LedgerEntry<T>>
  /** Records the outcome of a pending attempt. */
  finish: (scope: string, key: string, fingerprint: string, outcome: T) => Promise<void>
  /** Forgets a pending attempt that failed (a fault is not an outcome: a retry evaluates again). */
  abandon: (scope: string, key: string) => Promise<void>
}

/** Which attempt `once()` runs: named, since scope, key and fingerprint are all strings. */
export interface OnceOptions<T> {
  ledger: OutcomeLedger<T>
  /** Whose keys these are (a user id): the same key in another scope is another attempt. */
  scope: string
  /** The caller's idempotency key; without one the attempt simply runs. */
  key: string | undefined
  /** What the attempt is about (e.g. its transaction id; never a secret): a key reused for another is CONFLICT. */
  fingerprint: string
}

/**
 * Runs `attempt` at most once per (scope, key): a repeated key answers the recorded outcome; a
 * key whose first attempt is still running is 503 UNAVAILABLE (retry shortly); a key reused for
 * another `fingerprint` is CONFLICT (a caller's bug, never answered from the record). Without a
 * key it simply runs. Errors are not recorded: they change nothing a retry could not redo.
 */
export async function once<T> ({ ledger, scope, key, fingerprint }: OnceOptions<T>, attempt: () => Promise<T>): Promise<T> {
  if (key === undefined) return attempt()
  const entry = await ledger.begin(scope, key, fingerprint)
  if (entry.state !== 'new') return recordedAnswer(entry, fingerprint)
  return runAndRecord({ ledger, scope, key, fingerprint }, attempt)
}

/** The answer to a key already begun: its recorded outcome, or why there is none. */
export function recordedAnswer<T> (entry: Exclude<LedgerEntry<T>, { state: 'new' }>, fingerprint: string): T {
  if (entry.fingerprint !== fingerprint) throw new BusError('CONFLICT', 'the idempotency key was used for another request')
  if (entry.state === 'pending') throw new BusError('UNAVAILABLE', 'the same attempt is still in progress', { retryAfterSec: 1 })
  return entry.outcome
}

/** Runs the attempt of a key just begun (pending) and records its outcome; a fault forgets the key. */
export async function runAndRecord<T> ({ ledger, scope, key, fingerprint }: OnceOptions<T> & { key: string }, attempt: () => Promise<T>): Promise<T> {
  let outcome: T
  try {
    outcome = await attempt()
  } catch (err) {
    await ledger.abandon(scope, key).catch(() => undefined)
    throw err
  }
  await ledger.finish(scope, key, fingerprint, outcome)
  return outcome
}

// begin_entry(key, ttlMs, pending): the stored value, or nil after storing the pending entry: one
// atomic step, so parallel attempts with one key have one runner. A Lua function so that a script
// merging it with another step runs this very body (admitting-ledger.ts).
export const BEGIN_ENTRY_FN = `
local function begin_entry(key, ttl, pending)
  local v = redis.call('GET', key)
  if v then return v end
  redis.call('SET', key, pending, 'PX', ttl)
  return false
end
`

// KEYS[1] the entry; ARGV ttl ms, the pending entry.
const BEGIN = `${BEGIN_ENTRY_FN}
return begin_entry(KEYS[1], ARGV[1], ARGV[2])`

type Stored<T> = { fingerprint: string, pending: true } | { fingerprint: string, outcome: T }

/** The stored form of a pending entry for `fingerprint`, as begin_entry takes it. */
export const storedPending = (fingerprint: string): string => JSON.stringify({ fingerprint, pending: true } satisfies Stored<never>)

/** The entry a stored value (as begin_entry answers it) stands for. */
export const entryOfStored = <T> (stored: string): LedgerEntry<T> => entryOf(JSON.parse(stored) as Stored<T>)

export const DEFAULT_LEDGER_TTL_MS = 10 * 60_000

/** An entry's key: `{scope}`-tagged, so a cluster keeps a user's keys in one slot. */
export const ledgerKey = (prefix: string, scope: string, key: string): string => `${prefix}:outcome:{${scope}}:${key}`

/**
 * The ledger in Redis: one key per (scope, key), `{scope}` hash-tagged so a cluster keeps a user's
 * keys together. Entries live `ttlMs` (long enough for any retry of the same attempt). Outcomes
 * are stored as given: never put secrets in them. Fails closed (UNAVAILABLE).
 */
export function createRedisOutcomeLedger<T> (redis: Redis, opts: { prefix: string, ttlMs?: number }): OutcomeLedger<T> {
  const ttlMs = opts.ttlMs ?? DEFAULT_LEDGER_TTL_MS
  const k = (scope: string, key: string) => ledgerKey(opts.prefix, scope, key)
  const beginScript = redisScript(redis, BEGIN, 1)
  return {
    begin: (scope, key, fingerprint) => failClosed('the outcome ledger', async () => {
      const v = await beginScript(k(scope, key), ttlMs, storedPending(fingerprint)) as string | null
      return v === null ? { state: 'new' } : entryOfStored<T>(v)
    }),
    finish: (scope, key, fingerprint, outcome) => failClosed('the outcome ledger', async () => {
      const done: Stored<T> = { fingerprint, outcome }
      await redis.set(k(scope, key), JSON.stringify(done), 'PX', ttlMs)
    }),
    abandon: (scope, key) => failClosed('the outcome ledger', async () => { await redis.del(k(scope, key)) }),
  }
}

function entryOf<T> (stored: Stored<T>): LedgerEntry<T> {
  return 'pending' in stored
    ? { state: 'pending', fingerprint: stored.fingerprint }
    : { state: 'done', fingerprint: stored.fingerprint, outcome: stored.outcome }
}

/** The same rules in memory, for unit tests of services. */
export function createMemoryOutcomeLedger<T> (): OutcomeLedger<T> & { entries: Map<string, Stored<T>> } {
  const entries = new Map<string, Stored<T>>()
  const k = (scope: string, key: string) => `${scope}\u0000${key}`
  return {
    entries,
    begin: async (scope, key, fingerprint) => {
      const v = entries.get(k(scope, key))
      if (v === undefined) { entries.set(k(scope, key), { fingerprint, pending: true }); return { state: 'new' } }
      return entryOf(v)
    },
    finish: async (scope, key, fingerprint, outcome) => { entries.set(k(scope, key), { fingerprint, outcome }) },
    abandon: async (scope, key) => { entries.delete(k(scope, key)) },
  }
}
