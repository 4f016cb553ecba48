import type { Log } from '@warden/service-kit'
import type { FactorClient } from './factor-client.js'
import { twoFactorState } from './methods.js'
import type { Principal } from './plugins/tokens.js'
import type { Policy } from './policy.js'
import type { PolicyStore, RememberDeviceStore, UserReset } from './ports.js'
import type { AdminUserFactors, PolicyBody, PolicyView, ResetAnswer } from './schemas-admin.js'

/** The role claim of a primary token that opens /v1/admin (ARCHITECTURE §3). */
export const ADMIN_ROLE = 'warden:admin'

export interface AdminDeps {
  factors: FactorClient
  policies: PolicyStore
  rememberedDevices: RememberDeviceStore
  resetUser: UserReset
  /** What an absent field of a PUT policy becomes. */
  defaults: Pick<Policy, 'rememberDays' | 'stepUpMaxAgeSec'>
  log: Log
}

export function isAdmin (principal: Principal): boolean {
  return principal.role === ADMIN_ROLE
}

/**
 * The /v1/admin use cases. The caller (the route) has already checked the admin role; every change
 * is logged with the admin's `sub` (audit), never with token material.
 */
export function createAdminService (deps: AdminDeps) {
  const { log } = deps

  return {
    async getPolicy (clientId: string): Promise<PolicyView> {
      const p = await deps.policies.get(clientId)
      return { clientId: p.clientId, mode: p.mode, rememberDays: p.rememberDays, stepUpMaxAgeSec: p.stepUpMaxAgeSec, isDefault: p.isDefault }
    },

    /** Replaces the application's policy; absent fields take the configured defaults. */
    async putPolicy (admin: Principal, clientId: string, body: PolicyBody): Promise<PolicyView> {
      const policy: Policy = {
        mode: body.mode,
        rememberDays: body.rememberDays ?? deps.defaults.rememberDays,
        stepUpMaxAgeSec: body.stepUpMaxAgeSec ?? deps.defaults.stepUpMaxAgeSec,
      }
      await deps.policies.put(clientId, policy)
      log.info({ admin: admin.sub, clientId, mode: policy.mode, rememberDays: policy.rememberDays, stepUpMaxAgeSec: policy.stepUpMaxAgeSec }, 'admin: policy stored')
      return { clientId, ...policy, isDefault: false }
    },

    /** What every factor service says about the user (in parallel, short deadline), and remembered devices. */
    async userFactors (admin: Principal, sub: string): Promise<AdminUserFactors> {
      const [statuses, devices] = await Promise.all([deps.factors.describeAll(sub), deps.rememberedDevices.list(sub)])
      log.info({ admin: admin.sub, userId: sub }, 'admin: factors listed')
      return {
        sub,
        twoFactor: twoFactorState(statuses),
        factors: statuses.map((s) => s.available
          ? {
              factor: s.factor,
              available: true as const,
              enrolled: s.enrolled,
              ...(s.createdAt === undefined ? {} : { createdAt: s.createdAt }),
              ...(s.lockedUntil === undefined ? {} : { lockedUntil: s.lockedUntil }),
              items: s.items,
            }
          : { factor: s.factor, available: false as const }),
        rememberedDevices: devices.map((d) => ({ id: d.id, label: d.label, createdAt: d.createdAt, lastUsedAt: d.lastUsedAt, expiresAt: d.expiresAt })),
      }
    },

    /**
     * Resets the user's 2FA: remembered devices and risk signals go now; `user.reset` on
     * WARDEN_EVENTS makes every factor service delete its data (at least once, idempotent), so the
     * answer is 202. The factors' attempt counters are theirs: the gateway never resets them.
     */
    async resetUser (admin: Principal, sub: string): Promise<ResetAnswer> {
      const { eventId } = await deps.resetUser(sub, 'admin')
      log.info({ admin: admin.sub, userId: sub, eventId }, 'admin: user 2FA reset')
      return { reset: true, eventId }
    },
  }
}

export type AdminService = ReturnType<typeof createAdminService>
