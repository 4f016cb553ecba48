import type { FactorName } from '@warden/contracts'
import type { Clock, Log } from '@warden/service-kit'
import type { RememberDeviceStore, Revocation } from './ports.js'

export interface FactorChangesDeps {
  revocation: Revocation
  rememberedDevices: RememberDeviceStore
  clock: Clock
  log: Log
}

export interface FactorBinding {
  userId: string
  factor: FactorName
  /**
   * No fresh MFA token authorised the change (an enrollment token did, or nothing because the user
   * has no 2FA): this is the user's first factor, or their first since a reset.
   */
  firstFactor: boolean
}

export interface FactorRemoval { userId: string, factor: FactorName }

/**
 * The one hook every change that binds or removes a factor goes through, so revocation is the same
 * for every factor. Strategies reach it as `factorChanges` in their RouteContext (bound to the
 * request: routes/v1/me.ts `selfServiceHooks`); see docs/architecture.md:
 *
 * - binding the user's first factor moves their "tokens valid after" forward: every enrollment
 *   token (and aal1 MFA token) handed out while they had no factor dies, so a password-only
 *   holder cannot swap in a factor of their own. It moves once before the factor service is asked
 *   (a store that is down refuses the change before anything happened) and once after it confirmed
 *   (a token issued from facts read in between dies too);
 * - every binding and every removal revokes the user's remembered devices, as reset and disable do.
 *
 * The operation itself (`confirm`, `remove`) is the factor service call; a binding it refuses
 * (wrong code) changes nothing but the first cutoff. A removal revokes even when the factor says
 * nothing was removed: the retry after a lost reply must still revoke.
 */
export function createFactorChanges (deps: FactorChangesDeps) {
  const { revocation, rememberedDevices, clock, log } = deps

  return {
    async bind<R> (binding: FactorBinding, confirm: () => Promise<R>, isBound: (result: R) => boolean): Promise<R> {
      if (binding.firstFactor) await revocation.revokeIssuedUpTo(binding.userId, clock.now())
      const result = await confirm()
      if (!isBound(result)) return result
      if (binding.firstFactor) await revocation.revokeIssuedUpTo(binding.userId, clock.now())
      const revoked = await rememberedDevices.revokeAll(binding.userId)
      log.info({ factor: binding.factor, firstFactor: binding.firstFactor, rememberedDevicesRevoked: revoked }, 'factor bound')
      return result
    },

    async remove<R> (removal: FactorRemoval, remove: () => Promise<R>): Promise<R> {
      const result = await remove()
      const revoked = await rememberedDevices.revokeAll(removal.userId)
      log.info({ factor: removal.factor, rememberedDevicesRevoked: revoked }, 'factor removed')
      return result
    },
  }
}

export type FactorChanges = ReturnType<typeof createFactorChanges>
