import { failClosed, type Clock, type Log } from '@warden/service-kit'
import { fail } from './errors.js'
import type { FactorClient } from './factor-client.js'
import { twoFactorState } from './methods.js'
import type { Principal, Tokens } from './plugins/tokens.js'
import type { PolicyStore, RememberDeviceStore, Revocation, UserReset } from './ports.js'
import { isCurrent } from './revocation.js'
import type { FactorsView } from './schemas.js'

export interface SelfServiceDeps {
  factors: FactorClient
  tokens: Tokens
  rememberedDevices: RememberDeviceStore
  resetUser: UserReset
  /** The application's stepUpMaxAgeSec (STEP_UP_MAX_AGE_SEC when it has no policy of its own). */
  policies: PolicyStore
  revocation: Revocation
  clock: Clock
  log: Log
}

/** What may prove a step-up on a route: an MFA token always; an enrollment token on the routes that add a factor. */
export type StepUpProof = 'mfa' | 'mfa-or-enrollment'

/**
 * What let a change through: a fresh MFA token, an enrollment token, or nothing because the user
 * has no 2FA. Anything but `mfa` makes a binding the user's first factor (factor-changes.ts).
 */
export type StepUpShown = 'mfa' | 'enrollment' | 'none'

/**
 * The user's own factors: the use cases behind /v1/me that concern every factor. Each factor's own
 * routes (enroll, confirm, remove...) are in its strategy (src/factors/<name>.ts).
 */
export function createSelfService (deps: SelfServiceDeps) {
  const { factors, tokens, clock } = deps

  /** Issued after the user's last revocation (reset, disable, first factor)? Fails closed. */
  async function notRevoked (userId: string, issuedAtMs: number): Promise<boolean> {
    return isCurrent(issuedAtMs, await deps.revocation.validAfter(userId))
  }

  /**
   * A valid MFA token for this user and application, not revoked, with a second factor no older
   * than the application's policy allows (its stepUpMaxAgeSec, else STEP_UP_MAX_AGE_SEC).
   */
  async function freshStepUp (principal: Principal, mfaToken: string | undefined): Promise<boolean> {
    if (mfaToken === undefined) return false
    const claims = await tokens.verifyMfa(mfaToken)
    if (claims === undefined) return false
    const now = Math.floor(clock.now().getTime() / 1000)
    const shaped = claims.sub === principal.sub &&
      claims.aud === principal.clientId &&
      claims.acr === 'aal2' && claims.amr.includes('mfa') &&
      claims.authTime <= now + 60
    if (!shaped) return false
    const [policy, current] = await Promise.all([
      failClosed('the policy store', () => deps.policies.get(principal.clientId)),
      notRevoked(principal.sub, claims.issuedAtMs),
    ])
    return current && now - claims.authTime <= policy.stepUpMaxAgeSec
  }

  /**
   * A valid enrollment token for this user and application (it lives STEP_UP_MAX_AGE_SEC): from
   * `enrollment_required` or a permanent-loss recovery, it lets the wizard add the first factor.
   * It dies once any factor is confirmed (or 2FA is reset or disabled): revocation.ts.
   */
  async function enrollmentProof (principal: Principal, token: string | undefined): Promise<boolean> {
    if (token === undefined) return false
    const claims = await tokens.verifyEnrollment(token)
    if (claims === undefined || claims.sub !== principal.sub || claims.aud !== principal.clientId) return false
    return notRevoked(principal.sub, claims.issuedAtMs)
  }

  return {
    /**
     * SECURITY §1.11: once the user has 2FA, changing factors needs a fresh second factor. Users
     * without 2FA may enroll with the primary token alone. If we cannot tell (a factor did not
     * answer) and no fresh MFA token was sent, the answer is 503, never a pass.
     */
    async requireStepUp (principal: Principal, mfaToken: string | undefined, proof: StepUpProof = 'mfa'): Promise<StepUpShown> {
      if (await freshStepUp(principal, mfaToken)) return 'mfa'
      if (proof === 'mfa-or-enrollment' && await enrollmentProof(principal, mfaToken)) return 'enrollment'
      const state = twoFactorState(await factors.describeAll(principal.sub))
      if (state === 'none') return 'none'
      if (state === 'unknown') throw fail('UNAVAILABLE', 'cannot tell which factors the user has right now', { retryAfterSec: 5 })
      throw fail('STEP_UP_REQUIRED', 'a recent second factor is required: send the MFA token of a fresh sign-in or step-up in X-MFA-Token')
    },

    async listFactors (principal: Principal): Promise<FactorsView> {
      const [statuses, devices] = await Promise.all([factors.describeAll(principal.sub), deps.rememberedDevices.list(principal.sub)])
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
        // Never the token (only its HMAC is stored anyway).
        rememberedDevices: devices.map((d) => ({ id: d.id, label: d.label, createdAt: d.createdAt, lastUsedAt: d.lastUsedAt, expiresAt: d.expiresAt })),
      }
    },

    async revokeRememberedDevice (principal: Principal, id: string): Promise<{ removed: boolean }> {
      const removed = await deps.rememberedDevices.revoke(principal.sub, id)
      if (removed) deps.log.info({ deviceId: id }, 'remembered device revoked')
      return { removed }
    },

    /**
     * Turns 2FA off for the user (the caller passed the step-up rule): every factor service deletes
     * the user's data on `user.reset`, and the remembered devices and risk signals go now.
     */
    async disable (principal: Principal): Promise<{ disabled: true }> {
      const { eventId } = await deps.resetUser(principal.sub, 'disabled')
      deps.log.info({ eventId }, '2FA disabled by the user')
      return { disabled: true }
    },
  }
}

export type SelfService = ReturnType<typeof createSelfService>
