// The one table where an error code becomes an HTTP status (src/errors.ts).
import t from 'tap'
import { HTTP_STATUS } from '../src/errors.js'

t.test('error table: every contract code has an HTTP status; bus BAD_REQUEST never reaches a client as 400', async (t) => {
  t.equal(HTTP_STATUS.NOT_ENROLLED, 409)
  t.equal(HTTP_STATUS.FACTOR_LOCKED, 429)
  t.equal(HTTP_STATUS.TIMEOUT, 503)
  t.equal(HTTP_STATUS.STEP_UP_REQUIRED, 403)
  for (const status of Object.values(HTTP_STATUS)) t.ok(status >= 400 && status < 600)
})
