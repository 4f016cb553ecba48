import t from 'tap'
import { randomBytes } from 'node:crypto'
import { generateKeyRingSpec, parseKeyRing } from '../src/index.js'

t.test('key ring: AES-256-GCM with key ids, AAD binding and rotation', async (t) => {
  const oldSpec = generateKeyRingSpec('old')
  const ring1 = parseKeyRing(oldSpec)
  const secret = randomBytes(20)
  const sealed = ring1.encrypt(secret, 'usr_1/totp')
  t.notMatch(sealed, secret.toString('base64url'))
  t.match(sealed, /^v1\.old\./)
  t.same(ring1.decrypt(sealed, 'usr_1/totp'), secret)
  t.throws(() => ring1.decrypt(sealed, 'usr_2/totp'), 'another owner cannot decrypt it')
  const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1)
  t.throws(() => ring1.decrypt(tampered, 'usr_1/totp'), 'tampering is detected')
  const ring2 = parseKeyRing(`${generateKeyRingSpec('new')},${oldSpec}`)
  t.equal(ring2.activeKeyId, 'new')
  t.same(ring2.decrypt(sealed, 'usr_1/totp'), secret, 'old data stays readable after rotation')
  t.match(ring2.encrypt(secret, 'a'), /^v1\.new\./)
  t.throws(() => parseKeyRing('k1:c2hvcnQ='), /32 bytes/)
  t.throws(() => parseKeyRing(generateKeyRingSpec('a'), 'b'), /active key/)
})
