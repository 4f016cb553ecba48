import { createLogger, onShutdown } from '@warden/service-kit'
import { startNotifier } from './app.js'
import { loadNotifierConfig } from './config.js'

const config = loadNotifierConfig()
const running = await startNotifier(config)
onShutdown(createLogger({ name: 'notifier', level: config.LOG_LEVEL }), [['stop notifier', () => running.stop()]])
