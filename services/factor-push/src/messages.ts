import type {
  answerPush, createPairing, listDevices, pendingChallenges, pushStatus, registerDevice, renameDevice, RequestOf, ResponseOf,
  startPush, unpairDevice, DescribeResponse, notifyPush,
} from '@warden/contracts'

// The shapes of factor-push's bus verbs, as the contracts define them (packages/contracts/src/factors/push.ts).

export type StartPushRequest = RequestOf<typeof startPush>
export type StartPushResponse = ResponseOf<typeof startPush>
export type PushStatusRequest = RequestOf<typeof pushStatus>
export type PushStatusResponse = ResponseOf<typeof pushStatus>
export type CreatePairingRequest = RequestOf<typeof createPairing>
export type CreatePairingResponse = ResponseOf<typeof createPairing>
export type ListDevicesResponse = ResponseOf<typeof listDevices>
export type DeviceView = ResponseOf<typeof renameDevice>
export type PushPlatform = DeviceView['platform']
export type RenameDeviceRequest = RequestOf<typeof renameDevice>
export type DeviceRequest = RequestOf<typeof unpairDevice>
export type RemoveResponse = ResponseOf<typeof unpairDevice>
export type RegisterDeviceRequest = RequestOf<typeof registerDevice>
export type RegisterDeviceResponse = ResponseOf<typeof registerDevice>
export type DeviceChallengesRequest = RequestOf<typeof pendingChallenges>
export type DeviceChallengesResponse = ResponseOf<typeof pendingChallenges>
export type PendingChallengeView = DeviceChallengesResponse['challenges'][number]
export type AnswerChallengeRequest = RequestOf<typeof answerPush>
export type AnswerChallengeResponse = ResponseOf<typeof answerPush>
export type SigninContext = StartPushRequest['context']
export type DescribePushResponse = DescribeResponse
export type NotifyUserRequest = RequestOf<typeof notifyPush>
export type NotifyUserResponse = ResponseOf<typeof notifyPush>
