import { randomUUID } from 'node:crypto'
import type { Agent } from 'node:http'
import type { Clock, Log } from '@warden/service-kit'
import { cert, deleteApp, initializeApp, type Credential, type ServiceAccount } from 'firebase-admin/app'
import { getMessaging, type Messaging } from 'firebase-admin/messaging'
import type { PushSender, SendResult } from '../ports.js'

export interface FcmSenderOptions {
  /** From config (a service account through `fcmCredential`), or any object with getAccessToken() in tests. */
  credential: Credential
  projectId: string
  /** Every FCM request goes through it (tests dial a local fake with it). */
  httpAgent?: Agent
  /** Retries of UNAVAILABLE/INTERNAL, each only if it can still start before the challenge expires. */
  maxRetries: number
  /** The first retry's delay; it doubles at each retry. */
  retryDelayMs: number
  clock: Clock
  sleep?: (ms: number) => Promise<void>
  log?: Pick<Log, 'warn'>
}

export interface FcmPushSender extends PushSender {
  /** Deletes the Firebase app (one per sender, so one per process in production). */
  close: () => Promise<void>
}

/** The service account in FCM_SERVICE_ACCOUNT_JSON as a firebase-admin credential and its project. */
export function fcmCredential (serviceAccountJson: string): { credential: Credential, projectId: string } {
  let account: ServiceAccount & { project_id?: string }
  try {
    account = JSON.parse(serviceAccountJson) as ServiceAccount & { project_id?: string }
  } catch {
    // Never echo the value: it holds a private key.
    throw new Error('invalid configuration: FCM_SERVICE_ACCOUNT_JSON is not JSON')
  }
  const projectId = account.projectId ?? account.project_id
  if (typeof projectId !== 'string' || projectId === '') throw new Error('invalid configuration: FCM_SERVICE_ACCOUNT_JSON has no project_id')
  return { credential: cert(account), projectId }
}

const RETRYABLE = new Set(['messaging/server-unavailable', 'messaging/internal-error'])

/** firebase-admin's error code for FCM's: UNREGISTERED, QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL. */
function classify (err: unknown): { result: SendResult, retry: boolean } {
  const code = typeof err === 'object' && err !== null ? String((err as { code?: unknown }).code ?? '') : ''
  if (code === 'messaging/registration-token-not-registered') return { result: { status: 'unregistered' }, retry: false }
  // QUOTA_EXCEEDED (and RESOURCE_EXHAUSTED) come out as message-rate-exceeded.
  if (code === 'messaging/message-rate-exceeded') return { result: { status: 'quota_exceeded' }, retry: false }
  return { result: { status: 'failed', reason: code === '' ? 'unknown' : code }, retry: RETRYABLE.has(code) }
}

/**
 * FCM through firebase-admin: data messages only, high priority, living as long as the challenge
 * (android.ttl and apns-expiration). firebase-admin's own retry of 503s (up to 4, seconds apart)
 * is switched off so this adapter's policy is the only one: at most `maxRetries`, within the TTL.
 */
export function createFcmPushSender (opts: FcmSenderOptions): FcmPushSender {
  const app = initializeApp({
    credential: opts.credential,
    projectId: opts.projectId,
    ...(opts.httpAgent === undefined ? {} : { httpAgent: opts.httpAgent }),
  }, `warden-push-${randomUUID()}`)
  const messaging: Messaging = getMessaging(app)
  const handler = (messaging as unknown as { messagingRequestHandler?: { httpClient?: { retry?: unknown } } }).messagingRequestHandler
  if (handler?.httpClient === undefined || !('retry' in handler.httpClient)) {
    throw new Error('firebase-admin internals changed: cannot turn off its retries (check the FCM retry policy)')
  }
  handler.httpClient.retry = undefined
  const sleep = opts.sleep ?? (async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) })

  async function sendOnce (msg: Parameters<PushSender['send']>[0]): Promise<void> {
    const ttlMs = Math.max(0, Math.floor(msg.ttlMs))
    await messaging.send({
      token: msg.token,
      data: { ...msg.data },
      android: { priority: 'high', ttl: ttlMs },
      apns: {
        headers: {
          'apns-push-type': 'background',
          'apns-priority': '5',
          'apns-expiration': String(Math.floor(msg.expiresAt.getTime() / 1000)),
        },
        payload: { aps: { contentAvailable: true } },
      },
    })
  }

  return {
    async send (msg) {
      let delay = opts.retryDelayMs
      for (let retries = 0; ; retries++) {
        try {
          await sendOnce({ ...msg, ttlMs: msg.expiresAt.getTime() - opts.clock.now().getTime() })
          return { status: 'sent' }
        } catch (err) {
          const { result, retry } = classify(err)
          const timeLeft = msg.expiresAt.getTime() - opts.clock.now().getTime()
          if (!retry || retries >= opts.maxRetries || timeLeft <= delay) {
            // The code only: firebase-admin's message can quote the server's answer.
            if (result.status === 'failed') opts.log?.warn({ fcmError: result.reason, retries }, 'push notification not sent')
            return result
          }
          await sleep(delay)
          delay *= 2
        }
      }
    },
    close: () => deleteApp(app),
  }
}
