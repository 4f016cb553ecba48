export { BaseConfig, StoreConfig, FactorServiceConfig, loadConfig } from './config.js'
export { createLogger, censor, redactQuery, REDACT_PATHS, type Log } from './log.js'
export { withDeadline, withDeadlines } from './deadline.js'
export { systemClock, toTimestamp, type Clock } from './clock.js'
export { derivedEventId, newId } from './ids.js'
export { parseKeyRing, createKeyRing, generateKeyRingSpec, type KeyRing } from './key-ring.js'
export { connectRedis, failClosed, redisScript, type RedisScript } from './redis.js'
export { storeCalls, type StoreCalls } from './store-calls.js'
export { createRedisAttemptLimiter, createMemoryAttemptLimiter, claimGreater, DEFAULT_ATTEMPT_LIMITS, redisAttempts, throttleMs, type AttemptLimiter, type AttemptLimits, type BeginResult, type FailResult, type MemoryAttempts } from './attempt-limiter.js'
export { createAttemptGate, AttemptLimitsConfig, attemptLimitsFrom, type AttemptGate, type AttemptGateDeps, type AttemptLimitsSettings } from './attempt-gate.js'
export { once, createRedisOutcomeLedger, createMemoryOutcomeLedger, type OnceOptions, type OutcomeLedger, type LedgerEntry } from './outcome-ledger.js'
export {
  onceAdmitted, createRedisAdmittingLedger, createMemoryAdmittingLedger,
  type AdmittedEntry, type AdmittingLedger, type OnceAdmittedOptions, type RedisAdmittingLedgerOptions,
} from './admitting-ledger.js'
export { createMetrics, startOpsServer, type Metrics, type OpsServer, type ReadinessCheck } from './ops.js'
export { createEventPublisher, ensureEventStream, type EventBody, type EventPublisher } from './events.js'
export { createPublisherEventSink, type EventSink } from './event-sink.js'
export { consumeEvents, type EventSubscription } from './event-consumer.js'
export { connectNats, addMicroService, onShutdown, type ShutdownStep } from './runtime.js'
export {
  runService, handle, type EndpointHandler, type RunningService, type ServiceContext, type ServiceOverrides, type ServiceParts,
  type ServiceSettings, type ServiceSpec,
} from './run-service.js'
export {
  runFactorService, contractEndpoints,
  type AttemptGateOptions, type FactorContext, type FactorHandlers, type FactorServiceOverrides,
  type FactorServiceSettings, type FactorServiceSpec, type RunningFactorService,
} from './factor-service.js'
export { buildPlaceholder } from './placeholder.js'
