import { defineEndpoint } from '../endpoint.js'
import { DescribeResponse, UserRequest } from './common.js'

// The factor services that are not built yet still answer `describe`, so the gateway can ask
// every service the same question from day one.
export const describePush = defineEndpoint({
  subject: 'warden.push.v1.describe',
  summary: 'Paired authenticator-app devices of the user',
  request: UserRequest, response: DescribeResponse, errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})
export const describeSms = defineEndpoint({
  subject: 'warden.sms.v1.describe',
  summary: 'Phones of the user, masked',
  request: UserRequest, response: DescribeResponse, errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})
export const describeWebauthn = defineEndpoint({
  subject: 'warden.webauthn.v1.describe',
  summary: 'Security keys and passkeys of the user',
  request: UserRequest, response: DescribeResponse, errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})
export const describeRecovery = defineEndpoint({
  subject: 'warden.recovery.v1.describe',
  summary: 'Whether the user has an unused emergency code',
  request: UserRequest, response: DescribeResponse, errors: ['BAD_REQUEST', 'UNAVAILABLE', 'INTERNAL'],
})
