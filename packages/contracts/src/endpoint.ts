import type { ValidateFunction } from 'ajv'
import type { Type } from 'typebox'
import { ajv } from './ajv.js'
import type { ErrorCode } from './errors.js'

/** A request/reply endpoint on the bus: its subject, both schemas and the errors it may answer. */
export interface Endpoint<Req extends Type.TSchema = Type.TSchema, Res extends Type.TSchema = Type.TSchema> {
  /** ADR-32 endpoint name: the last subject token. */
  readonly name: string
  readonly subject: string
  readonly service: string
  readonly summary: string
  readonly request: Req
  readonly response: Res
  /** For documentation and tests; not enforced at run time. */
  readonly errors: readonly ErrorCode[]
  readonly isRequest: ValidateFunction<Type.Static<Req>>
  readonly isResponse: ValidateFunction<Type.Static<Res>>
}
export type AnyEndpoint = Endpoint<Type.TSchema, Type.TSchema>
export type RequestOf<E> = E extends Endpoint<infer Q, Type.TSchema> ? Type.Static<Q> : never
export type ResponseOf<E> = E extends Endpoint<Type.TSchema, infer R> ? Type.Static<R> : never

/**
 * A validator compiled on first use. Every service imports the whole catalog, but each one serves
 * and calls only a few of its endpoints: compiling every schema of every service up front cost
 * each process seconds of start-up and megabytes of generated code it never runs. The catalog's
 * tests compile every schema, so a bad one still fails the build, not a request.
 */
function lazyValidator<T> (schema: Type.TSchema): () => ValidateFunction<T> {
  let compiled: ValidateFunction<T> | undefined
  return () => (compiled ??= ajv.compile<T>(schema))
}

const SUBJECT = /^warden\.([a-z]+)\.v[0-9]+\.([a-zA-Z]+)$/

export function defineEndpoint<Req extends Type.TSchema, Res extends Type.TSchema> (
  def: { subject: string, summary: string, request: Req, response: Res, errors: readonly ErrorCode[] },
): Endpoint<Req, Res> {
  const m = SUBJECT.exec(def.subject)
  if (m === null) throw new Error(`subject ${def.subject} is not warden.<service>.v<N>.<verb>`)
  const isRequest = lazyValidator<Type.Static<Req>>(def.request)
  const isResponse = lazyValidator<Type.Static<Res>>(def.response)
  return Object.freeze({
    ...def,
    service: m[1] as string,
    name: m[2] as string,
    get isRequest () { return isRequest() },
    get isResponse () { return isResponse() },
  })
}

/** A security event published to the WARDEN_EVENTS stream. */
export interface EventType<P extends Type.TSchema = Type.TSchema> {
  readonly subject: string
  readonly summary: string
  readonly payload: P
  readonly isPayload: ValidateFunction<Type.Static<P>>
}
export type PayloadOf<E> = E extends EventType<infer P> ? Type.Static<P> : never

const EVENT_SUBJECT = /^warden\.events\.v1\.[a-z]+\.[a-z]+$/

export function defineEvent<P extends Type.TSchema> (def: { subject: string, summary: string, payload: P }): EventType<P> {
  if (!EVENT_SUBJECT.test(def.subject)) throw new Error(`event subject ${def.subject} is not warden.events.v1.<noun>.<verb>`)
  const isPayload = lazyValidator<Type.Static<P>>(def.payload)
  return Object.freeze({ ...def, get isPayload () { return isPayload() } })
}
