import { runPlaceholderFactor } from '@warden/service-kit'

// Deployed ahead of its factor: registers with NATS micro, answers `describe` with nothing enrolled.
await runPlaceholderFactor({ service: 'factor-push', factor: 'push', description: 'Warden push factor (not built yet)' })
