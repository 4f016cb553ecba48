import { Ajv } from 'ajv'

/**
 * The one validator instance for bus messages: strict schemas, no coercion, no defaults, no
 * removal of extra properties (any of those would silently change a message), and it stops at
 * the first error so hostile payloads cannot make validation expensive.
 */
export const ajv = new Ajv({ strict: true, allErrors: false, coerceTypes: false, useDefaults: false })
