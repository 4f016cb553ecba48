import { BusError, ENDPOINTS, type FactorName } from '@warden/contracts'
import { serve } from '@warden/contracts/nats'
import { Type } from 'typebox'
import { BaseConfig, loadConfig } from './config.js'
import { createLogger } from './log.js'
import { createMetrics, startOpsServer } from './ops.js'
import { addMicroService, connectNats, onShutdown } from './runtime.js'

/**
 * A factor service that is deployed but not built yet: it registers with NATS micro, answers
 * `describe` with "nothing enrolled" and every other verb of its contract with NOT_ENROLLED, so
 * the gateway treats every factor alike from day one.
 */
export async function runPlaceholderFactor (opts: { service: string, factor: FactorName, description: string }): Promise<void> {
  const config = loadConfig(Type.Object(BaseConfig), process.env)
  const log = createLogger({ name: opts.service, level: config.LOG_LEVEL })
  const nc = await connectNats(config.NATS_URL, opts.service)
  const service = await addMicroService(nc, { name: opts.service, version: config.SERVICE_VERSION, description: opts.description })
  for (const endpoint of ENDPOINTS.filter((e) => e.service === opts.factor)) {
    serve(service, endpoint, async () => {
      if (endpoint.name === 'describe') return { factor: opts.factor, enrolled: false, items: [] }
      throw new BusError('NOT_ENROLLED', `no ${opts.factor} factor is enrolled`)
    }, log)
  }
  // Ready means the server has our subscriptions: a request right after start must find us.
  await nc.flush()
  const metrics = createMetrics(opts.service)
  const ops = await startOpsServer({ host: config.OPS_HOST, port: config.OPS_PORT, metrics, ready: { nats: async () => !nc.isClosed() } })
  onShutdown(log, [
    ['stop endpoints', () => service.stop()],
    ['drain nats', () => nc.drain()],
    ['close ops port', () => ops.close()],
  ])
  log.info({ opsPort: ops.port }, `${opts.service} ready`)
}
