// One valid and one invalid example of every message, by subject. The test fails when a new
// endpoint or event has no fixtures, so they cannot be forgotten.
const user = 'usr_fixture'
const flowId = 'txn_' + 'A'.repeat(43)
const enrollmentId = 'tenr_' + 'B'.repeat(22)
const at = '2026-01-01T00:00:00.000Z'
const describeOk = { factor: 'totp', enrolled: true, createdAt: at, items: [] }
const describeBad = { factor: 'email', enrolled: true, items: [] }

interface Fixture { valid: unknown[], invalid: unknown[] }
export const requestFixtures: Record<string, Fixture> = {
  'warden.totp.v1.describe': { valid: [{ userId: user }], invalid: [{}, { userId: '' }, { userId: 'a b' }, { userId: user, extra: 1 }] },
  'warden.totp.v1.enroll': { valid: [{ userId: user, accountName: 'alice@example.com' }], invalid: [{ userId: user }, { userId: user, accountName: '' }] },
  'warden.totp.v1.confirm': {
    valid: [{ userId: user, enrollmentId, code: '123456' }],
    invalid: [{ userId: user, enrollmentId, code: '12345' }, { userId: user, enrollmentId: 'x', code: '123456' }, { userId: user, enrollmentId, code: 123456 }],
  },
  'warden.totp.v1.verify': {
    valid: [{ userId: user, flowId, code: '000000' }],
    invalid: [
      { userId: user, flowId, code: '' }, { userId: user, flowId, code: '1234567' }, { userId: user, flowId, code: '١٢٣٤٥٦' },
      { userId: user, flowId, code: 123456 }, { userId: user, flowId, code: {} }, { userId: user, flowId: 'txn_short', code: '123456' },
      { userId: user, flowId, code: '123456', extra: true }, null, [], 'string',
    ],
  },
  'warden.totp.v1.remove': { valid: [{ userId: user }], invalid: [{ user }] },
  'warden.push.v1.describe': { valid: [{ userId: user }], invalid: [{ userId: 7 }] },
  'warden.sms.v1.describe': { valid: [{ userId: user }], invalid: [{ userId: null }] },
  'warden.webauthn.v1.describe': { valid: [{ userId: user }], invalid: [{ userId: 'x'.repeat(201) }] },
  'warden.recovery.v1.describe': { valid: [{ userId: user }], invalid: [{ userId: '\u0000' }] },
}

export const responseFixtures: Record<string, Fixture> = {
  'warden.totp.v1.describe': { valid: [describeOk], invalid: [describeBad] },
  'warden.totp.v1.enroll': {
    valid: [{ enrollmentId, secret: 'A'.repeat(32), otpauthUri: 'otpauth://totp/x', qrSvg: '<svg/>', expiresAt: at }],
    invalid: [{ enrollmentId, secret: 'a'.repeat(32), otpauthUri: 'otpauth://totp/x', qrSvg: '<svg/>', expiresAt: at }],
  },
  'warden.totp.v1.confirm': { valid: [{ result: 'confirmed', confirmedAt: at }, { result: 'rejected', reason: 'invalid_code' }], invalid: [{ result: 'confirmed' }] },
  'warden.totp.v1.verify': {
    valid: [{ result: 'verified', verifiedAt: at }, { result: 'rejected', reason: 'replayed' }, { result: 'rejected', reason: 'clock_skew', offsetSec: -120 }],
    invalid: [{ result: 'rejected', reason: 'nope' }, { result: 'verified', verifiedAt: 'yesterday' }],
  },
  'warden.totp.v1.remove': { valid: [{ removed: true }], invalid: [{ removed: 'yes' }] },
  'warden.push.v1.describe': { valid: [{ ...describeOk, factor: 'push', items: [{ id: 'dev_1', label: 'Pixel 8' }] }], invalid: [describeBad] },
  'warden.sms.v1.describe': { valid: [{ ...describeOk, factor: 'sms', items: [{ id: 'ph_1', label: '+47 ••• •• 123', verified: true }] }], invalid: [{ ...describeOk, items: [{ id: 'x' }] }] },
  'warden.webauthn.v1.describe': { valid: [{ ...describeOk, factor: 'webauthn' }], invalid: [{ ...describeOk, lockedUntil: 'soon' }] },
  'warden.recovery.v1.describe': { valid: [{ ...describeOk, factor: 'recovery' }], invalid: [{}] },
}

const envelope = { eventId: 'evt_' + 'C'.repeat(22), occurredAt: at, userId: user }
export const eventFixtures: Record<string, Fixture> = {
  'warden.events.v1.factor.enrolled': { valid: [{ ...envelope, factor: 'totp' }], invalid: [{ ...envelope, factor: 'fax' }] },
  'warden.events.v1.factor.removed': { valid: [{ ...envelope, factor: 'sms', itemId: 'ph_1' }], invalid: [{ factor: 'sms' }] },
  'warden.events.v1.factor.locked': { valid: [{ ...envelope, factor: 'totp', lockedUntil: at }], invalid: [{ ...envelope, factor: 'totp' }] },
  'warden.events.v1.user.reset': { valid: [{ ...envelope, reason: 'admin' }], invalid: [{ ...envelope, reason: 'bored' }] },
}
