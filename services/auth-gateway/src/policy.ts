/**
 * Per-application 2FA policy, and decideSignin(): the pure decision table. The policies are stored
 * in the application record (adapters/application-store.ts).
 */

/** Per-application 2FA policy (ARCHITECTURE.md §3), keyed by the primary token's `azp`. */
export type PolicyMode = 'required' | 'adaptive' | 'off'

export interface Policy {
  mode: PolicyMode
  /** How long a remembered device may skip 2FA for this application; 0 = never. */
  rememberDays: number
  /** How recent a step-up must be for this application's actions. */
  stepUpMaxAgeSec: number
}

/** What a sign-in should do, decided from facts gathered beforehand. Pure: no I/O, no clock. */
export type SigninDecision =
  | { status: 'challenge', why: 'step_up' | 'policy' | 'new_network' | 'recent_failures' | 'device_not_remembered' | 'first_signin' }
  | { status: 'skipped' }
  | { status: 'not_required' }
  | { status: 'enrollment_required' }

export interface SigninFacts {
  purpose: 'signin' | 'step-up'
  policy: Policy
  /** The user has at least one usable factor (2FA enabled). */
  has2fa: boolean
  /** A remember-device token was presented and is valid within the policy's rememberDays. */
  rememberedDevice: boolean
  /** This network was seen at one of the user's recent successful sign-ins. */
  knownNetwork: boolean
  /** The user has never completed a sign-in here. */
  firstSignin: boolean
  /** Failed second-factor attempts in the recent window. */
  recentFailures: boolean
}

/**
 * The decision table:
 * - step-up always asks for a factor (a remembered device never satisfies it); without a
 *   factor the user must enroll first;
 * - a policy never switches a user's own 2FA off: with 2FA, `off` and `required` ask unless the
 *   device is remembered;
 * - `adaptive` with 2FA asks unless the device is remembered AND the network is known AND there
 *   were no recent failures (the first sign-in always counts as new);
 * - without 2FA: `required` demands enrollment, `adaptive` and `off` let the user through.
 */
export function decideSignin (f: SigninFacts): SigninDecision {
  if (f.purpose === 'step-up') return f.has2fa ? { status: 'challenge', why: 'step_up' } : { status: 'enrollment_required' }
  if (!f.has2fa) return f.policy.mode === 'required' ? { status: 'enrollment_required' } : { status: 'not_required' }
  if (f.policy.mode === 'adaptive') {
    if (!f.rememberedDevice) return { status: 'challenge', why: 'device_not_remembered' }
    if (f.firstSignin) return { status: 'challenge', why: 'first_signin' }
    if (!f.knownNetwork) return { status: 'challenge', why: 'new_network' }
    if (f.recentFailures) return { status: 'challenge', why: 'recent_failures' }
    return { status: 'skipped' }
  }
  return f.rememberedDevice ? { status: 'skipped' } : { status: 'challenge', why: 'policy' }
}
