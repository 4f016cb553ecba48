import { userReset } from '@warden/contracts'
import { failClosed, type Clock, type EventPublisher } from '@warden/service-kit'
import type { RememberDeviceStore, Revocation, RiskSignals, UserReset } from '../ports.js'

/**
 * Resets a user's 2FA everywhere (fails closed): the gateway first moves the user's "tokens valid
 * after" to now (every MFA, enrollment and remember token issued so far is refused from here on; a
 * store that is down refuses the reset before anything happened), drops what it owns (remembered
 * devices, risk signals), then publishes `user.reset` with that `validAfter` on WARDEN_EVENTS,
 * where every factor service deletes its own data (durable consumers: a service that is down
 * catches up when it returns) and resource servers learn that the user's tokens are revoked.
 */
export function createUserReset (deps: {
  events: EventPublisher, rememberedDevices: RememberDeviceStore, risk: RiskSignals, revocation: Revocation, clock: Clock,
}): UserReset {
  return async (userId, reason) => {
    const validAfter = await deps.revocation.revokeIssuedUpTo(userId, deps.clock.now())
    await deps.rememberedDevices.revokeAll(userId)
    await deps.risk.forget(userId)
    // The stream being away is a 503 (with Retry-After), never a 500 that hides whether it happened.
    const eventId = await failClosed('the event stream', () => deps.events.publish(userReset, { userId, reason, validAfter: new Date(validAfter).toISOString() }))
    return { eventId, validAfter }
  }
}
