import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

/** One request to the fake's SMS API, as the fake understood it. */
export interface FakeSms {
  readonly messageId: string
  /** As sent: digits without '+', like Vonage expects. */
  readonly to: string
  readonly from: string
  readonly text: string
  readonly clientRef?: string
  /** The Vonage status answered: "0" accepted, anything else refused. */
  readonly status: string
  readonly receivedAt: string
}

export interface FakeVonage {
  /** The `restHost` to give the SDK. */
  readonly url: string
  readonly port: number
  readonly apiKey: string
  readonly apiSecret: string
  /** Every SMS request, oldest first, with the status it got. */
  messages: () => FakeSms[]
  /** Accepted messages only, newest first, at most `limit` (50): what a demo inbox shows. */
  outbox: (limit?: number) => FakeSms[]
  /** Statuses for the next requests, in order (e.g. '1', '1', '0'); then "0" again. */
  answerNext: (...statuses: string[]) => void
  clear: () => void
  close: () => Promise<void>
}

export interface FakeVonageOptions {
  apiKey?: string
  apiSecret?: string
  host?: string
  /** 0 (default) picks a free port. */
  port?: number
  /** Called for each accepted message: `npm start` prints it, so a person can read the code. */
  onMessage?: (sms: FakeSms) => void
  now?: () => Date
}

const ERROR_TEXT: Record<string, string> = {
  1: 'Throttled', 2: 'Missing params', 3: 'Invalid params', 4: 'Invalid credentials', 5: 'Internal error',
  6: 'Invalid message', 7: 'Number barred', 8: 'Partner account barred', 9: 'Partner quota violation',
}

const MAX_BODY = 64 * 1024
const KEEP = 1000

async function readBody (req: IncomingMessage): Promise<string> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new Error('body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function parseParams (body: string, contentType: string | undefined): Record<string, string> {
  if (contentType?.startsWith('application/json') === true) {
    const data = JSON.parse(body) as Record<string, unknown>
    return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, String(v)]))
  }
  return Object.fromEntries(new URLSearchParams(body))
}

function basicAuth (header: string | undefined): [string, string] | undefined {
  if (header?.startsWith('Basic ') !== true) return undefined
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  return i < 0 ? undefined : [decoded.slice(0, i), decoded.slice(i + 1)]
}

/**
 * A loopback stand-in for Vonage's SMS API (`POST /sms/json`), for tests and the demo. It checks
 * the credentials (a wrong pair answers status 4, as Vonage does), records every message, and
 * answers the statuses it is told to. Its own HTTP API lets another process read and steer it:
 * `GET /_fake/messages?limit=50` (accepted, newest first), `GET /_fake/outbox` (the same as the
 * demo inbox shows them: `{messages: [{channel, to, text, sentAt}]}`), `POST /_fake/answers
 * {statuses}`, `DELETE /_fake/messages`.
 */
export async function startFakeVonage (opts: FakeVonageOptions = {}): Promise<FakeVonage> {
  const apiKey = opts.apiKey ?? 'fake-key'
  const apiSecret = opts.apiSecret ?? 'fake-secret'
  const now = opts.now ?? (() => new Date())
  const log: FakeSms[] = []
  const queued: string[] = []
  let n = 0

  const outbox = (limit = 50): FakeSms[] => log.filter((m) => m.status === '0').reverse().slice(0, Math.max(0, limit))

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }

  const handleSms = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    let params: Record<string, string>
    try {
      params = parseParams(body, req.headers['content-type'])
    } catch {
      send(res, 400, { error: 'malformed body' })
      return
    }
    const auth = basicAuth(req.headers.authorization) ?? [params['api_key'] ?? '', params['api_secret'] ?? '']
    const to = params['to'] ?? ''
    let status = queued.shift() ?? '0'
    if (auth[0] !== apiKey || auth[1] !== apiSecret) status = '4'
    else if (to === '' || (params['from'] ?? '') === '' || (params['text'] ?? '') === '') status = '2'
    const sms: FakeSms = {
      messageId: `fake-${++n}-${randomBytes(4).toString('hex')}`,
      to,
      from: params['from'] ?? '',
      text: params['text'] ?? '',
      ...(params['client-ref'] === undefined ? {} : { clientRef: params['client-ref'] }),
      status,
      receivedAt: now().toISOString(),
    }
    log.push(sms)
    if (log.length > KEEP) log.splice(0, log.length - KEEP)
    if (status === '0') opts.onMessage?.(sms)
    send(res, 200, {
      'message-count': '1',
      messages: [status === '0'
        ? { to, 'message-id': sms.messageId, status, 'remaining-balance': '10.00', 'message-price': '0.05', network: '24201', ...(sms.clientRef === undefined ? {} : { 'client-ref': sms.clientRef }) }
        : { to, status, 'error-text': ERROR_TEXT[status] ?? 'Error' }],
    })
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake')
    readBody(req).then((body) => {
      if (req.method === 'POST' && url.pathname === '/sms/json') { handleSms(req, res, body); return }
      if (req.method === 'GET' && url.pathname === '/_fake/messages') {
        const limit = Number(url.searchParams.get('limit') ?? '50')
        send(res, 200, { messages: outbox(Number.isInteger(limit) ? limit : 50) })
        return
      }
      if (req.method === 'GET' && url.pathname === '/_fake/outbox') {
        // The demo inbox's shape (GET /v1/demo/outbox of the gateway), so the gateway only relays it.
        const limit = Number(url.searchParams.get('limit') ?? '50')
        const messages = outbox(Number.isInteger(limit) ? Math.min(limit, 50) : 50)
          .map((m) => ({ channel: 'sms', to: `+${m.to}`, text: m.text, sentAt: m.receivedAt }))
        send(res, 200, { messages })
        return
      }
      if (req.method === 'POST' && url.pathname === '/_fake/answers') {
        const statuses = (JSON.parse(body) as { statuses?: unknown }).statuses
        if (!Array.isArray(statuses) || !statuses.every((s) => typeof s === 'string' && /^\d{1,2}$/.test(s))) { send(res, 400, { error: 'statuses: string[]' }); return }
        queued.push(...(statuses as string[]))
        send(res, 204, {})
        return
      }
      if (req.method === 'DELETE' && url.pathname === '/_fake/messages') { log.length = 0; send(res, 204, {}); return }
      send(res, 404, { error: 'not found' })
    }).catch(() => { send(res, 400, { error: 'bad request' }) })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve)
  })
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    apiKey,
    apiSecret,
    messages: () => [...log],
    outbox,
    answerNext: (...statuses) => { queued.push(...statuses) },
    clear: () => { log.length = 0; queued.length = 0 },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => { resolve() })
    }),
  }
}
