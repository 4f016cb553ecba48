// One valid and one invalid example of every message, by subject. The test fails when a new
// endpoint or event has no fixtures, so they cannot be forgotten.
const user = 'usr_fixture'
const flowId = 'txn_' + 'A'.repeat(43)
const enrollmentId = 'tenr_' + 'B'.repeat(22)
const at = '2026-01-01T00:00:00.000Z'
const describeOk = { factor: 'totp', enrolled: true, createdAt: at, items: [] }
const jwk = { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'B'.repeat(43), kid: 'k1', alg: 'ES256', use: 'sig' }
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
    valid: [{ userId: user, flowId, code: '000000' }, { userId: user, flowId, code: '000000', idempotencyKey: 'K'.repeat(22) }],
    invalid: [
      { userId: user, flowId, code: '' }, { userId: user, flowId, code: '1234567' }, { userId: user, flowId, code: '١٢٣٤٥٦' },
      { userId: user, flowId, code: 123456 }, { userId: user, flowId, code: {} }, { userId: user, flowId: 'txn_short', code: '123456' },
      { userId: user, flowId, code: '123456', extra: true }, null, [], 'string',
      { userId: user, flowId, code: '123456', idempotencyKey: 'short' }, { userId: user, flowId, code: '123456', idempotencyKey: 'has spaces in it !!' },
    ],
  },
  'warden.totp.v1.remove': { valid: [{ userId: user }], invalid: [{ user }] },
  'warden.push.v1.describe': { valid: [{ userId: user }], invalid: [{ userId: 7 }] },
  'warden.sms.v1.describe': { valid: [{ userId: user }], invalid: [{ userId: null }] },
  'warden.webauthn.v1.describe': { valid: [{ userId: user }], invalid: [{ userId: 'x'.repeat(201) }] },
  'warden.recovery.v1.describe': { valid: [{ userId: user }], invalid: [{ userId: '\u0000' }] },
  'warden.push.v1.challenge': { valid: [{ userId: user, flowId, context: { appName: 'Payroll', ip: '192.0.2.1' } }], invalid: [{ userId: user, flowId, context: {} }] },
  'warden.push.v1.status': { valid: [{ userId: user, flowId, challengeId: 'pch_' + 'D'.repeat(22), waitMs: 20000 }], invalid: [{ userId: user, flowId, challengeId: 'pch_' + 'D'.repeat(22), waitMs: 60000 }] },
  'warden.sms.v1.challenge': { valid: [{ userId: user, flowId, phoneId: 'ph_' + 'E'.repeat(22) }], invalid: [{ userId: user, flowId, phoneId: '+4712345678' }] },
  'warden.sms.v1.verify': { valid: [{ userId: user, flowId, code: '123456' }], invalid: [{ userId: user, flowId, code: '12 456' }] },
  'warden.webauthn.v1.options': { valid: [{ userId: user, flowId }], invalid: [{ userId: user }] },
  'warden.webauthn.v1.verify': { valid: [{ userId: user, flowId, response: { id: 'abc', type: 'public-key' } }], invalid: [{ userId: user, flowId, response: 'abc' }] },
  'warden.recovery.v1.verify': { valid: [{ userId: user, flowId, code: 'ABCD-EFGH-2345-67AB', mode: 'temporary' }, { userId: user, flowId, code: 'ABCDEFGH234567AB', mode: 'permanent' }], invalid: [{ userId: user, flowId, code: 'abcd-efgh-2345-67ab', mode: 'temporary' }, { userId: user, flowId, code: 'ABCD-EFGH-2345-67AB', mode: 'forever' }] },
  'warden.gateway.v1.jwks': { valid: [{}], invalid: [{ userId: user }, null, []] },
  'warden.gateway.v1.introspect': {
    valid: [{ token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln' }],
    invalid: [{}, { token: '' }, { token: 'not a jwt' }, { token: 'a.b' }, { token: 'a.b.c.d' }, { token: 'a.b.c', userId: user }, { token: 'a.b.' }, { token: `a.${'b'.repeat(8200)}.c` }, { token: 7 }, null],
  },
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
  'warden.push.v1.challenge': { valid: [{ challengeId: 'pch_' + 'D'.repeat(22), expiresAt: at, numberToMatch: 42 }], invalid: [{ challengeId: 'pch_' + 'D'.repeat(22), expiresAt: at, numberToMatch: 7 }] },
  'warden.push.v1.status': { valid: [{ state: 'approved' }], invalid: [{ state: 'maybe' }] },
  'warden.sms.v1.challenge': { valid: [{ reference: '4821', maskedPhone: '+47 ••• •• 678', expiresAt: at }], invalid: [{ reference: '48', maskedPhone: 'x', expiresAt: at }] },
  'warden.sms.v1.verify': { valid: [{ result: 'verified', verifiedAt: at }, { result: 'rejected', reason: 'expired' }], invalid: [{ result: 'rejected', reason: 'replayed' }] },
  'warden.webauthn.v1.options': { valid: [{ options: { challenge: 'abc', rpId: 'example.com' } }], invalid: [{ options: 'x' }] },
  'warden.webauthn.v1.verify': { valid: [{ result: 'verified', verifiedAt: at, credentialId: 'abc', userVerified: true }], invalid: [{ result: 'verified', verifiedAt: at }] },
  'warden.recovery.v1.verify': { valid: [{ result: 'verified', verifiedAt: at, newCode: 'WXYZ-2345-ABCD-EFGH' }, { result: 'rejected', reason: 'invalid_code' }], invalid: [{ result: 'reset' }] },
  'warden.gateway.v1.jwks': {
    valid: [{ keys: [jwk] }],
    invalid: [{ keys: [] }, { keys: [{ ...jwk, d: 'C'.repeat(43) }] }, { keys: [{ ...jwk, alg: 'HS256' }] }, { keys: [{ ...jwk, x: 'short' }] }],
  },
  'warden.gateway.v1.introspect': {
    valid: [
      { active: false },
      { active: true, sub: user, aud: 'bank-app', acr: 'aal2', amr: ['otp', 'mfa'], authTime: 1767225600, iat: 1767225600, exp: 1767226500 },
      { active: true, sub: user, aud: 'bank-app', acr: 'aal2', amr: ['otp', 'mfa'], authTime: 1767225600, iat: 1767225600, exp: 1767225660, action: 'change-bank-details', validAfter: at },
      { active: true, sub: user, aud: 'bank-app', acr: 'aal1', amr: [], authTime: 1767225600, iat: 1767225600, exp: 1767226500, remembered: true },
    ],
    invalid: [
      { active: false, sub: user }, { active: true }, { active: 'yes' },
      { active: true, sub: user, aud: 'bank-app', acr: 'aal3', amr: [], authTime: 1, iat: 1, exp: 2 },
      { active: true, sub: user, aud: 'bank-app', acr: 'aal2', amr: [], authTime: 1, iat: 1, exp: 2, validAfter: 'yesterday' },
      { active: true, sub: user, aud: 'bank-app', acr: 'aal2', amr: [], authTime: 1, iat: 1, exp: 2, token: 'x' },
    ],
  },
}

const envelope = { eventId: 'evt_' + 'C'.repeat(22), occurredAt: at, userId: user }
export const eventFixtures: Record<string, Fixture> = {
  'warden.events.v1.factor.enrolled': { valid: [{ ...envelope, factor: 'totp' }], invalid: [{ ...envelope, factor: 'fax' }] },
  'warden.events.v1.factor.removed': { valid: [{ ...envelope, factor: 'sms', itemId: 'ph_1' }], invalid: [{ factor: 'sms' }] },
  'warden.events.v1.factor.locked': { valid: [{ ...envelope, factor: 'totp', lockedUntil: at }], invalid: [{ ...envelope, factor: 'totp' }] },
  'warden.events.v1.user.reset': {
    valid: [{ ...envelope, reason: 'admin' }, { ...envelope, reason: 'disabled', validAfter: at }],
    invalid: [{ ...envelope, reason: 'bored' }, { ...envelope, reason: 'admin', validAfter: 1767225600000 }, { ...envelope, reason: 'admin', validAfter: 'now' }],
  },
}
