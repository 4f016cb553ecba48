import t from 'tap'
import { startRedis, uniqueUserId } from '@warden/testkit'
import { connectRedis, redisScript } from '../src/index.js'

const INCR_BY = `return redis.call('INCRBY', KEYS[1], ARGV[1])`

t.test('redisScript: EVALSHA after the first call, text re-sent when the server lost it', async (t) => {
  const server = await startRedis()
  const redis = await connectRedis(server.url, 'kit-script-test')
  const observer = await connectRedis(server.url, 'kit-script-observer')
  t.teardown(async () => { redis.disconnect(); observer.disconnect(); await server.stop() })
  const key = `test:script:${uniqueUserId()}`
  const incrBy = redisScript(redis, INCR_BY, 1)

  t.equal(await incrBy(key, 2), 2)
  t.equal(await incrBy(key, 3), 5)
  const before = await observer.info('commandstats')
  t.match(before, /cmdstat_evalsha:calls=\d+/, 'later calls are EVALSHA')

  await observer.script('FLUSH')
  t.equal(await incrBy(key, 4), 9, 'NOSCRIPT falls back to the full text, once')
  t.equal(await incrBy(key, 1), 10)

  t.equal(await redisScript(redis, INCR_BY, 1)(key, 1), 11, 'defining the same script again on one client is harmless')
  const parallel = await Promise.all(Array.from({ length: 20 }, () => incrBy(key, 1)))
  t.equal(Math.max(...(parallel as number[])), 31, 'auto-pipelined calls each run once')
})

t.test('redisScript fails like any command when Redis is away', async (t) => {
  const server = await startRedis()
  const redis = await connectRedis(server.url, 'kit-script-away')
  t.teardown(async () => { await server.stop() })
  const incrBy = redisScript(redis, INCR_BY, 1)
  redis.disconnect()
  await t.rejects(incrBy('k', 1))
})
