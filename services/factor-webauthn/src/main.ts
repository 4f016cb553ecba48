import { describeWebauthn } from '@warden/contracts'
import { runPlaceholderFactor } from '@warden/service-kit'

// Deployed ahead of its factor: registers with NATS micro and answers `describe` with nothing enrolled.
await runPlaceholderFactor({ service: 'factor-webauthn', factor: 'webauthn', describe: describeWebauthn, description: 'Warden webauthn factor (not built yet)' })
