import { createLogger, onShutdown } from '@warden/service-kit'
import { loadSmsConfig, startSmsService } from './app.js'

const config = loadSmsConfig()
const running = await startSmsService(config)
onShutdown(createLogger({ name: 'factor-sms', level: config.LOG_LEVEL }), [['stop factor-sms', () => running.stop()]])
