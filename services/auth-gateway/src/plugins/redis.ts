import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { connectRedis } from '@warden/service-kit'

declare module 'fastify' {
  interface FastifyInstance { redis: Redis }
}

export interface RedisPluginOptions {
  url: string
  /** A client owned by the caller (tests): used as is and left open on close. */
  redis?: Redis | undefined
}

async function redisPlugin (app: FastifyInstance, opts: RedisPluginOptions): Promise<void> {
  // Fails fast instead of queueing: with Redis away, callers answer 503 (SECURITY §1.4).
  const redis = opts.redis ?? await connectRedis(opts.url, 'auth-gateway')
  app.decorate('redis', redis)
  if (opts.redis === undefined) app.addHook('onClose', async () => { await redis.quit().catch(() => redis.disconnect()) })
}

export default fp(redisPlugin, { name: 'redis' })
