import { runPlaceholderFactor } from '@warden/service-kit'

// Deployed ahead of its factor: registers with NATS micro, answers `describe` with nothing enrolled.
await runPlaceholderFactor({ service: 'factor-sms', factor: 'sms', description: 'Warden sms factor (not built yet)' })
