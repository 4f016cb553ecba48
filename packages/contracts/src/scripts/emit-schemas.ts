// Writes dist/schemas/<subject>.{request,response}.json and dist/asyncapi.json for docs and other languages.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildAsyncApi } from '../asyncapi.js'
import { ENDPOINTS, EVENTS } from '../catalog.js'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(dist, 'schemas')
mkdirSync(out, { recursive: true })
const write = (file: string, data: unknown): void => { writeFileSync(join(out, file), JSON.stringify(data, null, 2) + '\n') }
for (const e of ENDPOINTS) {
  write(`${e.subject}.request.json`, { $schema: 'http://json-schema.org/draft-07/schema#', $id: `${e.subject}.request`, ...e.request })
  write(`${e.subject}.response.json`, { $schema: 'http://json-schema.org/draft-07/schema#', $id: `${e.subject}.response`, ...e.response })
}
for (const ev of EVENTS) write(`${ev.subject}.json`, { $schema: 'http://json-schema.org/draft-07/schema#', $id: ev.subject, ...ev.payload })
writeFileSync(join(dist, 'asyncapi.json'), JSON.stringify(buildAsyncApi('1.0.0'), null, 2) + '\n')
console.log(`emitted ${ENDPOINTS.length * 2 + EVENTS.length} JSON Schemas and asyncapi.json`)
