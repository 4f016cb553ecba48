import { ENDPOINTS, EVENTS } from './catalog.js'
import { describeFactors } from './factors/index.js'
import { ErrorBody } from './errors.js'

/** JSON-safe copy of a TypeBox schema (drops symbols and non-enumerable helpers). */
const plain = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema))
const id = (subject: string): string => subject.replaceAll('.', '_')

/** An AsyncAPI 3.0 document describing every subject Warden uses. */
export function buildAsyncApi (version: string): Record<string, unknown> {
  const channels: Record<string, unknown> = {}
  const operations: Record<string, unknown> = {}
  const messages: Record<string, unknown> = { ErrorBody: { name: 'ErrorBody', payload: plain(ErrorBody) } }
  for (const e of ENDPOINTS) {
    const c = id(e.subject)
    messages[`${c}_request`] = { name: `${e.name} request`, payload: plain(e.request) }
    messages[`${c}_response`] = { name: `${e.name} response`, payload: plain(e.response) }
    channels[c] = {
      address: e.subject,
      description: `${e.summary}. Errors: ${e.errors.join(', ')} (Nats-Service-Error / Nats-Service-Error-Code headers, ErrorBody payload).`,
      messages: { request: { $ref: `#/components/messages/${c}_request` } },
    }
    channels[`${c}_reply`] = {
      address: null,
      description: `Reply inbox for ${e.subject}`,
      messages: {
        response: { $ref: `#/components/messages/${c}_response` },
        error: { $ref: '#/components/messages/ErrorBody' },
      },
    }
    operations[c] = {
      action: 'receive',
      channel: { $ref: `#/channels/${c}` },
      summary: e.summary,
      reply: { channel: { $ref: `#/channels/${c}_reply` } },
      // The scatter describe is answered by every factor service, each in a queue group named after itself.
      bindings: { nats: e === describeFactors ? {} : { queue: 'q' } },
    }
  }
  for (const ev of EVENTS) {
    const c = id(ev.subject)
    messages[c] = { name: ev.subject, payload: plain(ev.payload) }
    channels[c] = { address: ev.subject, description: ev.summary, messages: { event: { $ref: `#/components/messages/${c}` } } }
    operations[c] = { action: 'send', channel: { $ref: `#/channels/${c}` }, summary: ev.summary }
  }
  return {
    asyncapi: '3.0.0',
    info: { title: 'Warden bus', version, description: 'Request/reply subjects of the gateway and the factor services, and the security events on WARDEN_EVENTS.' },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages },
  }
}
