import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Svcm, type Service } from '@nats-io/services'
import type { Log } from './log.js'

/** Connects for the life of the process: unlimited, jittered reconnects (a restart of NATS is not fatal). */
export async function connectNats (servers: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: servers.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    reconnectJitter: 500,
    waitOnFirstConnect: true,
    // nats-core otherwise builds two Error objects per request up front (for async stack traces),
    // a measurable share of the CPU on JetStream and KV calls (bench/FIXES.md).
    noAsyncTraces: true,
  })
}

/** Registers a NATS micro service (ADR-32): $SRV.PING/INFO/STATS list it; endpoints use queue group q. */
export async function addMicroService (nc: NatsConnection, opts: { name: string, version: string, description: string }): Promise<Service> {
  return new Svcm(nc).add({ name: opts.name, version: opts.version, description: opts.description, queue: 'q' })
}

export type ShutdownStep = readonly [name: string, run: () => Promise<unknown>]

/**
 * Stops in order on SIGTERM/SIGINT: stop taking requests, drain, close clients. A step that hangs
 * is abandoned after `timeoutMs` so the pod still exits before Kubernetes kills it.
 */
export function onShutdown (log: Log, steps: readonly ShutdownStep[], timeoutMs = 10_000): () => Promise<void> {
  let running: Promise<void> | undefined
  const shutdown = async (): Promise<void> => {
    running ??= (async () => {
      for (const [name, run] of steps) {
        try {
          await Promise.race([run(), new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('timed out')) }, timeoutMs).unref())])
        } catch (err) {
          log.warn({ err, step: name }, 'shutdown step failed')
        }
      }
      log.info({}, 'stopped')
    })()
    return running
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => { void shutdown().then(() => process.exit(0)) })
  }
  return shutdown
}
