import { runPlaceholderFactor } from '@warden/service-kit'

// Deployed ahead of its factor: registers with NATS micro, answers `describe` with nothing enrolled.
await runPlaceholderFactor({ service: 'factor-webauthn', factor: 'webauthn', description: 'Warden webauthn factor (not built yet)' })
