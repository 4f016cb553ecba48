import t from 'tap'
import { captureLog } from '@warden/testkit'
import { createLogger } from '../src/index.js'

t.test('logger redacts secrets', async (t) => {
  const cap = captureLog()
  const log = createLogger({ name: 'test', level: 'info', destination: cap.stream })
  log.info({ code: '123456', req: { code: '654321', headers: { authorization: 'Bearer abc.def' } }, secret: 'JBSWY3DPEHPK3PXP', otpauthUri: 'otpauth://totp/x?secret=JBSWY3DPEHPK3PXP', userId: 'usr_1' }, 'hello')
  const out = cap.text()
  for (const s of ['123456', '654321', 'abc.def', 'JBSWY3DPEHPK3PXP']) t.notMatch(out, s)
  t.match(out, 'usr_1')
  t.match(out, '[Redacted]')
})
