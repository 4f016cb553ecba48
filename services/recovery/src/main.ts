import { describeRecovery } from '@warden/contracts'
import { runPlaceholderFactor } from '@warden/service-kit'

// Deployed ahead of its factor: registers with NATS micro and answers `describe` with nothing enrolled.
await runPlaceholderFactor({ service: 'recovery', factor: 'recovery', describe: describeRecovery, description: 'Warden recovery factor (not built yet)' })
