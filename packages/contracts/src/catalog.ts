import type { AnyEndpoint, EventType } from './endpoint.js'
import { DESCRIBE_ENDPOINTS, FACTORS } from './factors/index.js'
import { factorEnrolled, factorLocked, factorRemoved, userReset } from './messages/events.js'
import { gatewayIntrospect, gatewayJwks } from './messages/gateway.js'

export { DESCRIBE_ENDPOINTS, SERVICES } from './factors/index.js'

/** The gateway's own NATS micro service name (it serves HTTP, and a few verbs on the bus). */
export const GATEWAY_SERVICE = 'auth-gateway'

/** Every request/reply endpoint: the source for the AsyncAPI document and the uniqueness tests. */
export const ENDPOINTS: readonly AnyEndpoint[] = [
  ...FACTORS.flatMap((f): AnyEndpoint[] => [DESCRIBE_ENDPOINTS[f.name], ...Object.values(f.endpoints)]),
  gatewayJwks, gatewayIntrospect,
]

export const EVENTS: readonly EventType[] = [factorEnrolled, factorRemoved, factorLocked, userReset]
