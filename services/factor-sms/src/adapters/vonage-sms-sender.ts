import { Auth } from '@vonage/auth'
import { SMS } from '@vonage/sms'
import { BusError } from '@warden/contracts'
import type { Clock, Log } from '@warden/service-kit'
import type { SmsSender } from '../ports.js'

/** Statuses that mean "not sent this time, try again": 1 throttled, 5 internal error. */
const RETRIED = new Set(['1', '5'])

/**
 * The Vonage SMS API client, made once at start-up: the very client `new Vonage(...).sms` of
 * @vonage/server-sdk is, without the fifteen other API clients that SDK loads (voice, video,
 * verify, ...), which cost ~20 MiB of RSS in a service that only sends SMS.
 */
export function createVonageSmsClient (opts: { apiKey: string, apiSecret: string, restHost: string, timeout?: number }): SMS {
  return new SMS(new Auth({ apiKey: opts.apiKey, apiSecret: opts.apiSecret }), {
    restHost: opts.restHost,
    ...(opts.timeout === undefined ? {} : { timeout: opts.timeout }),
  })
}

export interface VonageSenderOptions {
  /** A client from createVonageSmsClient, with the configured `restHost`. */
  sms: Pick<SMS, 'send'>
  from: string
  /** Retries of statuses 1 and 5 (at most 2), each after `backoffMs` × 2^n, never past the deadline. */
  retries: number
  backoffMs: number
  clock: Clock
  /** Waits between retries; tests move their clock instead. */
  sleep?: (ms: number) => Promise<void>
  log: Pick<Log, 'warn' | 'error'>
}

const statusOf = (err: unknown): string | undefined =>
  (err as { response?: { messages?: Array<{ status?: unknown }> } } | undefined)?.response?.messages?.[0]?.status?.toString()

/**
 * SMS through the official Vonage SDK (the SMS API). Status 0 means Vonage accepted the message,
 * not that the phone got it. Nothing the SDK throws is passed on or logged as is: its errors
 * carry the request, and with it the number and the code.
 */
export function createVonageSmsSender (opts: VonageSenderOptions): SmsSender {
  const sleep = opts.sleep ?? (async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) })
  return {
    async send (sms) {
      for (let attempt = 0; ; attempt++) {
        let status: string | undefined
        try {
          const res = await opts.sms.send({ to: sms.to.replace(/^\+/, ''), from: opts.from, text: sms.text, clientRef: sms.clientRef })
          const accepted = res.messages[0] as { messageId?: string } | undefined
          return { messageId: accepted?.messageId ?? sms.clientRef }
        } catch (err) {
          status = statusOf(err)
          const kind = status === undefined ? (err instanceof Error ? err.name : 'unknown') : undefined
          const wait = opts.backoffMs * 2 ** attempt
          const retry = status !== undefined && RETRIED.has(status) && attempt < opts.retries &&
            opts.clock.now().getTime() + wait < sms.deadline.getTime()
          if (retry) {
            opts.log.warn({ provider: 'vonage', status, clientRef: sms.clientRef, attempt }, 'SMS not accepted: retrying')
            await sleep(wait)
            continue
          }
          // 8 (account barred) and 9 (quota exceeded) are ours to fix, not the user's: never retried.
          opts.log.error({ provider: 'vonage', status, kind, clientRef: sms.clientRef, attempt }, 'SMS not accepted')
          throw new BusError('PROVIDER_UNAVAILABLE', 'the SMS could not be sent: use another method')
        }
      }
    },
  }
}
