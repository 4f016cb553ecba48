/** A challenge waiting for this device, as the gateway lists it (never the number). */
export interface PendingChallenge {
  challengeId: string
  nonce: string
  createdAt: string
  expiresAt: string
  context: { appName: string, ip?: string, userAgent?: string, action?: string }
}

export type AnswerResult =
  | { result: 'approved' }
  | { result: 'denied' }
  | { result: 'rejected', reason: string, attemptsLeft?: number }

/** A refusal from the gateway, with its stable error code. */
export class GatewayError extends Error {
  constructor (readonly code: string, message: string, readonly status: number) {
    super(message)
    this.name = 'GatewayError'
  }
}

export type Fetch = (url: string, init: { method: string, headers: Record<string, string> }) => Promise<{ ok: boolean, status: number, json: () => Promise<unknown> }>

/**
 * The gateway's app routes (ARCHITECTURE.md §3, "The authenticator app"). Every request carries
 * one device-signed JWT in `Authorization: Bearer`; its claims are the request.
 */
export function createGatewayClient (fetchImpl: Fetch) {
  async function call<T> (method: 'GET' | 'POST', url: string, jwt: string): Promise<T> {
    let res: Awaited<ReturnType<Fetch>>
    try {
      res = await fetchImpl(url, { method, headers: { authorization: `Bearer ${jwt}`, accept: 'application/json' } })
    } catch (err) {
      throw new GatewayError('UNREACHABLE', `cannot reach ${new URL(url).origin}: ${(err as Error).message}`, 0)
    }
    const body = await res.json().catch(() => undefined) as { error?: { code?: string, message?: string } } | undefined
    if (!res.ok) throw new GatewayError(body?.error?.code ?? 'HTTP_' + String(res.status), body?.error?.message ?? `the gateway answered ${res.status}`, res.status)
    return body as T
  }
  return {
    pair: (server: string, jwt: string) => call<{ deviceId: string }>('POST', `${server}/v1/push/devices`, jwt),
    challenges: (server: string, deviceId: string, jwt: string) =>
      call<{ challenges: PendingChallenge[] }>('GET', `${server}/v1/push/devices/${encodeURIComponent(deviceId)}/challenges`, jwt),
    answer: (server: string, challengeId: string, jwt: string) =>
      call<AnswerResult>('POST', `${server}/v1/push/challenges/${encodeURIComponent(challengeId)}/answer`, jwt),
  }
}
export type GatewayClient = ReturnType<typeof createGatewayClient>
