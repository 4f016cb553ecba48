export { serve, serveDescribe, factorsDescribe, isFault, REQUESTS_METRIC, type Handler, type Log, type OutcomeCounter, type ServeOptions, type FactorsDescribe } from './serve.js'
export { request, scatter, DEFAULT_REQUEST_TIMEOUT_MS, type ScatterOptions, type IgnoredReply } from './client.js'
export { traceHeaders, extractTrace, inSpan } from './trace.js'
