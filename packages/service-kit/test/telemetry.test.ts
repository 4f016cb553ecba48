// Telemetry at start: without any OTEL_* setting the SDK is not even loaded (it costs ~20 MiB per
// process) yet trace context still passes through; with an OTLP endpoint spans are exported.
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { telemetryConfigured } from '../src/telemetry.js'

const here = dirname(fileURLToPath(import.meta.url))
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const PARENT_SPAN = 'b7ad6b7169203331'
const INCOMING = `00-${TRACE_ID}-${PARENT_SPAN}-01`

async function runChild (env: Record<string, string>): Promise<{ passedOn: string, sdkLoaded: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'telemetry-child.ts')], {
    cwd: join(here, '..'),
    env: { PATH: process.env.PATH ?? '', INCOMING_TRACEPARENT: INCOMING, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`telemetry child exited with ${code}: ${err.slice(-2000)}`)
  return JSON.parse(out.trim().split('\n').at(-1) as string) as { passedOn: string, sdkLoaded: boolean }
}

t.test('only an OTEL_* variable with a value counts as configured', async (t) => {
  t.notOk(telemetryConfigured({}))
  t.notOk(telemetryConfigured({ PATH: '/bin', OTEL_EXPORTER_OTLP_ENDPOINT: '' }))
  t.ok(telemetryConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }))
  t.ok(telemetryConfigured({ OTEL_TRACES_EXPORTER: 'console' }))
  t.ok(telemetryConfigured({ OTEL_SDK_DISABLED: 'true' }), 'whatever it asks, the SDK decides as before')
})

t.test('nothing configured: no SDK loaded, the incoming trace context is passed on', async (t) => {
  const { passedOn, sdkLoaded } = await runChild({})
  t.equal(sdkLoaded, false, 'the OpenTelemetry SDK is not loaded')
  // No span is recorded here, so the next hop's parent is the caller's span.
  t.equal(passedOn, INCOMING, 'the traceparent passes through, across an await')
})

t.test('an OTLP endpoint configured: the SDK exports the span, in the caller\'s trace', async (t) => {
  const posts: Array<{ url: string, body: string }> = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => { posts.push({ url: req.url ?? '', body }); res.writeHead(200, { 'content-type': 'application/json' }).end('{}') })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { receiver.close() })
  const address = receiver.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const { passedOn, sdkLoaded } = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` })
  t.equal(sdkLoaded, true)
  const [, traceId, spanId] = passedOn.split('-')
  t.equal(traceId, TRACE_ID, 'same trace')
  t.not(spanId, PARENT_SPAN, 'the next hop\'s parent is the span recorded here')
  // The process flushes its spans as it exits (beforeExit), so they have arrived by now.
  const traces = posts.filter((p) => p.url === '/v1/traces')
  t.equal(traces.length, 1, 'one OTLP export')
  const body = traces[0]?.body ?? ''
  t.match(body, 'telemetry-test process', 'the span')
  t.match(body, /"service\.name","value":\{"stringValue":"telemetry-test"\}/, 'the service name')
  t.match(body, TRACE_ID, 'in the caller\'s trace')
})
