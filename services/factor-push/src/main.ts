import { createLogger, onShutdown } from '@warden/service-kit'
import { loadPushConfig, startPushService } from './app.js'

const config = loadPushConfig()
const running = await startPushService(config)
onShutdown(createLogger({ name: 'factor-push', level: config.LOG_LEVEL }), [['stop factor-push', () => running.stop()]])
