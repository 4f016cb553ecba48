import { runPlaceholderFactor } from '@warden/service-kit'

// Deployed ahead of its factor: registers with NATS micro, answers `describe` with nothing enrolled.
await runPlaceholderFactor({ service: 'recovery', factor: 'recovery', description: 'Warden recovery factor (not built yet)' })
