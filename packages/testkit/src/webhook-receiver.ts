import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request a webhook receiver got. */
export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** What the receiver answered. */
  readonly status: number
  readonly receivedAt: Date
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hook` */
  readonly url: string
  /** Every request, in arrival order, including the ones answered with an error. */
  readonly requests: ReceivedWebhook[]
  /** The requests answered 2xx. */
  accepted: () => ReceivedWebhook[]
  /** Answer every next request with this status (200 by default). */
  respondWith: (status: number) => void
  /** Hold every next answer this long (a slow receiver). */
  delayBy: (ms: number) => void
  /** Stop listening: the port refuses connections until `start()`. */
  stop: () => Promise<void>
  /** Listen again, on the same port. */
  start: () => Promise<void>
}

/**
 * A local HTTP endpoint that records webhook deliveries, for tests of a webhook sender. It can
 * be down (closed port), failing (any status) or slow. Closed when the test ends.
 */
export async function startWebhookReceiver (t: { teardown: (fn: () => unknown) => void }): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = []
  let status = 200
  let delayMs = 0
  let port = 0
  let server: Server | undefined
  const listen = async (): Promise<void> => {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const answer = status
        requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: answer, receivedAt: new Date() })
        const reply = (): void => { res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'no') }
        if (delayMs > 0) setTimeout(reply, delayMs).unref()
        else reply()
      })
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => { resolve() })
    })
    port = (s.address() as AddressInfo).port
    server = s
  }
  const stop = async (): Promise<void> => {
    const s = server
    server = undefined
    if (s === undefined) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => { resolve() }))
  }
  await listen()
  t.teardown(stop)
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    respondWith: (s) => { status = s },
    delayBy: (ms) => { delayMs = ms },
    stop,
    start: async () => { if (server === undefined) await listen() },
  }
}

const header = (headers: IncomingHttpHeaders | Record<string, string>, name: string): string | undefined => {
  const v = (headers as Record<string, string | string[] | undefined>)[name]
  return Array.isArray(v) ? v[0] : v
}

/**
 * Verifies a Standard Webhooks delivery the way a receiver should (standardwebhooks.com), written
 * apart from Warden's signer so a test of the signer can fail: the HMAC-SHA256 of
 * `${webhook-id}.${webhook-timestamp}.${body}` under the base64 key after `whsec_` must equal one
 * of the space-separated `v1,` signatures, and the timestamp must be within `toleranceSec` of now.
 */
export function verifyStandardWebhook (
  secret: string, headers: IncomingHttpHeaders | Record<string, string>, body: string,
  opts: { now?: Date, toleranceSec?: number } = {},
): boolean {
  const id = header(headers, 'webhook-id')
  const timestamp = header(headers, 'webhook-timestamp')
  const signatures = header(headers, 'webhook-signature')
  if (id === undefined || timestamp === undefined || signatures === undefined || !/^[0-9]+$/.test(timestamp)) return false
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000)
  if (Math.abs(now - Number(timestamp)) > (opts.toleranceSec ?? 300)) return false
  if (!secret.startsWith('whsec_')) return false
  const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`${id}.${timestamp}.${body}`).digest()
  return signatures.split(' ').some((s) => {
    const [version, mac] = s.split(',')
    if (version !== 'v1' || mac === undefined) return false
    const given = Buffer.from(mac, 'base64')
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}
