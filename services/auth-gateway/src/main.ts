import { onShutdown, type Log } from '@warden/service-kit'
import { buildApp } from './app.js'
import { loadGatewayConfig } from './config.js'

// The process: config (fails fast) → app → listen → orderly shutdown. Decisions live elsewhere.
const config = loadGatewayConfig(process.env)
const app = await buildApp(config)
onShutdown(app.log as Log, [
  // Closing the app stops taking requests (503 while closing), then drains NATS and quits Redis.
  ['close gateway', () => app.close()],
])
await app.listen({ port: config.PORT, host: config.HOST })
app.log.info({ demo: config.DEMO_MODE }, 'auth-gateway ready')
