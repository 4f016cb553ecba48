import type { AnyEndpoint, EventType } from './endpoint.js'
import { DESCRIBE_ENDPOINTS, FACTORS, describeFactors } from './factors/index.js'
import { credentialFlagged } from './factors/webauthn.js'
import { recoveryCodeUsed, supportCodeIssued } from './factors/recovery.js'
import { pushPaused } from './factors/push.js'
import { smsBreakerOpened } from './factors/sms.js'
import {
  deviceRemembered, factorEnrolled, factorLocked, factorRemoved, networkSeen, pushDenied, recoveryRegenerated, userReported, userReset,
  verificationRejected,
} from './messages/events.js'
import { gatewayIntrospect, gatewayJwks } from './messages/gateway.js'
import { NOTIFIER_ENDPOINTS } from './messages/notifier.js'

export { DESCRIBE_ENDPOINTS, SERVICES } from './factors/index.js'

/** The gateway's own NATS micro service name (it serves HTTP, and a few verbs on the bus). */
export const GATEWAY_SERVICE = 'auth-gateway'

/** Every request/reply endpoint: the source for the AsyncAPI document and the uniqueness tests. */
export const ENDPOINTS: readonly AnyEndpoint[] = [
  ...FACTORS.flatMap((f): AnyEndpoint[] => [DESCRIBE_ENDPOINTS[f.name], ...Object.values(f.endpoints)]),
  describeFactors,
  gatewayJwks, gatewayIntrospect,
  ...NOTIFIER_ENDPOINTS,
]

export const EVENTS: readonly EventType[] = [
  factorEnrolled, factorRemoved, factorLocked, userReset,
  credentialFlagged, recoveryCodeUsed, supportCodeIssued, pushPaused, smsBreakerOpened,
  recoveryRegenerated, deviceRemembered, pushDenied, networkSeen, verificationRejected, userReported,
]
