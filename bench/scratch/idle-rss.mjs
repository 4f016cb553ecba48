// Idle RSS per service as the bench's P5 measures it (whole stack up as `npm start` runs it,
// LOG_LEVEL=warn, no OTEL_* set, VmRSS 1 s later), without running the bench:
//   node bench/scratch/idle-rss.mjs      (WAIT=ms to sample later)
import { rssOf, startStack } from '../harness/stack.mjs'

const stack = await startStack({ logLevel: 'warn' })
await new Promise((resolve) => setTimeout(resolve, Number(process.env.WAIT ?? 1000)))
const mib = {}
for (const p of stack.processes) mib[p.label] = Math.round(rssOf(p.pid) / 2 ** 20 * 10) / 10
console.log(JSON.stringify(mib))
await stack.stop()
