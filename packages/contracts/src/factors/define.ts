import type { AnyEndpoint } from '../endpoint.js'

/** RFC 8176 authentication method references, as MFA tokens carry them in `amr`. */
export type Amr = 'otp' | 'sms' | 'swk' | 'hwk' | 'pop' | 'mfa' | 'pwd'

/**
 * One factor, declared once: its name (the `<service>` token of its subjects), the NATS micro
 * service that owns it, what a verified attempt proves (`amr`), whether it is a weaker fallback,
 * and its verbs on the bus. Every factor also answers `describe`; the registry (./index.ts) makes
 * that endpoint, since its answer names every factor.
 */
export interface FactorDefinition<
  N extends string = string,
  S extends string = string,
  E extends Readonly<Record<string, AnyEndpoint>> = Readonly<Record<string, AnyEndpoint>>,
> {
  readonly name: N
  /** The NATS micro service name of the deployable that owns this factor. */
  readonly service: S
  /** RFC 8176 values a verified attempt adds to the MFA token (which always adds `mfa` too). */
  readonly amr: readonly Amr[]
  /** A weaker fallback (seeds: SMS, the emergency code): never the default while a stronger factor is enrolled. */
  readonly fallback: boolean
  /** The summary of this factor's `describe` endpoint: what it tells about a user. */
  readonly describe: string
  /** Its verbs, keyed by verb (the last subject token): `verify: verifyTotp`. */
  readonly endpoints: E
}

/**
 * Declares a factor. Checks what the types cannot: every endpoint belongs to this factor
 * (`warden.<name>.v1.<verb>`) and sits under its own verb, so a factor file cannot lend a verb to
 * another factor or list one twice.
 */
export function defineFactor<const N extends string, const S extends string, const E extends Readonly<Record<string, AnyEndpoint>>> (
  def: FactorDefinition<N, S, E>,
): FactorDefinition<N, S, E> {
  if (!/^[a-z]+$/.test(def.name)) throw new Error(`factor name ${def.name} is not lower-case letters`)
  for (const [verb, endpoint] of Object.entries(def.endpoints)) {
    if (endpoint.service !== def.name) throw new Error(`${endpoint.subject} is not a subject of the factor ${def.name}`)
    if (endpoint.name !== verb) throw new Error(`${endpoint.subject} is listed as ${def.name}.${verb}`)
    if (verb === 'describe') throw new Error(`${def.name}: describe is made by the registry, not listed`)
  }
  return Object.freeze({ ...def, amr: Object.freeze([...def.amr]), endpoints: Object.freeze({ ...def.endpoints }) })
}
