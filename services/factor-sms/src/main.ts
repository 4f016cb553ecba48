import { describeSms } from '@warden/contracts'
import { runPlaceholderFactor } from '@warden/service-kit'

// Deployed ahead of its factor: registers with NATS micro and answers `describe` with nothing enrolled.
await runPlaceholderFactor({ service: 'factor-sms', factor: 'sms', describe: describeSms, description: 'Warden sms factor (not built yet)' })
