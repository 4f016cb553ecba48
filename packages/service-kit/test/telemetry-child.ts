// Run by telemetry.test.ts in a process of its own (OpenTelemetry's globals are per process):
// starts telemetry as a service's preload does, handles one traced "request" the way serve()
// does, and prints what it would pass on and whether the SDK got loaded.
import { createRequire } from 'node:module'
import { headers } from '@nats-io/transport-node'
import { extractTrace, inSpan, traceHeaders } from '@warden/contracts/nats'
import { startTelemetry } from '../src/telemetry.js'

await startTelemetry('telemetry-test')
const incoming = headers()
incoming.set('traceparent', process.env.INCOMING_TRACEPARENT ?? '')
const passedOn = await inSpan('telemetry-test process', 'server', 'warden.test.v1.probe', extractTrace(incoming), async () => {
  // The trace context must survive an await (the context manager's job), as in every handler.
  await new Promise((resolve) => setTimeout(resolve, 5))
  return traceHeaders().get('traceparent')
})
const sdkLoaded = Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/@opentelemetry/sdk-node/'))
process.stdout.write(JSON.stringify({ passedOn, sdkLoaded }) + '\n')
