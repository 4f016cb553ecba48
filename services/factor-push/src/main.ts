import { describePush } from '@warden/contracts'
import { runPlaceholderFactor } from '@warden/service-kit'

// Deployed ahead of its factor: registers with NATS micro and answers `describe` with nothing enrolled.
await runPlaceholderFactor({ service: 'factor-push', factor: 'push', describe: describePush, description: 'Warden push factor (not built yet)' })
