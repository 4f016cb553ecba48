import { createHmac } from 'node:crypto'
import type { FactorName } from '@warden/contracts'

/**
 * The idempotency key of one verify attempt, sent to the factor (SECURITY.md §3). `answer` is what
 * the user answered, as the method's strategy spells it (`attemptAnswer`): the code, the
 * assertion, the code with its mode.
 */
export type AttemptKey = (flowId: string, method: FactorName, answer: string) => string

/**
 * The same (transaction, method, answer) always gives the same key, on every replica: the
 * gateway's own retry after a lost reply, and the user's retry of the same code after a 503, are
 * both answered from the factor's record of the first attempt instead of being a second attempt
 * that would find the code used. A different code, or another transaction, is another key.
 *
 * It is an HMAC under a key derived from the gateway's secret, so the key says nothing about the
 * code it names (a bare hash of a 6-digit code would be read back in a million tries).
 */
export function createAttemptKeys (secret: Uint8Array): AttemptKey {
  const key = createHmac('sha256', secret).update('warden/attempt-key/v1').digest()
  return (flowId, method, answer) =>
    createHmac('sha256', key).update([flowId, method, answer].join('\n')).digest('base64url').slice(0, 22)
}
