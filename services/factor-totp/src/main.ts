import { createLogger, onShutdown } from '@warden/service-kit'
import { loadTotpConfig, startTotpService } from './app.js'

const config = loadTotpConfig()
const running = await startTotpService(config)
onShutdown(createLogger({ name: 'factor-totp', level: config.LOG_LEVEL }), [['stop factor-totp', () => running.stop()]])
