// RFC 6238 codes (SHA-1, 6 digits, 30 s), as an authenticator app computes them, and the step
// scheduling that keeps the factor's replay ledger from rejecting a benchmark's sign-ins.
import { createHmac } from 'node:crypto'

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const keyCache = new Map()

function keyOf (secret) {
  let key = keyCache.get(secret)
  if (key === undefined) {
    let bits = ''
    for (const c of secret) bits += BASE32.indexOf(c).toString(2).padStart(5, '0')
    key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)))
    keyCache.set(secret, key)
  }
  return key
}

/** The code of `step` for a base32 `secret`. */
export function totp (secret, step) {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(step))
  const h = createHmac('sha1', keyOf(secret)).update(msg).digest()
  const o = h[h.length - 1] & 0xf
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

export const currentStep = (nowMs = Date.now()) => Math.floor(nowMs / 30_000)

/**
 * The enrolled users, handed out round robin. The factor accepts a code of steps T-1..T+1 and
 * only a step strictly greater than the user's last used one (docs/decisions.md §1), so each
 * user can verify about once per 30 s step: a user is taken only while a step in [T, T+1] above
 * its last one exists, and that step is reserved for it. T-1 is never used: a code of T-1 sent
 * near a step boundary would be rejected by the time it arrives.
 */
export function createUserPool () {
  const users = []
  let cursor = 0
  let exhausted = 0
  return {
    users,
    add: (user) => { users.push({ ...user, lastStep: user.lastStep ?? 0 }) },
    get size () { return users.length },
    /** Times no user had a usable step (the code sent will be rejected, and counted as an error). */
    get exhausted () { return exhausted },
    /** A user and the step of the code it will send; marks the step used. */
    take () {
      const now = currentStep()
      for (let i = 0; i < users.length; i++) {
        const user = users[cursor]
        cursor = (cursor + 1) % users.length
        if (user.lastStep < now + 1) {
          const step = Math.max(user.lastStep + 1, now)
          user.lastStep = step
          return { user, step }
        }
      }
      exhausted++
      const user = users[cursor]
      cursor = (cursor + 1) % users.length
      return { user, step: now }
    },
    /** How many users can sign in right now (each at most twice before the next step). */
    available () {
      const now = currentStep()
      let n = 0
      for (const u of users) n += Math.min(2, Math.max(0, now + 1 - u.lastStep))
      return n
    },
  }
}
