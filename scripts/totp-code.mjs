// Prints the current 6-digit code for a base32 TOTP secret, like an authenticator app would
// (RFC 6238: SHA-1, 30 s, 6 digits). `--next` waits for the next 30-second step first, since
// Warden accepts each step only once (the code you confirmed with cannot sign you in).
// Usage: node scripts/totp-code.mjs <SECRET> [--next]
import { createHmac } from 'node:crypto'

const [secret, flag] = process.argv.slice(2)
if (!secret || !/^[A-Z2-7]+=*$/.test(secret)) {
  console.error('usage: node scripts/totp-code.mjs <BASE32 SECRET> [--next]')
  process.exit(2)
}
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
let bits = ''
for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)))

const code = (step) => {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(step))
  const h = createHmac('sha1', key).update(msg).digest()
  const o = h[h.length - 1] & 0xf
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}
let now = Date.now()
if (flag === '--next') {
  const wait = 30_000 - (now % 30_000) + 200
  console.error(`waiting ${Math.ceil(wait / 1000)} s for the next code...`)
  await new Promise((resolve) => setTimeout(resolve, wait))
  now = Date.now()
}
console.log(code(Math.floor(now / 30_000)))
