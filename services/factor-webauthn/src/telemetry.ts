// Preloaded with `node --import ./dist/telemetry.js` so instrumentation is in place before main.ts loads.
import { startTelemetry } from '@warden/service-kit/telemetry'

await startTelemetry('factor-webauthn')
