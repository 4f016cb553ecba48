#!/usr/bin/env node
import { hostname } from 'node:os'
import { run } from './commands.js'

process.exitCode = await run(process.argv.slice(2), {
  env: process.env,
  now: () => new Date(),
  fetch: (url, init) => fetch(url, init),
  out: (line) => { process.stdout.write(line + '\n') },
  err: (line) => { process.stderr.write(line + '\n') },
  hostname: hostname(),
})
