import t from 'tap'
import { Type } from 'typebox'
import { BaseConfig, FactorServiceConfig, loadConfig } from '../src/index.js'

t.test('config: defaults, coercion, and errors that name fields but not values', async (t) => {
  const schema = Type.Object({ ...BaseConfig, SECRET: Type.String({ minLength: 10 }), FLAG: Type.Boolean({ default: false }) })
  const c = loadConfig(schema, { SECRET: 'abcdefghijkl', OPS_PORT: '9100', FLAG: 'true', UNRELATED: 'x' })
  t.equal(c.OPS_PORT, 9100)
  t.equal(c.FLAG, true)
  t.equal(c.NATS_URL, 'nats://127.0.0.1:4222')
  t.notOk('UNRELATED' in c)
  t.ok(Object.isFrozen(c))
  const err = (() => { try { loadConfig(schema, { SECRET: 'short-val', OPS_PORT: 'abc' }); return undefined } catch (e) { return e as Error } })()
  t.match(err?.message, /SECRET/)
  t.match(err?.message, /OPS_PORT/)
  t.notMatch(err?.message, /short-val/, 'the value of a secret is never echoed')
})

t.test('factor service config: the store is JetStream KV unless STORE says mongodb', async (t) => {
  const schema = Type.Object(FactorServiceConfig)
  t.match(loadConfig(schema, {}), { STORE: 'kv', MONGODB_DB: 'warden', KV_REPLICAS: 1 })
  t.match(loadConfig(schema, { STORE: 'mongodb', MONGODB_URI: 'mongodb://db:27017' }), { STORE: 'mongodb', MONGODB_URI: 'mongodb://db:27017' })
  t.throws(() => loadConfig(schema, { STORE: 'postgres' }), /STORE/)
})
