import { NodeSDK } from '@opentelemetry/sdk-node'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'

/**
 * Starts OpenTelemetry for a service process. Preloaded with `node --import ./dist/telemetry.js`
 * so instrumentation is in place before anything else loads. Traces are exported over OTLP/HTTP
 * when OTEL_EXPORTER_OTLP_ENDPOINT is set; W3C trace context is propagated either way.
 */
export function startTelemetry (serviceName: string): void {
  // The SDK reads the standard OTEL_* variables itself; this is the one place outside config.ts that does.
  const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  const sdk = new NodeSDK({
    serviceName,
    ...(endpoint !== undefined && endpoint !== '' ? { traceExporter: new OTLPTraceExporter() } : {}),
  })
  sdk.start()
  const stop = (): void => { void sdk.shutdown().catch(() => {}) }
  process.once('beforeExit', stop)
}
