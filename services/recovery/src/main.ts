import { createLogger, onShutdown } from '@warden/service-kit'
import { loadRecoveryConfig, startRecoveryService } from './app.js'

const config = loadRecoveryConfig()
const running = await startRecoveryService(config)
onShutdown(createLogger({ name: 'recovery', level: config.LOG_LEVEL }), [['stop recovery', () => running.stop()]])
