export { serve, type Handler, type Log } from './serve.js'
export { request, DEFAULT_REQUEST_TIMEOUT_MS } from './client.js'
export { traceHeaders, extractTrace, inSpan } from './trace.js'
