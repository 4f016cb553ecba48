/** Time comes from here, so tests move time instead of sleeping (SECURITY.md §1.9). */
export interface Clock { now: () => Date }

export const systemClock: Clock = { now: () => new Date() }

const MAX_TIMESTAMP = '9999-12-31T23:59:59.999Z'
const MAX_TIMESTAMP_MS = Date.parse(MAX_TIMESTAMP)

/**
 * The contracts' RFC 3339 timestamp of `d`. Dates past year 9999 (a suspended factor's lock has
 * no end) are clamped to its last millisecond: Date.toISOString() would leave the format there.
 */
export function toTimestamp (d: Date): string {
  return d.getTime() > MAX_TIMESTAMP_MS ? MAX_TIMESTAMP : d.toISOString()
}
