import type { AnyEndpoint, FactorName } from '@warden/contracts'
import { serve } from '@warden/contracts/nats'
import { Type } from 'typebox'
import { BaseConfig, loadConfig } from './config.js'
import { createLogger } from './log.js'
import { createMetrics, startOpsServer } from './ops.js'
import { addMicroService, connectNats, onShutdown } from './runtime.js'

/**
 * A factor service that is deployed but not built yet: it registers with NATS micro and answers
 * `describe` with "nothing enrolled", so the gateway can treat every factor alike from day one.
 */
export async function runPlaceholderFactor (opts: { service: string, factor: FactorName, describe: AnyEndpoint, description: string }): Promise<void> {
  const config = loadConfig(Type.Object(BaseConfig), process.env)
  const log = createLogger({ name: opts.service, level: config.LOG_LEVEL })
  const nc = await connectNats(config.NATS_URL, opts.service)
  const service = await addMicroService(nc, { name: opts.service, version: config.SERVICE_VERSION, description: opts.description })
  serve(service, opts.describe, async () => ({ factor: opts.factor, enrolled: false, items: [] }), log)
  const metrics = createMetrics(opts.service)
  const ops = await startOpsServer({ host: config.OPS_HOST, port: config.OPS_PORT, metrics, ready: { nats: async () => !nc.isClosed() } })
  onShutdown(log, [
    ['stop endpoints', () => service.stop()],
    ['drain nats', () => nc.drain()],
    ['close ops port', () => ops.close()],
  ])
  log.info({ opsPort: ops.port }, `${opts.service} ready`)
}
