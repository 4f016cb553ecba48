import { createLogger, onShutdown } from '@warden/service-kit'
import { loadWebauthnConfig, startWebauthnService } from './app.js'

const config = loadWebauthnConfig()
const running = await startWebauthnService(config)
onShutdown(createLogger({ name: 'factor-webauthn', level: config.LOG_LEVEL }), [['stop factor-webauthn', () => running.stop()]])
