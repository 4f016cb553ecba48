// The hosted flow in a real browser (Debian's Chromium, playwright-core), as a person meets it:
// the demo application's password page (/demo-app/), the hop to Warden's hosted page, the TOTP
// step, and back to the demo application's signed-in page, which exchanged the code and verified
// the MFA token against the JWKS. Then "remember this device": the next visit skips the step. The
// gateway listens on a real port with the real factor-totp on the test's manual clock; the page is
// opened on http://localhost, where Chromium takes Secure (and __Host-) cookies.
import t from 'tap'
import { manualClock } from '@warden/testkit'
import { openPage } from './fixtures/browser.js'
import { uniqueUsername } from './fixtures/gateway.js'
import { startTotpStack } from './fixtures/stack.js'
import { totpUsers } from './fixtures/totp-users.js'

const clock = manualClock(new Date())
const { gw } = await startTotpStack(t, clock)
const users = totpUsers(gw, clock)
const listening = new URL(await gw.app.listen({ port: 0, host: '127.0.0.1' }))
const base = `http://localhost:${listening.port}`

t.test('the demo application\'s pages: strict headers, no script, 404 for the rest', async (t) => {
  const res = await gw.call('GET', '/demo-app/')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-security-policy'], /^default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; .*frame-ancestors 'none'$/)
  t.notMatch(res.body, /<script/)
  t.match(res.body, /Sign in to Demo App/)
  t.equal((await gw.call('GET', '/demo-app/nope')).statusCode, 404)
  // A callback nobody started is refused, and sends nobody anywhere else.
  const cb = await gw.call('GET', '/demo-app/callback?code=x&state=y')
  t.equal(cb.statusCode, 303)
  t.equal(cb.headers.location, '/demo-app/')
})

