import type { AnyEndpoint, EventType } from './endpoint.js'
import { factorEnrolled, factorLocked, factorRemoved, userReset } from './messages/events.js'
import { describePush, describeRecovery, describeSms, describeWebauthn } from './messages/others.js'
import { pushStatus, startPush, startSms, verifyRecovery, verifySms, verifyWebauthn, webauthnOptions } from './messages/factors.js'
import { gatewayIntrospect, gatewayJwks } from './messages/gateway.js'
import { confirmTotp, describeTotp, enrollTotp, removeTotp, verifyTotp } from './messages/totp.js'

/** The NATS micro service names, one per deployable factor service. */
export const SERVICES = {
  totp: 'factor-totp',
  push: 'factor-push',
  sms: 'factor-sms',
  webauthn: 'factor-webauthn',
  recovery: 'recovery',
} as const

/** The gateway's own NATS micro service name (it serves HTTP, and a few verbs on the bus). */
export const GATEWAY_SERVICE = 'auth-gateway'

/** Every request/reply endpoint: the source for the AsyncAPI document and the uniqueness tests. */
export const ENDPOINTS: readonly AnyEndpoint[] = [
  describeTotp, enrollTotp, confirmTotp, verifyTotp, removeTotp,
  describePush, describeSms, describeWebauthn, describeRecovery,
  startPush, pushStatus, startSms, verifySms, webauthnOptions, verifyWebauthn, verifyRecovery,
  gatewayJwks, gatewayIntrospect,
]

/** The `describe` endpoint of each factor service, in the order methods are preferred. */
export const DESCRIBE_ENDPOINTS = {
  push: describePush,
  webauthn: describeWebauthn,
  totp: describeTotp,
  sms: describeSms,
  recovery: describeRecovery,
} as const

export const EVENTS: readonly EventType[] = [factorEnrolled, factorRemoved, factorLocked, userReset]
