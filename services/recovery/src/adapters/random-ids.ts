import { createHash } from 'node:crypto'
import { newId } from '@warden/service-kit'
import type { IdSource } from '../ports.js'

export function createRandomIds (): IdSource {
  return {
    codeId: () => newId('rcv'),
    eventId: (key) => `evt_${createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, 32)}`,
  }
}
