export { serve, isFault, REQUESTS_METRIC, type Handler, type Log, type OutcomeCounter } from './serve.js'
export { request, DEFAULT_REQUEST_TIMEOUT_MS } from './client.js'
export { traceHeaders, extractTrace, inSpan } from './trace.js'
