import { userReset } from '@warden/contracts'
import { failClosed, type EventPublisher } from '@warden/service-kit'
import type { RememberDeviceStore, RiskSignals, UserLocks, UserReset } from '../ports.js'

/**
 * Resets a user's 2FA everywhere (fails closed): the gateway drops what it owns (remembered devices, risk
 * signals), then publishes `user.reset` on WARDEN_EVENTS, where every factor service deletes its
 * own data (durable consumers: a service that is down catches up when it returns).
 */
export function createUserReset (deps: { events: EventPublisher, rememberedDevices: RememberDeviceStore, risk: RiskSignals, userLocks?: UserLocks }): UserReset {
  return async (userId, reason) => {
    await deps.rememberedDevices.revokeAll(userId)
    await deps.risk.forget(userId)
    // Support's reset is what lifts a "Not you?" lock (the user's own disable or recovery is not).
    if (reason === 'admin') await deps.userLocks?.unlock(userId)
    // The stream being away is a 503 (with Retry-After), never a 500 that hides whether it happened.
    const eventId = await failClosed('the event stream', () => deps.events.publish(userReset, { userId, reason }))
    return { eventId }
  }
}
