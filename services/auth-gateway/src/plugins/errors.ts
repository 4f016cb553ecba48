import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { BusError } from '@warden/contracts'
import { toHttp } from '../errors.js'

/**
 * Every error answer is `{ error: { code, message, retryAfterSec? } }` with its status from the
 * table in errors.ts. Bad input of any kind (schema, JSON, size, media type) is 400 BAD_REQUEST,
 * never a 5xx; faults are 500 INTERNAL with a fixed message, their cause only in the log.
 */
const CLIENT_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported content type: send application/json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'the JSON body is empty',
  FST_ERR_CTP_INVALID_JSON_BODY: 'the body is not valid JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'the content length does not match the body',
}

function classify (err: FastifyError | BusError | Error): BusError {
  if (BusError.is(err)) return err
  const e = err as Partial<FastifyError>
  if (e.validation !== undefined) return new BusError('BAD_REQUEST', (e.message ?? 'invalid request').slice(0, 200))
  if (typeof e.code === 'string' && e.code.startsWith('FST_JWT_')) return new BusError('UNAUTHENTICATED', 'a valid primary token is required (Authorization: Bearer)')
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500
  if (status === 401) return new BusError('UNAUTHENTICATED', 'authentication required')
  if (status === 404) return new BusError('NOT_FOUND', 'not found')
  if (status === 429) return new BusError('RATE_LIMITED', 'too many requests')
  if (status >= 400 && status < 500) {
    // Fastify's own client errors (bad JSON, body too large, wrong content type). Fixed messages:
    // a JSON parser's message can quote the input.
    return new BusError('BAD_REQUEST', CLIENT_ERROR_MESSAGES[e.code ?? ''] ?? (err instanceof SyntaxError ? 'the body is not valid JSON' : 'bad request'))
  }
  return new BusError('INTERNAL', 'internal error', { cause: err })
}

async function errorsPlugin (app: FastifyInstance): Promise<void> {
  app.setErrorHandler(async (err: FastifyError | BusError, req, reply) => {
    const busError = classify(err)
    const answer = toHttp(busError)
    if (answer.status === 500) req.log.error({ err: busError.cause ?? err, errorCode: busError.code }, 'request failed')
    else if (answer.status >= 500) req.log.warn({ errorCode: busError.code, status: answer.status }, 'dependency unavailable')
    else req.log.info({ errorCode: busError.code, status: answer.status }, 'request refused')
    if (answer.retryAfterSec !== undefined) void reply.header('retry-after', String(answer.retryAfterSec))
    if (answer.status === 401) void reply.header('www-authenticate', 'Bearer realm="warden"')
    return reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body)
  })

  app.setNotFoundHandler(async (_req, reply) => {
    return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such route' } })
  })
}

export default fp(errorsPlugin, { name: 'errors' })
