// The shapes of factor-push's bus verbs. The sign-in verbs (`challenge`, `status`) keep what the
// gateway already speaks (contracts/messages/factors.ts) and add what this factor needs: the
// step-up action a push approves, and why a push ended. They become TypeBox contracts in
// packages/contracts/src/factors/push.ts once the factor kit is on main.

export type PushPlatform = 'android' | 'ios' | 'cli' | 'other'

/** What the user is shown about the sign-in they are asked to approve. No secrets. */
export interface SigninContext {
  appName: string
  ip?: string
  userAgent?: string
}

// ---- sign-in ----------------------------------------------------------------------------------
export interface StartPushRequest {
  userId: string
  flowId: string
  /** Only this device; every active device of the user otherwise. */
  deviceId?: string
  context: SigninContext
  /** A step-up's action: shown on the device, covered by its signature, carried by the MFA token. */
  action?: string
}
export interface StartPushResponse {
  challengeId: string
  expiresAt: string
  /** Shown on the sign-in screen only; the user types it into the app (number matching). */
  numberToMatch: number
}

export interface PushStatusRequest { userId: string, flowId: string, challengeId: string, waitMs: number }
export type DeniedReason = 'denied' | 'not_me' | 'wrong_number'
export type PushStatusResponse =
  | { state: 'pending' }
  | { state: 'expired' }
  /** Reported once per challenge: the caller completes the sign-in on it. */
  | { state: 'approved', approvedAt: string, action?: string }
  | { state: 'denied', reason: DeniedReason }

// ---- self-service (the gateway, on behalf of a signed-in user) ---------------------------------
export interface CreatePairingRequest { userId: string }
export interface CreatePairingResponse {
  /** 128 random bits, base64url; single use. The gateway puts it in the pairing URI and QR. */
  pairingCode: string
  expiresAt: string
}

export interface DeviceView {
  deviceId: string
  name: string
  platform: PushPlatform
  createdAt: string
  /** False once FCM said the app's token is gone (UNREGISTERED): no longer asked, cannot answer. */
  active: boolean
  /** Whether pushes wake the app (an FCM token is registered); otherwise the app polls. */
  notifications: boolean
}
export interface ListDevicesResponse { devices: DeviceView[] }
export interface DeviceRequest { userId: string, deviceId: string }
export interface RenameDeviceRequest { userId: string, deviceId: string, name: string }
export interface RemoveResponse { removed: boolean }

export interface DescribeItem { id: string, label: string, createdAt?: string }
export interface DescribePushResponse {
  factor: 'push'
  enrolled: boolean
  createdAt?: string
  /** Until when push cannot be used: wrong numbers locked it, or denials paused it. */
  lockedUntil?: string
  /** Why push is unavailable now, for the methods list. */
  unavailableReason?: 'paused_after_denials' | 'too_many_wrong_numbers'
  items: DescribeItem[]
}

// ---- the authenticator app (device-signed; the gateway passes the JWT through) -----------------
/** Every app request is one ES256 JWT signed by the device key; see the service README. */
export interface RegisterDeviceRequest { jwt: string }
export interface RegisterDeviceResponse { deviceId: string }

export interface DeviceChallengesRequest { deviceId: string, jwt: string }
export interface PendingChallengeView {
  challengeId: string
  /** Signed back in the answer: binds the answer to this challenge as it was issued. */
  nonce: string
  createdAt: string
  expiresAt: string
  /** Exactly what the app shows, and what `contextHash` covers. Never the number. */
  context: { appName: string, ip?: string, userAgent?: string, action?: string }
}
export interface DeviceChallengesResponse { challenges: PendingChallengeView[] }

export interface AnswerChallengeRequest { challengeId: string, jwt: string }
export type AnswerRejectReason = 'wrong_number' | 'expired' | 'already_answered' | 'context_mismatch'
export type AnswerChallengeResponse =
  | { result: 'approved' }
  | { result: 'denied' }
  | { result: 'rejected', reason: AnswerRejectReason, attemptsLeft?: number }
