// Verifies an MFA token against the gateway's /.well-known/jwks.json (ES256) and prints its
// header and claims. Plain Node, no dependencies: what a resource server would do.
// Usage: node scripts/verify-token.mjs <TOKEN> [http://127.0.0.1:8080]
import { createPublicKey, verify } from 'node:crypto'

const [token, base = 'http://127.0.0.1:8080'] = process.argv.slice(2)
const parts = (token ?? '').split('.')
if (parts.length !== 3) { console.error('usage: node scripts/verify-token.mjs <JWT> [gateway URL]'); process.exit(2) }
const [h, p, s] = parts
const header = JSON.parse(Buffer.from(h, 'base64url').toString())
const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
const jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json()
const jwk = jwks.keys.find((k) => k.kid === header.kid)
if (header.alg !== 'ES256' || jwk === undefined) { console.error(`✗ no ES256 key with kid ${header.kid} in the JWKS`); process.exit(1) }
const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))
const expired = claims.exp * 1000 < Date.now()
console.log(JSON.stringify({ header, claims }, null, 2))
console.log(ok && !expired ? `✓ signature valid (kid ${header.kid}), expires ${new Date(claims.exp * 1000).toISOString()}` : `✗ ${ok ? 'expired' : 'bad signature'}`)
process.exit(ok && !expired ? 0 : 1)
