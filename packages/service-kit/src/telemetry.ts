import { NodeSDK } from '@opentelemetry/sdk-node'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'

/**
 * Starts OpenTelemetry for a service process. Preloaded with `node --import ./dist/telemetry.js`
 * so instrumentation is in place before anything else loads. Traces are exported over OTLP/HTTP
 * when OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set, or to what OTEL_TRACES_EXPORTER
 * names; W3C trace context is propagated either way.
 */
export function startTelemetry (serviceName: string): void {
  // The SDK reads the standard OTEL_* variables itself; this is the one place outside config.ts that does.
  const env = process.env
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
