// OpenAPI examples that name factors (the methods list, the factor list, an active challenge).
// They live here, with the factors, so the generic schemas (schemas.ts, schemas-admin.ts) name none.

const CREATED = '2026-01-01T00:00:00.000Z'

/** A methods list of POST /v1/signin (challenge), and its default. */
export const startMethodsExample = {
  defaultMethod: 'totp',
  methods: [
    { method: 'totp', available: true, items: [] },
    { method: 'sms', available: true, items: [{ id: 'phn_AAAAAAAAAAAAAAAAAAAAAA', label: '+46 •• ••• •• 12', verified: true }] },
    { method: 'recovery', available: false, items: [] },
  ],
} as const

/** The enrollment steps of POST /v1/signin (enrollment_required). */
export const enrollmentStepsExample = ['totp'] as const

/** A methods list of GET /v1/signin/{id} ("Try another way"), its default and its active challenge. */
export function viewMethodsExample (lockedUntil: string) {
  return {
    defaultMethod: 'push',
    methods: [
      { method: 'push', available: true, items: [{ id: 'dev_AAAAAAAAAAAAAAAAAAAAAA', label: 'Pixel 8' }] },
      { method: 'webauthn', available: true, items: [{ id: 'cred-1', label: 'YubiKey 5' }] },
      { method: 'totp', available: true, lockedUntil, items: [] },
      { method: 'sms', available: false, items: [] },
      { method: 'recovery', available: true, createdAt: CREATED, items: [] },
    ],
    activeChallenge: { method: 'push', challengeId: 'pch_AAAAAAAAAAAAAAAAAAAAAA', expiresAt: lockedUntil },
  } as const
}

/** The factor list of GET /v1/me/factors and GET /v1/admin/users/{sub}/factors. */
export function factorListExample (createdAt = CREATED) {
  return [
    { factor: 'push', available: true, enrolled: false, items: [] },
    { factor: 'webauthn', available: false },
    { factor: 'totp', available: true, enrolled: true, createdAt, items: [] },
    { factor: 'sms', available: true, enrolled: false, items: [] },
    { factor: 'recovery', available: true, enrolled: false, items: [] },
  ] as const
}

/** GET /v1/me/enrollment: a wizard resumed at the emergency code, the backup phone skipped. */
export const wizardStepsExample = [
  { step: 'info', state: 'done' }, { step: 'app', factor: 'totp', state: 'done' }, { step: 'confirm-code', factor: 'totp', state: 'done' },
  { step: 'phone', factor: 'sms', state: 'skipped', optional: true }, { step: 'sms-code', factor: 'sms', state: 'skipped', optional: true },
  { step: 'emergency-code', factor: 'recovery', state: 'current' }, { step: 'done', state: 'todo' },
]

/** A security activity entry (GET /v1/me/activity): the authenticator app removed. */
export const activityDetailsExample = { factor: 'totp', itemId: 'totp_RXhhbXBsZUVucm9sbG1lbnQ' }

/** The demo inbox (GET /v1/demo/outbox): one SMS as the fake Vonage received it. */
export const outboxMessageExample = { channel: 'sms', to: '+4791234567', text: '123456 is your Warden sign-in code. Reference: 4821. It expires in 5 minutes. Do not share it.\n\n@localhost #123456', sentAt: '2026-11-23T09:30:00.000Z' }
