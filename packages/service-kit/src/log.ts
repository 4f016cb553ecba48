import { pino, type DestinationStream, type Logger } from 'pino'

/**
 * Paths that may hold secrets or personal data. pino replaces them with "[Redacted]" before a
 * line is written (SECURITY.md §1.7: codes, seeds, otpauth URIs, tokens, assertions, phones).
 * `err.code` and `error.code` stay readable when they are an error code (see `censor`).
 */
export const REDACT_PATHS = [
  'code', '*.code', 'secret', '*.secret', 'otpauthUri', '*.otpauthUri', 'qrSvg', '*.qrSvg',
  'token', '*.token', 'rememberToken', '*.rememberToken', 'password', '*.password',
  'phone', '*.phone', 'number', '*.number', 'response', '*.response', 'signature', '*.signature',
  'authorization', '*.authorization', 'req.headers.authorization', 'req.headers.cookie',
  'fcmToken', '*.fcmToken', 'seed', '*.seed', 'key', '*.key',
  // Named as well as matched by `*.code`: pino hands the censor the parent's name only for literal
  // paths, and it is the parent that tells an error's code from anything else.
  'err.code', 'error.code',
]

export type Log = Logger

/**
 * The shape of an error code: BAD_REQUEST, FST_ERR_CTP_BODY_TOO_LARGE, ECONNREFUSED, ERR_HTTP2_X:
 * capital letters, or capital words joined by underscores. Six digits (an OTP), a dashed or
 * digit-bearing block (an emergency code) and anything with lower case or punctuation (a token,
 * a seed) do not have it. Nothing puts a user's code in an error's `code`; this is the second line.
 */
const ERROR_CODE = /^(?:[A-Z]{2,40}|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+){1,10})$/
const ERROR_OBJECTS: ReadonlySet<string> = new Set(['err', 'error'])

/**
 * What a redacted path becomes: "[Redacted]", except the code of an error object (`err.code`,
 * `error.code`), which is what makes a log line useful and is never a user's secret; it is kept
 * only when it has the shape of an error code, so a one-time code put there by mistake is still
 * redacted. It may be called twice for one value (the wildcard and the literal path): it is
 * idempotent.
 */
export function censor (value: unknown, path: readonly string[]): unknown {
  const [parent, leaf] = path
  const isErrorCode = path.length === 2 && leaf === 'code' && parent !== undefined && ERROR_OBJECTS.has(parent) &&
    typeof value === 'string' && ERROR_CODE.test(value)
  return isErrorCode ? value : '[Redacted]'
}

/** A URL as the logs show it: the path, and `?[Redacted]` for any query (a token sent there by mistake is never written down). */
export function redactQuery (url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : `${url.slice(0, q)}?[Redacted]`
}

interface HttpRequestLike { method?: string, url?: string, ip?: string, host?: string, socket?: { remotePort?: number } }

/** The access log's view of an HTTP request (Fastify's own fields), with the query string redacted. */
function requestSerializer (req: HttpRequestLike): Record<string, unknown> {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactQuery(req.url) : undefined,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  }
}

export function createLogger (opts: { name: string, level: string, destination?: DestinationStream }): Log {
  return pino({
    name: opts.name,
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor },
    serializers: {
      // Error messages of faults can quote inputs: keep the type and stack, which are code paths.
      err: pino.stdSerializers.err,
      req: requestSerializer,
    },
  }, opts.destination)
}
