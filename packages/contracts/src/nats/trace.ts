import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api'
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node'

const tracer = trace.getTracer('@warden/contracts')

const setter = { set: (h: MsgHdrs, k: string, v: string) => { h.set(k, v) } }
const getter = {
  keys: (h: MsgHdrs | undefined) => (h ? h.keys() : []),
  get: (h: MsgHdrs | undefined, k: string) => h?.get(k) || undefined,
}

/** Headers carrying the active W3C trace context (traceparent/tracestate), for an outgoing message. */
export function traceHeaders (ctx: Context = context.active()): MsgHdrs {
  const h = natsHeaders()
  propagation.inject(ctx, h, setter)
  return h
}

/** The trace context an incoming message carries, to parent the span of its handling. */
export function extractTrace (h: MsgHdrs | undefined): Context {
  return propagation.extract(context.active(), h, getter)
}

/**
 * Runs `fn` in a span. Only the subject and outcome codes become attributes: never payloads,
 * which may hold codes or secrets.
 */
export async function inSpan<T> (
  name: string, kind: 'client' | 'server' | 'producer', subject: string, parent: Context,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const spanKind = kind === 'client' ? SpanKind.CLIENT : kind === 'server' ? SpanKind.SERVER : SpanKind.PRODUCER
  return tracer.startActiveSpan(name, {
    kind: spanKind,
    attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject },
  }, parent, async (span) => {
    try {
      return await fn(span)
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'INTERNAL'
      span.setAttribute('warden.error_code', code)
      span.setStatus({ code: SpanStatusCode.ERROR, message: code })
      throw err
    } finally {
      span.end()
    }
  })
}
