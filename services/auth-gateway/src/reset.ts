import { userReset, type PayloadOf } from '@warden/contracts'
import type { EventPublisher } from '@warden/service-kit'
import type { RememberDeviceStore } from './remember-device.js'
import type { RiskSignals } from './risk.js'

/** Why a user's 2FA is reset (the contract's `user.reset` reasons). */
export type ResetReason = PayloadOf<typeof userReset>['reason']

/**
 * Resets a user's 2FA everywhere: the gateway drops what it owns (remembered devices, risk
 * signals), then publishes `user.reset` on WARDEN_EVENTS, where every factor service deletes its
 * own data (durable consumers: a service that is down catches up when it returns).
 */
export function createUserReset (deps: { events: EventPublisher, rememberedDevices: RememberDeviceStore, risk: RiskSignals }) {
  return async (userId: string, reason: ResetReason): Promise<{ eventId: string }> => {
    await deps.rememberedDevices.revokeAll(userId)
    await deps.risk.forget(userId)
    const eventId = await deps.events.publish(userReset, { userId, reason })
    return { eventId }
  }
}
export type UserReset = ReturnType<typeof createUserReset>
