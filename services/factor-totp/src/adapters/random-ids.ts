import { newId } from '@warden/service-kit'
import type { IdSource } from '../ports.js'

export function createRandomIds (): IdSource {
  return {
    enrollmentId: () => newId('totp'),
  }
}
