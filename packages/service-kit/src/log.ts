import { pino, type DestinationStream, type Logger } from 'pino'

/**
 * Paths that may hold secrets or personal data. pino replaces them with "[Redacted]" before a
 * line is written (SECURITY.md §1.7: codes, seeds, otpauth URIs, tokens, assertions, phones).
 */
export const REDACT_PATHS = [
  'code', '*.code', 'secret', '*.secret', 'otpauthUri', '*.otpauthUri', 'qrSvg', '*.qrSvg',
  'token', '*.token', 'rememberToken', '*.rememberToken', 'password', '*.password',
  'phone', '*.phone', 'number', '*.number', 'response', '*.response', 'signature', '*.signature',
  'authorization', '*.authorization', 'req.headers.authorization', 'req.headers.cookie',
  'fcmToken', '*.fcmToken', 'seed', '*.seed', 'key', '*.key',
]

export type Log = Logger

export function createLogger (opts: { name: string, level: string, destination?: DestinationStream }): Log {
  return pino({
    name: opts.name,
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    // Error messages of faults can quote inputs: keep the type and stack, which are code paths.
    serializers: { err: pino.stdSerializers.err },
  }, opts.destination)
}
