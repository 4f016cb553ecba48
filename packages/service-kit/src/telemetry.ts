import { context, propagation } from '@opentelemetry/api'

/** True when any OTEL_* variable is set: the operator asked the OpenTelemetry SDK for something. */
export function telemetryConfigured (env: NodeJS.ProcessEnv = process.env): boolean {
  return Object.entries(env).some(([name, value]) => name.startsWith('OTEL_') && value !== undefined && value !== '')
}

/**
 * Starts OpenTelemetry for a service process. Preloaded with `node --import ./dist/telemetry.js`
 * so instrumentation is in place before anything else loads. Traces are exported over OTLP/HTTP
 * when OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set, or to what OTEL_TRACES_EXPORTER
 * names; W3C trace context (and baggage) is propagated either way.
 */
export async function startTelemetry (serviceName: string): Promise<void> {
  // The SDK reads the standard OTEL_* variables itself; this is the one place outside config.ts that does.
  const env = process.env
  if (!telemetryConfigured(env)) {
    // Nothing to export to: what the SDK would register here is exactly a context manager and the
    // W3C propagators (no tracer provider without a span processor), so an incoming traceparent
    // still passes through. The SDK itself (every exporter, metrics and logs included) costs
    // ~20 MiB of RSS per process and its default metric and log exporters would post into the
    // void: it is only loaded when some OTEL_* variable asks for it.
    const [{ AsyncLocalStorageContextManager }, { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator }] = await Promise.all([
      import('@opentelemetry/context-async-hooks'), import('@opentelemetry/core'),
    ])
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }))
    return
  }
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'), import('@opentelemetry/exporter-trace-otlp-http'),
  ])
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT
  const exporterNamed = env.OTEL_TRACES_EXPORTER !== undefined && env.OTEL_TRACES_EXPORTER !== ''
  const sdk = new NodeSDK({
    serviceName,
    ...(endpoint !== undefined && endpoint !== ''
      ? { traceExporter: new OTLPTraceExporter() }
      // Nowhere to send spans: record none. Left to itself the SDK would default to OTLP on
      // localhost:4318 and serialise and post every span into the void (seen in the sign-in
      // CPU profile, bench/FIXES.md). An incoming traceparent still passes through.
      : exporterNamed ? {} : { spanProcessors: [] }),
  })
  sdk.start()
  const stop = (): void => { void sdk.shutdown().catch(() => {}) }
  process.once('beforeExit', stop)
}
