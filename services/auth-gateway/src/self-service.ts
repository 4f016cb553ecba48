import { confirmTotp, enrollTotp, removeTotp } from '@warden/contracts'
import type { Clock, Log } from '@warden/service-kit'
import { fail } from './errors.js'
import type { FactorClient } from './factors.js'
import { twoFactorState } from './methods.js'
import type { Principal, Tokens } from './plugins/tokens.js'
import type { ConfirmAnswer, EnrollAnswer, FactorsView } from './schemas.js'

export interface SelfServiceDeps {
  factors: FactorClient
  tokens: Tokens
  clock: Clock
  log: Log
  stepUpMaxAgeSec: number
}

/** The user's own factors: the use cases behind /v1/me. */
export function createSelfService (deps: SelfServiceDeps) {
  const { factors, tokens, clock } = deps

  /** A valid MFA token for this user and application, with a second factor no older than the limit. */
  async function freshStepUp (principal: Principal, mfaToken: string | undefined): Promise<boolean> {
    if (mfaToken === undefined) return false
    const claims = await tokens.verifyMfa(mfaToken)
    if (claims === undefined) return false
    const now = Math.floor(clock.now().getTime() / 1000)
    return claims.sub === principal.sub &&
      claims.aud === principal.clientId &&
      claims.acr === 'aal2' && claims.amr.includes('mfa') &&
      claims.authTime <= now + 60 &&
      now - claims.authTime <= deps.stepUpMaxAgeSec
  }

  return {
    /**
     * SECURITY §1.11: once the user has 2FA, changing factors needs a fresh second factor. Users
     * without 2FA may enroll with the primary token alone. If we cannot tell (a factor did not
     * answer) and no fresh MFA token was sent, the answer is 503, never a pass.
     */
    async requireStepUp (principal: Principal, mfaToken: string | undefined): Promise<void> {
      if (await freshStepUp(principal, mfaToken)) return
      const state = twoFactorState(await factors.describeAll(principal.sub))
      if (state === 'none') return
      if (state === 'unknown') throw fail('UNAVAILABLE', 'cannot tell which factors the user has right now', { retryAfterSec: 5 })
      throw fail('STEP_UP_REQUIRED', 'a second factor verified in the last 10 minutes is required: send its MFA token in X-MFA-Token')
    },

    async listFactors (principal: Principal): Promise<FactorsView> {
      const statuses = await factors.describeAll(principal.sub)
      return {
        twoFactor: twoFactorState(statuses),
        factors: statuses.map((s) => s.available
          ? {
              factor: s.factor,
              available: true,
              enrolled: s.enrolled,
              ...(s.createdAt === undefined ? {} : { createdAt: s.createdAt }),
              ...(s.lockedUntil === undefined ? {} : { lockedUntil: s.lockedUntil }),
              items: s.items,
            }
          : { factor: s.factor, available: false }),
      }
    },

    async enrollTotp (principal: Principal): Promise<EnrollAnswer> {
      return factors.call(enrollTotp, { userId: principal.sub, accountName: principal.accountName })
    },

    async confirmTotp (principal: Principal, input: { enrollmentId: string, code: string }): Promise<ConfirmAnswer> {
      const res = await factors.call(confirmTotp, { userId: principal.sub, enrollmentId: input.enrollmentId, code: input.code })
      if (res.result === 'confirmed') {
        deps.log.info({ factor: 'totp' }, 'factor confirmed')
        return { status: 'confirmed', confirmedAt: res.confirmedAt }
      }
      return res.offsetSec === undefined
        ? { status: 'rejected', reason: res.reason }
        : { status: 'rejected', reason: res.reason, offsetSec: res.offsetSec }
    },

    async removeTotp (principal: Principal): Promise<{ removed: boolean }> {
      return factors.call(removeTotp, { userId: principal.sub })
    },
  }
}

export type SelfService = ReturnType<typeof createSelfService>
