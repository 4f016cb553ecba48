import { FACTORS, type FactorName } from '@warden/contracts'
import { pushStrategy } from './push.js'
import { recoveryStrategy } from './recovery.js'
import { smsStrategy } from './sms.js'
import type { FactorStrategy } from './strategy.js'
import { totpStrategy } from './totp.js'
import { webauthnStrategy } from './webauthn.js'

/**
 * The gateway's strategy of every factor. A new factor is a strategy file beside this one and its
 * line here; the compiler asks for it as soon as contracts' FACTORS lists the factor.
 */
export const STRATEGIES = {
  push: pushStrategy,
  webauthn: webauthnStrategy,
  totp: totpStrategy,
  sms: smsStrategy,
  recovery: recoveryStrategy,
} satisfies { readonly [N in FactorName]: FactorStrategy<N> }

export type Strategies = { readonly [N in FactorName]: FactorStrategy<N> }

/** The strategies in the seeds' order of preference (contracts' FACTORS). */
export const STRATEGY_LIST: readonly FactorStrategy[] = FACTORS.map((f) => STRATEGIES[f.name] as FactorStrategy)

/**
 * The methods a user without 2FA can enroll through /v1/me (the strategies with self-service
 * routes), in preference order: the `steps` of enrollment_required.
 */
export const ENROLLABLE: readonly FactorName[] = STRATEGY_LIST.filter((s) => s.selfService !== undefined).map((s) => s.factor.name)

export type { FactorStrategy } from './strategy.js'
