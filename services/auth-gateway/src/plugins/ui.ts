import { readdirSync, readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface UiOptions { demo: boolean }

/** The hosted pages ship beside dist/ (services/auth-gateway/ui), read once at start. */
const UI_DIR = new URL('../../ui/', import.meta.url)

const JS = 'text/javascript; charset=utf-8'
const ASSETS = {
  'app.js': JS,
  'lib.js': JS,
  'signin.js': JS,
  'account.js': JS,
  'activity.js': JS,
  'hosted.js': JS,
  'style.css': 'text/css; charset=utf-8',
} as const

/** One module per factor (ui/factors/<name>.js, and their index.js): every .js file there is served. */
const FACTOR_DIR = new URL('factors/', UI_DIR)

/**
 * Browser libraries the pages import as ES modules, served from /ui/vendor/<name>/ out of the
 * installed package (so under the strict CSP they are 'self'): name → the package's ESM entry.
 */
const VENDOR = {
  // navigator.credentials.create()/get() and the Signal API, with the JSON encodings done right.
  simplewebauthn: '@simplewebauthn/browser',
} as const

/** Every .js file under `dir`, keyed by its path relative to it ('methods/startRegistration.js'). */
function modulesUnder (dir: string): Map<string, { type: string, body: string }> {
  const out = new Map<string, { type: string, body: string }>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue
    const path = `${entry.parentPath}/${entry.name}`
    out.set(relative(dir, path).split('\\').join('/'), { type: JS, body: readFileSync(path, 'utf8') })
  }
  return out
}

/**
 * Strict headers for the hosted pages: only our own script and style run (no inline code, so an
 * injected string can never execute), QR codes are data: images, nothing may frame the page
 * (clickjacking a sign-in), and no URL with a transaction id leaks in a Referer.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
}

/**
 * The hosted UI under /ui/: sign-in with the second factor ("Try another way", remember this
 * device), the enrollment wizard and the user's security settings. Plain HTML and ES modules (no
 * build step) that speak the public REST API v1, like any client app would.
 */
async function uiPlugin (app: FastifyInstance, opts: UiOptions): Promise<void> {
  const index = readFileSync(new URL('index.html', UI_DIR), 'utf8').replace('data-demo="false"', `data-demo="${String(opts.demo)}"`)
  const assets = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(new URL(name, UI_DIR), 'utf8') }]))
  const factorModules = new Map(readdirSync(FACTOR_DIR).filter((name) => /^[a-z-]+\.js$/.test(name))
    .map((name) => [name, { type: JS, body: readFileSync(new URL(name, FACTOR_DIR), 'utf8') }]))
  const vendor = new Map(Object.entries(VENDOR).map(([name, pkg]) => [name, modulesUnder(fileURLToPath(new URL('./', import.meta.resolve(pkg))))]))
  const notFound = { error: { code: 'NOT_FOUND', message: 'no such page' } }

  // The router ignores trailing slashes, so this answers /ui too (the page links its assets absolutely).
  app.get('/ui/', { schema: { hide: true } }, async (_req, reply) =>
    reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(index))
  app.get<{ Params: { asset: string } }>('/ui/:asset', { schema: { hide: true } }, async (req, reply) => {
    const asset = assets.get(req.params.asset)
    if (asset === undefined) return reply.code(404).send(notFound)
    return reply.headers(SECURITY_HEADERS).type(asset.type).send(asset.body)
  })
  app.get<{ Params: { asset: string } }>('/ui/factors/:asset', { schema: { hide: true } }, async (req, reply) => {
    const asset = factorModules.get(req.params.asset)
    if (asset === undefined) return reply.code(404).send(notFound)
    return reply.headers(SECURITY_HEADERS).type(asset.type).send(asset.body)
  })
  app.get<{ Params: { lib: string, '*': string } }>('/ui/vendor/:lib/*', { schema: { hide: true } }, async (req, reply) => {
    // A lookup in what was read at start: no path from the request ever reaches the file system.
    const asset = (Object.hasOwn(VENDOR, req.params.lib) ? vendor.get(req.params.lib) : undefined)?.get(req.params['*'])
    if (asset === undefined) return reply.code(404).send(notFound)
    return reply.headers(SECURITY_HEADERS).type(asset.type).send(asset.body)
  })
}

export default fp(uiPlugin, { name: 'ui' })
