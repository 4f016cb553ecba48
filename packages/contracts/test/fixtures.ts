// One valid and one invalid example of every message, by subject. The test fails when a new
// endpoint or event has no fixtures, so they cannot be forgotten.
const user = 'usr_fixture'
const flowId = 'txn_' + 'A'.repeat(43)
const enrollmentId = 'tenr_' + 'B'.repeat(22)
const at = '2026-01-01T00:00:00.000Z'
const describeOk = { factor: 'totp', enrolled: true, createdAt: at, items: [] }
const jwk = { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'B'.repeat(43), kid: 'k1', alg: 'ES256', use: 'sig' }
const describeBad = { factor: 'email', enrolled: true, items: [] }
const credentialHandle = 'wak_' + 'W'.repeat(43)
const credential = { id: credentialHandle, credentialId: 'Y3JlZA', name: 'YubiKey 5', createdAt: at, synced: false, backedUp: false, transports: ['usb'] }

interface Fixture { valid: unknown[], invalid: unknown[] }
export const requestFixtures: Record<string, Fixture> = {
  'warden.notifier.v1.activity': {
    valid: [{ userId: user }, { userId: user, limit: 5, cursor: 'WyJ4Il0', types: ['factor.removed'], since: at, until: at }],
    invalid: [{ userId: user, limit: 0 }, { userId: user, limit: 101 }, { userId: user, types: ['Factor.Removed'] }, { userId: user, since: 'yesterday' }, { userId: user, cursor: 'a b' }, { userId: user, extra: 1 }],
  },
  'warden.notifier.v1.audit': { valid: [{ userId: user, types: ['verification.rejected'] }], invalid: [{}, { userId: user, types: [] }] },
  'warden.notifier.v1.putWebhook': {
    valid: [{ id: 'siem', url: 'https://siem.example.com/in', events: ['*'], enabled: true }, { id: 'a-b_1', url: 'https://x.example/h', events: ['factor.removed', 'user.reset'], enabled: false, rotateSecret: true }],
    invalid: [{ id: 'a b', url: 'https://x.example/h', events: ['*'], enabled: true }, { id: 'w', url: 'https://x.example/h', events: [], enabled: true }, { id: 'w', url: 'https://x.example/h', events: ['*'] }, { id: 'w', url: 'https://x.example/h', events: ['*'], enabled: 'yes' }],
  },
  'warden.notifier.v1.getWebhook': { valid: [{ id: 'siem' }], invalid: [{ id: '' }, { id: '../x' }] },
  'warden.notifier.v1.deleteWebhook': { valid: [{ id: 'siem' }], invalid: [{}, { id: 'x'.repeat(65) }] },
  'warden.notifier.v1.reportNotMe': { valid: [{ token: 'eyJ1IjoiYSJ9.' + 'A'.repeat(43) }], invalid: [{ token: 'no-dot-here' }, { token: 'a.b c' }, { token: 'x'.repeat(2000) + '.y' }] },
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
  'warden.factors.v1.describe': { valid: [{ userId: user }], invalid: [{}, { userId: 7 }, { userId: user, factor: 'totp' }] },
  'warden.push.v1.challenge': { valid: [{ userId: user, flowId, context: { appName: 'Payroll', ip: '192.0.2.1' } }], invalid: [{ userId: user, flowId, context: {} }] },
  'warden.push.v1.status': { valid: [{ userId: user, flowId, challengeId: 'pch_' + 'D'.repeat(22), waitMs: 20000 }], invalid: [{ userId: user, flowId, challengeId: 'pch_' + 'D'.repeat(22), waitMs: 60000 }] },
  'warden.push.v1.pairing': { valid: [{ userId: user }], invalid: [{ userId: user, deviceId: 'dev_' + 'E'.repeat(22) }] },
  'warden.push.v1.devices': { valid: [{ userId: user }], invalid: [{}] },
  'warden.push.v1.rename': { valid: [{ userId: user, deviceId: 'dev_' + 'E'.repeat(22), name: 'Work phone' }], invalid: [{ userId: user, deviceId: 'dev_' + 'E'.repeat(22), name: '' }, { userId: user, deviceId: 'dev_' + 'E'.repeat(22), name: 'two\nlines' }, { userId: user, deviceId: 'dev_' + 'E'.repeat(22), name: '   ' }, { userId: user, deviceId: 'ph_1', name: 'x' }] },
  'warden.push.v1.unpair': { valid: [{ userId: user, deviceId: 'dev_' + 'E'.repeat(22) }], invalid: [{ userId: user }] },
  'warden.push.v1.notify': { valid: [{ userId: user, text: 'Warden: your phone number was removed. Not you?', link: 'https://id.example.com/ui/#not-me=abc.def', idempotencyKey: 'evt_' + 'F'.repeat(22) }], invalid: [{ userId: user, text: 'x'.repeat(321) }, { userId: user, text: 'two\nlines' }, { userId: user, text: 'ok', link: 'javascript:alert(1)' }] },
  'warden.push.v1.register': { valid: [{ jwt: 'eyJhbGciOiJFUzI1NiJ9.eyJyZXEiOiJhbnN3ZXIifQ.c2ln' }], invalid: [{ jwt: 'not a jwt' }, { jwt: 'eyJhbGciOiJFUzI1NiJ9.eyJyZXEiOiJhbnN3ZXIifQ.c2ln', userId: user }] },
  'warden.push.v1.pending': { valid: [{ deviceId: 'dev_' + 'E'.repeat(22), jwt: 'eyJhbGciOiJFUzI1NiJ9.eyJyZXEiOiJhbnN3ZXIifQ.c2ln' }], invalid: [{ deviceId: 'dev_' + 'E'.repeat(22) }, { deviceId: 'dev_' + 'E'.repeat(22), jwt: 'a.b' }] },
  'warden.push.v1.answer': { valid: [{ challengeId: 'pch_' + 'D'.repeat(22), jwt: 'eyJhbGciOiJFUzI1NiJ9.eyJyZXEiOiJhbnN3ZXIifQ.c2ln' }], invalid: [{ challengeId: 'pch_' + 'D'.repeat(22), jwt: 'eyJhbGciOiJFUzI1NiJ9.eyJyZXEiOiJhbnN3ZXIifQ.c2ln', number: 42 }] },
  'warden.sms.v1.challenge': { valid: [{ userId: user, flowId, phoneId: 'ph_' + 'E'.repeat(22) }], invalid: [{ userId: user, flowId, phoneId: '+4712345678' }] },
  'warden.sms.v1.verify': { valid: [{ userId: user, flowId, code: '123456' }], invalid: [{ userId: user, flowId, code: '12 456' }] },
  'warden.webauthn.v1.enroll': { valid: [{ userId: user }, { userId: user, userName: 'alice@example.com', userVerification: 'required' }], invalid: [{ userId: user, userName: '' }, { userId: user, userVerification: 'discouraged' }] },
  'warden.webauthn.v1.confirm': { valid: [{ userId: user, name: 'YubiKey 5', response: { id: 'abc', type: 'public-key' } }], invalid: [{ userId: user, name: '', response: {} }, { userId: user, name: 'a\nb', response: {} }, { userId: user, name: 'k', response: 'abc' }] },
  'warden.webauthn.v1.options': { valid: [{ userId: user, flowId }, { userId: user, flowId, userVerification: 'required' }], invalid: [{ userId: user }, { userId: user, flowId, userVerification: 'yes' }] },
  'warden.sms.v1.enroll': {
    valid: [{ userId: user, number: '+47 912 34 567' }, { userId: user, number: '+4791234567', ip: '192.0.2.1', locale: 'nb-NO', idempotencyKey: 'K'.repeat(22) }],
    invalid: [{ userId: user }, { userId: user, number: '' }, { userId: user, number: '+'.padEnd(41, '4') }, { userId: user, number: '+4791234567', locale: 'x' }],
  },
  'warden.sms.v1.confirm': { valid: [{ userId: user, phoneId: 'phn_' + 'E'.repeat(22), code: '123456' }], invalid: [{ userId: user, phoneId: 'phn_' + 'E'.repeat(22), code: '12345' }, { userId: user, phoneId: '+4791234567', code: '123456' }] },
  'warden.sms.v1.remove': { valid: [{ userId: user, phoneId: 'phn_' + 'E'.repeat(22) }], invalid: [{ userId: user }] },
  'warden.sms.v1.notify': { valid: [{ userId: user, text: 'Warden: your authenticator app was removed.' }], invalid: [{ userId: user, text: '' }, { userId: user, text: '   ' }, { userId: user, text: 'ok', phone: '+4712345678' }] },
  'warden.webauthn.v1.verify': { valid: [{ userId: user, flowId, response: { id: 'abc', type: 'public-key' } }], invalid: [{ userId: user, flowId, response: 'abc' }] },
  'warden.webauthn.v1.list': { valid: [{ userId: user }], invalid: [{ userId: user, all: true }] },
  'warden.webauthn.v1.rename': { valid: [{ userId: user, id: credentialHandle, name: 'Office key' }], invalid: [{ userId: user, id: 'abc', name: 'Office key' }, { userId: user, id: credentialHandle, name: 'x'.repeat(65) }, { userId: user, id: credentialHandle, name: '   ' }, { userId: user, id: credentialHandle, name: ' key' }] },
  'warden.webauthn.v1.remove': { valid: [{ userId: user, id: credentialHandle }], invalid: [{ userId: user, id: credentialHandle + 'A' }] },
  'warden.recovery.v1.verify': { valid: [{ userId: user, flowId, code: 'ABCD-EFGH-2345-67AB', mode: 'temporary' }, { userId: user, flowId, code: 'ABCDEFGH234567AB', mode: 'permanent' }], invalid: [{ userId: user, flowId, code: 'abcd-efgh-2345-67ab', mode: 'temporary' }, { userId: user, flowId, code: 'ABCD-EFGH-2345-67AB', mode: 'forever' }] },
  'warden.recovery.v1.issue': { valid: [{ userId: user }, { userId: user, idempotencyKey: 'K'.repeat(22) }], invalid: [{ userId: user, idempotencyKey: 'short' }] },
  'warden.recovery.v1.acknowledge': { valid: [{ userId: user }, { userId: user, codeId: 'rcv_' + 'C'.repeat(22) }], invalid: [{ userId: user, stored: true }] },
  'warden.recovery.v1.issueSupportCode': { valid: [{ userId: user }, { userId: user, ttlSec: 86_400 }], invalid: [{ userId: user, ttlSec: 86_401 }, { userId: user, ttlSec: 10 }] },
  'warden.gateway.v1.jwks': { valid: [{}], invalid: [{ userId: user }, null, []] },
  'warden.gateway.v1.introspect': {
    valid: [{ token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln' }],
    invalid: [{}, { token: '' }, { token: 'not a jwt' }, { token: 'a.b' }, { token: 'a.b.c.d' }, { token: 'a.b.c', userId: user }, { token: 'a.b.' }, { token: `a.${'b'.repeat(8200)}.c` }, { token: 7 }, null],
  },
}

export const responseFixtures: Record<string, Fixture> = {
  'warden.notifier.v1.activity': {
    valid: [{ events: [] }, { events: [{ eventId: 'evt_' + 'C'.repeat(22), type: 'factor.removed', occurredAt: at, details: { factor: 'totp' }, context: { clientId: 'demo-app', ip: '203.0.113.1', userAgent: 'UA' } }], nextCursor: 'abc' }],
    invalid: [{ events: [{ eventId: 'evt_' + 'C'.repeat(22), type: 'factor.removed', occurredAt: at, details: { code: '123456' }, context: {} }] }, {}],
  },
  'warden.notifier.v1.audit': { valid: [{ events: [] }], invalid: [{ events: [], nextCursor: '' }] },
  'warden.notifier.v1.putWebhook': {
    valid: [{ created: true, secret: 'whsec_' + 'A'.repeat(32), webhook: { id: 'w', url: 'https://x.example/h', events: ['*'], enabled: true, createdAt: at, updatedAt: at } }],
    invalid: [{ created: true, secret: 'plain', webhook: { id: 'w', url: 'https://x.example/h', events: ['*'], enabled: true, createdAt: at, updatedAt: at } }],
  },
  'warden.notifier.v1.getWebhook': {
    valid: [{ id: 'w', url: 'https://x.example/h', events: ['*'], enabled: true, createdAt: at, updatedAt: at, recentFailures: [{ eventId: 'evt_' + 'C'.repeat(22), userId: user, type: 'user.reset', attempts: 12, enqueuedAt: at, failedAt: at, lastError: 'HTTP 500' }] }],
    invalid: [{ id: 'w', url: 'https://x.example/h', events: ['*'], enabled: true, createdAt: at, updatedAt: at, secret: 'whsec_x' }],
  },
  'warden.notifier.v1.deleteWebhook': { valid: [{ deleted: true }], invalid: [{ deleted: 'yes' }] },
  'warden.notifier.v1.reportNotMe': { valid: [{ result: 'reported', reportedEventId: 'evt_' + 'C'.repeat(22), userId: user }], invalid: [{ result: 'locked' }] },
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
  'warden.factors.v1.describe': { valid: [describeOk, { ...describeOk, factor: 'push', items: [{ id: 'dev_1', label: 'Pixel 8' }] }], invalid: [describeBad, { enrolled: false, items: [] }] },
  'warden.push.v1.challenge': { valid: [{ challengeId: 'pch_' + 'D'.repeat(22), expiresAt: at, numberToMatch: 42 }], invalid: [{ challengeId: 'pch_' + 'D'.repeat(22), expiresAt: at, numberToMatch: 7 }] },
  'warden.push.v1.status': { valid: [{ state: 'approved' }, { state: 'approved', action: 'pay-invoice' }, { state: 'denied', reason: 'not_me' }], invalid: [{ state: 'maybe' }, { state: 'denied', reason: 'bored' }] },
  'warden.push.v1.pairing': { valid: [{ pairingCode: 'C'.repeat(22), expiresAt: at }], invalid: [{ pairingCode: 'short', expiresAt: at }] },
  'warden.push.v1.devices': { valid: [{ devices: [{ deviceId: 'dev_' + 'E'.repeat(22), name: 'Pixel 8', platform: 'android', createdAt: at, active: true, notifications: true }] }], invalid: [{ devices: [{ ...{ deviceId: 'dev_' + 'E'.repeat(22), name: 'Pixel 8', platform: 'android', createdAt: at, active: true, notifications: true }, platform: 'palm' }] }] },
  'warden.push.v1.rename': { valid: [{ deviceId: 'dev_' + 'E'.repeat(22), name: 'Pixel 8', platform: 'android', createdAt: at, active: true, notifications: true }], invalid: [{ ...{ deviceId: 'dev_' + 'E'.repeat(22), name: 'Pixel 8', platform: 'android', createdAt: at, active: true, notifications: true }, name: '' }] },
  'warden.push.v1.unpair': { valid: [{ removed: true }], invalid: [{ removed: 'yes' }] },
  'warden.push.v1.notify': { valid: [{ reached: 2 }, { reached: 0 }], invalid: [{ reached: -1 }, { reached: 1, token: 'x' }] },
  'warden.push.v1.register': { valid: [{ deviceId: 'dev_' + 'E'.repeat(22) }], invalid: [{ deviceId: 'x' }] },
  'warden.push.v1.pending': {
    valid: [{ challenges: [{ challengeId: 'pch_' + 'D'.repeat(22), nonce: 'N'.repeat(22), createdAt: at, expiresAt: at, context: { appName: 'Payroll', action: 'pay' } }] }],
    invalid: [{ challenges: [{ challengeId: 'pch_' + 'D'.repeat(22), nonce: 'N'.repeat(22), createdAt: at, expiresAt: at, context: { appName: 'Payroll' }, numberToMatch: 42 }] }],
  },
  'warden.push.v1.answer': { valid: [{ result: 'approved' }, { result: 'rejected', reason: 'wrong_number', attemptsLeft: 9 }], invalid: [{ result: 'rejected', reason: 'bored' }] },
  'warden.sms.v1.challenge': { valid: [{ reference: '4821', maskedPhone: '+47 ••• •• 678', expiresAt: at }], invalid: [{ reference: '48', maskedPhone: 'x', expiresAt: at }] },
  'warden.sms.v1.verify': { valid: [{ result: 'verified', verifiedAt: at }, { result: 'rejected', reason: 'expired' }], invalid: [{ result: 'rejected', reason: 'replayed' }] },
  'warden.webauthn.v1.enroll': { valid: [{ options: { challenge: 'abc', rp: { id: 'example.com', name: 'Warden' } }, expiresAt: at }], invalid: [{ options: { challenge: 'abc' } }] },
  'warden.webauthn.v1.confirm': { valid: [{ result: 'registered', credential }, { result: 'rejected', reason: 'already_registered' }], invalid: [{ result: 'registered' }, { result: 'rejected', reason: 'invalid_code' }] },
  'warden.webauthn.v1.options': { valid: [{ options: { challenge: 'abc', rpId: 'example.com' }, expiresAt: at }], invalid: [{ options: 'x', expiresAt: at }] },
  'warden.webauthn.v1.verify': {
    valid: [{ result: 'verified', verifiedAt: at, id: credentialHandle, credentialId: 'abc', userVerified: true, amr: 'swk' }, { result: 'rejected', reason: 'suspected_clone', attemptsLeft: 3 }],
    invalid: [{ result: 'verified', verifiedAt: at, id: credentialHandle, credentialId: 'abc', userVerified: true, amr: 'otp' }, { result: 'rejected', reason: 'invalid_code' }],
  },
  'warden.webauthn.v1.list': { valid: [{ rpId: 'example.com', credentials: [] }, { rpId: 'localhost', userHandle: 'AAAA', credentials: [credential] }], invalid: [{ credentials: [] }] },
  'warden.webauthn.v1.rename': { valid: [{ credential }], invalid: [{ credential: { ...credential, synced: 'no' } }] },
  'warden.webauthn.v1.remove': { valid: [{ removed: true, credentialId: 'abc' }], invalid: [{ removed: false, credentialId: 'abc' }] },
  'warden.recovery.v1.verify': { valid: [{ result: 'verified', verifiedAt: at, newCode: 'WXYZ-2345-ABCD-EFGH' }, { result: 'rejected', reason: 'invalid_code' }, { result: 'rejected', reason: 'replayed', attemptsLeft: 9 }], invalid: [{ result: 'reset' }, { result: 'verified', verifiedAt: at, newCode: 'WXYZ2345ABCDEFGH' }] },
  'warden.recovery.v1.issue': { valid: [{ code: 'WXYZ-2345-ABCD-EFGH', codeId: 'rcv_' + 'C'.repeat(22), createdAt: at }], invalid: [{ code: 'wxyz-2345-abcd-efgh', codeId: 'rcv_' + 'C'.repeat(22), createdAt: at }] },
  'warden.recovery.v1.acknowledge': { valid: [{ codeId: 'rcv_' + 'C'.repeat(22), acknowledgedAt: at }], invalid: [{ acknowledgedAt: at }] },
  'warden.recovery.v1.issueSupportCode': { valid: [{ code: 'WXYZ-2345-ABCD-EFGH', codeId: 'rcv_' + 'C'.repeat(22), expiresAt: at }], invalid: [{ code: 'WXYZ-2345-ABCD-EFGH', expiresAt: at }] },
  'warden.sms.v1.enroll': { valid: [{ phoneId: 'phn_' + 'E'.repeat(22), reference: '0042', maskedPhone: '+47 •• •• •• 67', expiresAt: at }], invalid: [{ phoneId: 'phn_' + 'E'.repeat(22), reference: '42', maskedPhone: '+47 •• •• •• 67', expiresAt: at }] },
  'warden.sms.v1.confirm': {
    valid: [{ result: 'verified', phoneId: 'phn_' + 'E'.repeat(22), maskedPhone: '+47 •• •• •• 67', verifiedAt: at }, { result: 'rejected', reason: 'invalid_code', attemptsLeft: 4 }],
    invalid: [{ result: 'verified', phoneId: 'phn_' + 'E'.repeat(22) }],
  },
  'warden.sms.v1.remove': { valid: [{ removed: true }], invalid: [{ removed: 'yes' }] },
  'warden.sms.v1.notify': { valid: [{ reached: 1 }], invalid: [{}] },
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
  'warden.events.v1.credential.flagged': {
    valid: [{ ...envelope, factor: 'webauthn', itemId: credentialHandle, reason: 'counter_regression', storedCounter: 7, reportedCounter: 5 }],
    invalid: [{ ...envelope, factor: 'totp', itemId: credentialHandle, reason: 'counter_regression', storedCounter: 7, reportedCounter: 5 }, { ...envelope, factor: 'webauthn', itemId: credentialHandle }],
  },
  'warden.events.v1.emergencycode.used': { valid: [{ ...envelope, itemId: 'rcv_' + 'C'.repeat(22), kind: 'support', mode: 'permanent' }], invalid: [{ ...envelope, itemId: 'rcv_' + 'C'.repeat(22), kind: 'support', mode: 'permanent', code: 'WXYZ-2345-ABCD-EFGH' }] },
  'warden.events.v1.supportcode.issued': { valid: [{ ...envelope, itemId: 'rcv_' + 'C'.repeat(22), expiresAt: at }], invalid: [{ ...envelope, expiresAt: at }] },
  'warden.events.v1.user.reset': {
    valid: [{ ...envelope, reason: 'admin' }, { ...envelope, reason: 'disabled', validAfter: at }, { ...envelope, reason: 'disabled', context: { clientId: 'demo-app', ip: '::1' } }],
    invalid: [{ ...envelope, reason: 'bored' }, { ...envelope, reason: 'admin', validAfter: 1767225600000 }, { ...envelope, reason: 'admin', validAfter: 'now' }, { ...envelope, reason: 'admin', context: { ip: 'not an ip' } }],
  },
  'warden.events.v1.push.paused': { valid: [{ ...envelope, pausedUntil: at, notMe: true }], invalid: [{ ...envelope, pausedUntil: at }] },
  'warden.events.v1.smsbreaker.opened': {
    valid: [{ eventId: envelope.eventId, occurredAt: at, breaker: 'conversion', callingCode: '47', until: at, sent: 50, verified: 10 }, { eventId: envelope.eventId, occurredAt: at, breaker: 'global', until: at }],
    invalid: [{ eventId: envelope.eventId, occurredAt: at, breaker: 'conversion', callingCode: '+47', until: at }, { ...envelope, breaker: 'global', until: at }],
  },
  'warden.events.v1.recovery.regenerated': { valid: [{ ...envelope, itemId: 'rcv_' + 'D'.repeat(22), reason: 'regenerated' }], invalid: [{ ...envelope, reason: 'regenerated', code: 'ABCD-EFGH' }, { ...envelope, reason: 'lost' }] },
  'warden.events.v1.device.remembered': { valid: [{ ...envelope, deviceId: 'rd_1' }], invalid: [{ ...envelope, token: 'x' }] },
  'warden.events.v1.push.denied': { valid: [{ ...envelope, notMe: true }], invalid: [{ ...envelope }] },
  'warden.events.v1.network.seen': { valid: [{ ...envelope, context: { ip: '198.51.100.7' } }], invalid: [{ ...envelope, context: { secret: 'x' } }] },
  'warden.events.v1.verification.rejected': { valid: [{ ...envelope, factor: 'totp', reason: 'invalid_code' }], invalid: [{ ...envelope, factor: 'totp', reason: 'Invalid Code' }] },
  'warden.events.v1.user.reported': { valid: [{ ...envelope, reportedEventId: 'evt_' + 'D'.repeat(22) }], invalid: [{ ...envelope, reportedEventId: 'x' }] },
}