t.test('in a browser: demo app → password → Warden\'s TOTP step → back, signed in; then remembered', async (t) => {
  const { page, problems, text } = await openPage(t)
  const username = uniqueUsername('hosted')
  const secret = await users.enrollAndConfirm(await users.login(username, 'demo-app'))

  const signInAtDemoApp = async (): Promise<void> => {
    await page.goto(`${base}/demo-app/`)
    await text('Sign in to Demo App')
    await page.getByLabel('Username').fill(username)
    await page.getByLabel('Password').fill('demo')
    await page.getByRole('button', { name: 'Sign in' }).click()
  }

  await signInAtDemoApp()
  // Warden's hosted page: the application's name, the TOTP step, no token in the address bar.
  await text('Sign in to Demo App')
  await text('Enter the code from your authenticator app')
  await text(`enter the 6-digit code for ${username}.`)
  t.match(page.url(), new RegExp(`^${base}/ui/$`), 'the handle is gone from the address bar')
  const cookies = await page.context().cookies()
  const session = cookies.find((c) => c.name === '__Host-warden-hosted')
  t.match(session, { secure: true, httpOnly: true, sameSite: 'Lax', path: '/' }, 'Chromium took the __Host- session cookie on localhost')
  t.equal(await page.evaluate('document.cookie'), '', 'the page sees no cookie')

  clock.advance(30_000)
  await page.getByLabel('6-digit code').fill(users.codeOf(secret))
  await page.getByLabel('Remember this device for 30 days').check()
  await page.getByRole('button', { name: 'Verify' }).click()

  // Back at the demo application, which exchanged the code and verified the token.
  await text('You are signed in')
  t.equal(page.url(), `${base}/demo-app/`)
  await text(`Welcome, ${username}.`)
  await text('Second step: a one-time code.')
  await text(/verified Warden's MFA token against its JWKS .*ES256 signature.*issuer warden, audience demo-app, not expired, aal2/)
  const remembered = (await page.context().cookies()).find((c) => c.name === '__Host-warden-remember')
  t.match(remembered, { secure: true, httpOnly: true, sameSite: 'Lax', path: '/' }, 'the device is remembered in a __Host- cookie')
  t.match(remembered?.value, /^rd_[A-Za-z0-9_-]{43}$/)
  t.notOk((await page.context().cookies()).some((c) => c.name === '__Host-warden-hosted'), 'the hosted session ended')
  t.equal(await page.evaluate('Object.keys(sessionStorage).length + Object.keys(localStorage).length'), 0, 'no token in the page\'s storage')

  // Next visit: the remembered device skips the second step.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await text('Sign in to Demo App')
  await signInAtDemoApp()
  await text('You are signed in')
  await text('No second step was needed: this device is remembered.')
  const rotated = (await page.context().cookies()).find((c) => c.name === '__Host-warden-remember')
  t.not(rotated?.value, remembered?.value, 'the device token rotated')

  t.same(problems, [], 'no script errors and no CSP violations')
})

t.test('in a browser, on http://127.0.0.1 (what npm start prints): cancel goes back to the application with access_denied; a spent link says so on Warden\'s page', async (t) => {
  const { page, problems, text } = await openPage(t)
  const base = `http://127.0.0.1:${listening.port}`
  const username = uniqueUsername('hostedc')
  await users.enrollAndConfirm(await users.login(username, 'demo-app'))
  await page.goto(`${base}/demo-app/`)
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill('demo')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await text('Enter the code from your authenticator app')
  await page.getByRole('button', { name: 'Cancel and go back to Demo App' }).click()
  await text('The sign-in was cancelled.')
  t.equal(page.url(), `${base}/demo-app/`)

  // A link that was already used: nothing says where to go back to, so Warden's page says it.
  const pushed = await gw.call('POST', '/v1/authorize/session', { body: { requestUri: `urn:warden:request:${'A'.repeat(43)}` } })
  t.equal(pushed.statusCode, 400)
  await page.goto(`${base}/ui/?request_uri=${encodeURIComponent(`urn:warden:request:${'A'.repeat(43)}`)}`)
  await text('This sign-in link has expired or was already used.')
  t.same(problems, [], 'no script errors and no CSP violations')
})

t.test('in a browser: a first visit sets up 2FA on the hosted pages (the demo application requires it), then the code, then back', async (t) => {
  const { page, problems, text } = await openPage(t)
  const username = uniqueUsername('hostedw')
  await page.goto(`${base}/demo-app/`)
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill('demo')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await text('Step 1 of 6')
  await text('This application requires two-step verification for your account.')
  await page.getByRole('button', { name: 'Next' }).click()
  // The default setup is the authenticator app's pairing; "Try another way" leads to TOTP.
  await text('Step 2 of 6')
  await text('Pair the authenticator app')
  await page.getByRole('button', { name: 'Try another way' }).click()
  await page.getByRole('button', { name: 'Can\'t scan QR code?' }).click()
  const secret = ((await page.locator('#secret').textContent()) ?? '').replace(/\s/g, '')
  users.seen.secrets.push(secret)
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Step 3 of 6')
  await page.getByLabel('6-digit code').fill(users.codeOf(secret))
  await page.getByRole('button', { name: 'Next' }).click()
  // The optional backup phone (steps 4-5): Next with an empty field skips it.
  await text('Step 4 of 6')
  await page.getByRole('button', { name: 'Next' }).click()
  // The emergency code is not asked inside an application's sign-in (the page holds no MFA
  // token): the settings page resumes the wizard there.
  await text('Step 6 of 6')
  await text('Congratulations - you have now secured your account with 2FA.')
  await page.getByRole('button', { name: 'Continue to sign in' }).click()
  await text('Enter the code from your authenticator app')
  clock.advance(30_000)
  await page.getByLabel('6-digit code').fill(users.codeOf(secret))
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('You are signed in')
  await text(`Welcome, ${username}.`)
  await text('Second step: a one-time code.')
  t.same(problems, [], 'no script errors and no CSP violations')
})
