import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, Agent, type Server } from 'node:https'
import type { IncomingMessage, RequestOptions, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type ConnectionOptions } from 'node:tls'
import { promisify } from 'node:util'
import type { Duplex } from 'node:stream'
import type { Teardownable } from './index.js'

/** How the fake answers one send: success, or one of FCM v1's error codes. */
export type FcmOutcome = 'ok' | 'UNREGISTERED' | 'QUOTA_EXCEEDED' | 'UNAVAILABLE' | 'INTERNAL' | 'INVALID_ARGUMENT'

/** One request the fake received, as firebase-admin sent it. */
export interface FcmRequest {
  method: string
  /** The Host header: fcm.googleapis.com, although the connection came to the fake. */
  host: string
  path: string
  authorization: string
  /** The `message` of the v1 send body. */
  message: {
    token?: string
    data?: Record<string, string>
    notification?: unknown
    android?: { ttl?: string, priority?: string }
    apns?: { headers?: Record<string, string>, payload?: unknown }
    [k: string]: unknown
  }
  outcome: FcmOutcome
}

export interface FakeFcm {
  readonly port: number
  readonly projectId: string
  /** Every HTTPS request made through it dials the fake, whatever its host (ECOSYSTEM.md §8). */
  readonly agent: Agent
  /** A firebase-admin credential that needs no Google account. */
  readonly credential: { getAccessToken: () => Promise<{ access_token: string, expires_in: number }> }
  readonly requests: FcmRequest[]
  /** Scripts the next answers for `token`, in order; after them, `ok`. */
  respond: (token: string, ...outcomes: FcmOutcome[]) => void
  stop: () => Promise<void>
}

const STATUS: Record<Exclude<FcmOutcome, 'ok'>, [number, string]> = {
  UNREGISTERED: [404, 'NOT_FOUND'],
  QUOTA_EXCEEDED: [429, 'RESOURCE_EXHAUSTED'],
  UNAVAILABLE: [503, 'UNAVAILABLE'],
  INTERNAL: [500, 'INTERNAL'],
  INVALID_ARGUMENT: [400, 'INVALID_ARGUMENT'],
}

const FAKE_ACCESS_TOKEN = 'fake-fcm-access-token'

/** A self-signed P-256 certificate for the fake, made with openssl at test time (nothing checked in). */
async function selfSignedCert (): Promise<{ key: Buffer, cert: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-fcm-'))
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=fcm.googleapis.com', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ])
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * A local stand-in for FCM's HTTP v1 API (`POST /v1/projects/{id}/messages:send`) over HTTPS.
 * firebase-admin has no messaging emulator; pass `agent` as the app's `httpAgent` and `credential`
 * as its credential, and every send lands here. Answers per token can be scripted.
 */
export async function startFakeFcm (t?: Teardownable, opts: { projectId?: string } = {}): Promise<FakeFcm> {
  const projectId = opts.projectId ?? 'warden-test'
  const { key, cert } = await selfSignedCert()
  const requests: FcmRequest[] = []
  const scripts = new Map<string, FcmOutcome[]>()
  let sent = 0

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const reply = (status: number, json: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' })
      res.end(JSON.stringify(json))
    }
    if (req.method !== 'POST' || req.url !== `/v1/projects/${projectId}/messages:send`) {
      reply(404, { error: { code: 404, message: 'not found', status: 'NOT_FOUND' } })
      return
    }
    if (req.headers.authorization !== `Bearer ${FAKE_ACCESS_TOKEN}`) {
      reply(401, { error: { code: 401, message: 'missing or wrong access token', status: 'UNAUTHENTICATED' } })
      return
    }
    let message: FcmRequest['message']
    try {
      message = (JSON.parse(body) as { message: FcmRequest['message'] }).message
    } catch {
      reply(400, { error: { code: 400, message: 'body is not JSON', status: 'INVALID_ARGUMENT' } })
      return
    }
    const token = message?.token ?? ''
    const outcome = scripts.get(token)?.shift() ?? 'ok'
    requests.push({ method: req.method, host: req.headers.host ?? '', path: req.url, authorization: req.headers.authorization, message, outcome })
    if (outcome === 'ok') {
      reply(200, { name: `projects/${projectId}/messages/fake-${++sent}` })
      return
    }
    const [status, canonical] = STATUS[outcome]
    reply(status, {
      error: {
        code: status,
        message: `fake FCM answers ${outcome}`,
        status: canonical,
        details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: outcome }],
      },
    })
  }

  const server: Server = createServer({ key, cert }, (req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => { handle(req, res, body) })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve() })
  })
  const port = (server.address() as AddressInfo).port

  /** Dials the fake for every host; the fake's certificate is self-signed, so it is not verified. */
  class LoopbackAgent extends Agent {
    override createConnection (options: RequestOptions): Duplex {
      return connect({ ...(options as ConnectionOptions), host: '127.0.0.1', port, rejectUnauthorized: false })
    }
  }
  const agent = new LoopbackAgent({ keepAlive: false })

  const fake: FakeFcm = {
    port,
    projectId,
    agent,
    credential: { getAccessToken: async () => ({ access_token: FAKE_ACCESS_TOKEN, expires_in: 3600 }) },
    requests,
    respond: (token, ...outcomes) => { scripts.set(token, [...(scripts.get(token) ?? []), ...outcomes]) },
    stop: async () => {
      agent.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    },
  }
  t?.teardown(() => fake.stop())
  return fake
}
