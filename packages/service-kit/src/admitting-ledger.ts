import type { Redis } from 'ioredis'
import type { AttemptGate } from './attempt-gate.js'
import { redisAttempts, type AttemptLimiter, type AttemptLimits, type BeginResult } from './attempt-limiter.js'
import type { Clock } from './clock.js'
import {
  BEGIN_ENTRY_FN, createMemoryOutcomeLedger, createRedisOutcomeLedger, DEFAULT_LEDGER_TTL_MS, entryOfStored, ledgerKey, recordedAnswer, runAndRecord,
  storedPending, type LedgerEntry, type OutcomeLedger,
} from './outcome-ledger.js'
import { failClosed, redisScript } from './redis.js'

/** A ledger entry, where a new one also carries the count of the attempt it begins. */
export type AdmittedEntry<T> = { state: 'new', admission: BeginResult } | Exclude<LedgerEntry<T>, { state: 'new' }>

/**
 * An outcome ledger whose begin also counts the attempt on the user's attempt counter: the first
 * step of a verify is then one Redis round trip instead of two (bench/FIXES.md §9). The user is
 * the ledger's scope, so the entry and the counter share the `{userId}` hash tag (one cluster slot).
 */
export interface AdmittingLedger<T> extends OutcomeLedger<T> {
  /**
   * Atomically: begin(userId, key, fingerprint) and, only for a `new` entry, the count of the
   * attempt (the attempt limiter's begin). A replayed key (answered from the record) or a pending
   * one counts nothing; a refused count leaves no entry behind (as begin then abandon would).
   */
  beginAdmitted: (userId: string, key: string, fingerprint: string) => Promise<AdmittedEntry<T>>
}

/** Which attempt `onceAdmitted()` runs, and the gate that must admit it first. */
export interface OnceAdmittedOptions<T> {
  ledger: AdmittingLedger<T>
  /** The gate over the same counter as the ledger's: it judges the count and announces a lock. */
  gate: AttemptGate
  /** Whose attempt it is: the ledger's scope and the counter's user. */
  userId: string
  /** The caller's idempotency key; without one the attempt is admitted and runs. */
  key: string | undefined
  /** What the attempt is about (e.g. its transaction id; never a secret): a key reused for another is CONFLICT. */
  fingerprint: string
}

/**
 * `gate.admit(userId)` inside `once()`: the same answers (a repeated key gets the recorded
 * outcome and is not counted again, a pending key is UNAVAILABLE and not counted, a refused
 * attempt is RATE_LIMITED / FACTOR_LOCKED and recorded nowhere), with the ledger's begin and the
 * count made in one round trip.
 */
export async function onceAdmitted<T> ({ ledger, gate, userId, key, fingerprint }: OnceAdmittedOptions<T>, attempt: () => Promise<T>): Promise<T> {
  if (key === undefined) {
    await gate.admit(userId)
    return attempt()
  }
  const entry = await ledger.beginAdmitted(userId, key, fingerprint)
  if (entry.state !== 'new') return recordedAnswer(entry, fingerprint)
  // A refused count left no entry: nothing to abandon.
  await gate.admitCounted(userId, entry.admission)
  return runAndRecord({ ledger, scope: userId, key, fingerprint }, attempt)
}

// KEYS[1] the ledger entry, KEYS[2] the attempt counter; ARGV[1] ledger ttl ms, ARGV[2] the
// pending entry, ARGV[3..9] begin_attempt's arguments. Both bodies are the ones the ledger and the
// limiter run on their own; merged so a verify pays one round trip (and one redis-server wake-up)
// instead of two, with the same outcome as begin, then count, then abandon if refused.
const BEGIN_ADMITTED = `${BEGIN_ENTRY_FN}${redisAttempts.beginFunction}
local v = begin_entry(KEYS[1], ARGV[1], ARGV[2])
if v then return {'entry', v} end
local counted = begin_attempt(KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
if counted[1] ~= 1 then redis.call('DEL', KEYS[1]) end
return {'count', counted[1], counted[2]}`

export interface RedisAdmittingLedgerOptions {
  /** The ledger's key prefix, as createRedisOutcomeLedger takes it. */
  prefix: string
  ttlMs?: number
  /** The attempt counter: the same prefix (`counter`) and limits as the gate's limiter. */
  attempts: { prefix: string, limits: AttemptLimits, clock: Clock }
}

/** The admitting ledger in Redis: createRedisOutcomeLedger's entries, the Redis limiter's counter. Fails closed (UNAVAILABLE). */
export function createRedisAdmittingLedger<T> (redis: Redis, opts: RedisAdmittingLedgerOptions): AdmittingLedger<T> {
  const ttlMs = opts.ttlMs ?? DEFAULT_LEDGER_TTL_MS
  const { attempts } = opts
  const ledger = createRedisOutcomeLedger<T>(redis, { prefix: opts.prefix, ttlMs })
  const beginAdmittedScript = redisScript(redis, BEGIN_ADMITTED, 2)
  return {
    ...ledger,
    beginAdmitted: (userId, key, fingerprint) => failClosed('the outcome ledger', async () => {
      const reply = await beginAdmittedScript(
        ledgerKey(opts.prefix, userId, key), redisAttempts.key(attempts.prefix, userId),
        ttlMs, storedPending(fingerprint), ...redisAttempts.beginArgs(attempts.limits, attempts.clock.now().getTime()),
      ) as ['entry', string] | ['count', number, number]
      if (reply[0] === 'entry') return entryOfStored<T>(reply[1]) as AdmittedEntry<T>
      return { state: 'new', admission: redisAttempts.beginResult([reply[1], reply[2]]) }
    }),
  }
}

/**
 * The same rules in memory, for unit tests of services: the memory ledger's begin, then `limiter`'s
 * count (the gate's limiter), then abandon if refused, exactly the sequence the Redis script merges.
 */
export function createMemoryAdmittingLedger<T> (limiter: AttemptLimiter): AdmittingLedger<T> & Pick<ReturnType<typeof createMemoryOutcomeLedger<T>>, 'entries'> {
  const ledger = createMemoryOutcomeLedger<T>()
  return {
    ...ledger,
    beginAdmitted: async (userId, key, fingerprint) => {
      const entry = await ledger.begin(userId, key, fingerprint)
      if (entry.state !== 'new') return entry
      const admission = await limiter.begin(userId)
      if (!admission.allowed) await ledger.abandon(userId, key)
      return { state: 'new', admission }
    },
  }
}
