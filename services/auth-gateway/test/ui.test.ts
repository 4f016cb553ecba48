// The hosted UI (/ui/) in a real browser: Debian's Chromium driven by playwright-core, against the
// gateway listening on a real port, the real factor-totp (in this process, on the test's manual
// clock, so codes are computed exactly as an authenticator app would) and the placeholder factor
// services as processes, over real NATS and Redis. The browser's own clock does not matter.
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import t from 'tap'
import { loadNotifierConfig, startNotifier } from '@warden/notifier'
import { generateKeyRingSpec } from '@warden/service-kit'
import { openPage } from './fixtures/browser.js'
import { captureLog, manualClock } from '@warden/testkit'
import { uniqueUsername } from './fixtures/gateway.js'
import { startTotpStack, totpCode } from './fixtures/stack.js'


const clock = manualClock(new Date())
const { gw, totpLog } = await startTotpStack(t, clock)
const base = await gw.app.listen({ port: 0, host: '127.0.0.1' })
// The settings page shows the recent security activity, which the notifier serves.
const notifier = await startNotifier(loadNotifierConfig({
  NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, OPS_HOST: '127.0.0.1', DEMO_MODE: 'true',
  SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64'),
}), { clock, logDestination: captureLog().stream })
t.teardown(() => notifier.stop())

const codeOf = (secret: string, offsetSteps = 0): string => totpCode(clock, secret, offsetSteps)

t.test('the pages are served with strict headers; unknown assets are 404', async (t) => {
  const page = await gw.call('GET', '/ui/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.headers['content-security-policy'], /script-src 'self'; .*frame-ancestors 'none'/)
  t.notMatch(page.headers['content-security-policy'], /unsafe-inline|unsafe-eval/)
  t.equal(page.headers['x-frame-options'], 'DENY')
  t.equal(page.headers['referrer-policy'], 'no-referrer')
  t.match(page.body, /data-demo="true"/, 'demo mode is announced to the page')
  t.equal((await gw.call('GET', '/ui')).statusCode, 200, '/ui answers too')
  const factorModules = readdirSync(new URL('../ui/factors/', import.meta.url)).filter((f) => f.endsWith('.js')).map((f) => `factors/${f}`)
  t.ok(factorModules.length > 5, 'the factor modules are served too')
  for (const module of ['app.js', 'lib.js', 'signin.js', 'account.js', 'activity.js', ...factorModules]) {
    const js = await gw.call('GET', `/ui/${module}`)
    t.match(js.headers['content-type'], /^text\/javascript/, module)
    t.notMatch(js.body, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/, `${module} never builds markup from strings`)
  }
  t.match((await gw.call('GET', '/ui/style.css')).headers['content-type'], /^text\/css/)
  for (const url of ['/ui/nope.js', '/ui/..%2Fpackage.json', '/ui/index.html.bak']) {
    const res = await gw.call('GET', url)
    t.equal(res.statusCode, 404, url)
    t.match(res.json(), { error: { code: 'NOT_FOUND' } })
  }
})

t.test('in a browser: enroll with the wizard, sign in with a code, remember the device, step-up, forget it', async (t) => {
  const { page, problems, text } = await openPage(t)

  const username = uniqueUsername('ui')
  const signIn = async (): Promise<void> => {
    await page.goto(`${base}/ui/`)
    await page.getByLabel('Username').fill(username)
    await page.getByLabel('Password').fill('demo')
    await page.getByRole('button', { name: 'Sign in' }).click()
  }
  const signOut = async (): Promise<void> => { await page.getByRole('button', { name: 'Sign out' }).click(); await text('Demo identity provider') }

  // No 2FA yet: the default policy does not ask.
  await page.goto(`${base}/ui/`)
  await page.getByLabel('Password').fill('wrong')
  await page.getByLabel('Username').fill(username)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await text('Wrong username or password')
  await page.getByLabel('Password').fill('demo')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await text('You are signed in')
  await text('Two-step verification is not required for this application.')

  // The wizard: information, QR (or the key by hand), a wrong code, the right code, done.
  await page.getByRole('button', { name: 'Security settings' }).first().click()
  t.equal(await page.locator('#two-factor-state').textContent(), 'Off')
  await page.getByRole('button', { name: 'Enable two-step verification' }).click()
  await text('Step 1 of 7')
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Step 2 of 7')
  // The authenticator app's pairing comes first (seeds: "Setting up your 2FA"); "Try another way"
  // leads to a standard authenticator app.
  await text('Pair the authenticator app')
  await page.getByRole('button', { name: 'Try another way' }).click()
  await text('Open your authenticator app and scan this QR code.')
  t.ok(await page.getByAltText('QR code for your authenticator app').isVisible(), 'the QR code is shown')
  t.notOk(await page.locator('#secret').isVisible(), 'the key is hidden until asked for')
  await page.getByRole('button', { name: 'Can\'t scan QR code?' }).click()
  const secret = ((await page.locator('#secret').textContent()) ?? '').replace(/\s/g, '')
  t.match(secret, /^[A-Z2-7]{32}$/)
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Step 3 of 7')
  // The code field's accessible name is its visible label (no aria-label overriding it), and the
  // new screen put the focus in it.
  const codeField = await page.evaluate('(() => { const el = document.activeElement; return { id: el.id, ariaLabel: el.getAttribute("aria-label"), label: el.labels?.[0]?.textContent } })()') as { id: string, ariaLabel: string | null, label?: string }
  t.same(codeField, { id: 'confirm-code', ariaLabel: null, label: '6-digit code from the app' })
  await page.getByLabel('6-digit code').fill(codeOf(secret, 5) === codeOf(secret) ? '000000' : codeOf(secret, 5))
  await page.getByRole('button', { name: 'Next' }).click()
  await text(/did not match|clock is about/)
  const confirmCode = codeOf(secret)
  await page.getByLabel('6-digit code').fill(confirmCode)
  await page.getByRole('button', { name: 'Next' }).click()
  // The optional backup phone (steps 4-5): Next with an empty field skips it.
  await text('Step 4 of 7')
  await page.getByRole('button', { name: 'Next' }).click()
  // 2FA is on now: the emergency code asks for the second factor (the app's next code), then the
  // seeds' "I have safely copied and stored this code." before the wizard is done.
  await text('Confirm it is you')
  clock.advance(30_000)
  await page.getByLabel('6-digit code').fill(codeOf(secret))
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('Step 6 of 7')
  await page.getByLabel('I have safely copied and stored this code.').check()
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Congratulations - you have now secured your account with 2FA.')
  await page.getByRole('button', { name: 'Done' }).click()
  await text('The authenticator app is set up.')
  t.equal(await page.locator('#two-factor-state').textContent(), 'On')
  // After setup the focus is on the page heading, not on the first button ("Remove").
  t.same(await page.evaluate('[document.activeElement.tagName, document.activeElement.textContent]'), ['H1', 'Security settings'])
  await signOut()

  // Sign in: asked for the code. Replayed, skewed and wrong codes are explained; "Try another way".
  await signIn()
  await text('Enter the code from your authenticator app')
  await page.getByLabel('6-digit code').fill(confirmCode)
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('That code has already been used')
  await page.getByLabel('6-digit code').fill(codeOf(secret, -3))
  await page.getByRole('button', { name: 'Verify' }).click()
  await text(/Your device clock is about (6[0-9]|[7-9][0-9]|1[01][0-9]) s behind/)
  await page.getByRole('button', { name: 'Try another way' }).click()
  await text('Choose how to confirm it is you.')
  const methods = await page.locator('ul.methods button').allTextContents()
  t.same(methods, ['Use the 6-digit code from your authenticator app', 'Use one-time emergency code'], 'every enrolled method, and only those')
  await page.locator('ul.methods button').first().click()
  clock.advance(30_000)
  await page.getByLabel('Remember this device for 30 days').check()
  await page.getByLabel('6-digit code').fill(codeOf(secret))
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('This device will be remembered for 30 days.')
  await text(/verified with otp · aal2/)

  await signOut()

  // The remembered device skips the second step (and its token is rotated in localStorage).
  // Runs in the page (no DOM types in this tsconfig): the remember tokens kept in localStorage.
  const rememberTokens = (): Promise<string[]> => page.evaluate('Object.entries(localStorage).filter(([k]) => k.startsWith("warden.remember.")).map(([, v]) => v)')
  const stored = await rememberTokens()
  t.equal(stored.length, 1)
  await signIn()
  await text('This device is remembered, so no second step was needed.')
  const rotated = await rememberTokens()
  t.not(rotated[0], stored[0], 'the remember token was rotated')

  // Forgetting the device is a change: it asks for the second factor again (step-up), even here.
  await page.getByRole('button', { name: 'Security settings' }).first().click()
  await page.getByRole('heading', { name: 'Security settings' }).waitFor()
  t.equal(await page.locator('#remembered-devices li').count(), 1)
  await page.getByRole('button', { name: 'Forget' }).click()
  await text('Confirm it is you')
  t.equal(await page.getByLabel('Remember this device for 30 days').count(), 0, 'a step-up never offers to remember')
  clock.advance(30_000)
  await page.getByLabel('6-digit code').fill(codeOf(secret))
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('The device was forgotten')
  t.equal(await page.locator('#remembered-devices li').count(), 0)
  await signOut()

  // Forgotten: asked again.
  await signIn()
  await text('Enter the code from your authenticator app')
  clock.advance(30_000)
  await page.getByLabel('6-digit code').fill(codeOf(secret))
  await page.getByRole('button', { name: 'Verify' }).click()
  await text(/verified with otp · aal2/)

  // The page guesses that an MFA token is fresh for 9 minutes; the gateway's clock and the
  // application's stepUpMaxAgeSec (10 minutes here) decide. 11 minutes later (gateway clock; the
  // browser's has not moved) a change (a new emergency code) asks for the second factor again
  // instead of failing with "Confirm it is you with your second factor first."
  clock.advance(11 * 60_000)
  await page.getByRole('button', { name: 'Security settings' }).first().click()
  await page.getByRole('heading', { name: 'Security settings' }).waitFor()
  await page.getByRole('button', { name: 'Create a new code' }).click()
  await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor()
  await page.getByLabel('6-digit code').fill(codeOf(secret))
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('Your new emergency code')
  await page.getByLabel('I have safely copied and stored this code.').check()
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Your new emergency code is stored.')

  t.same(problems, [], 'no script errors and no CSP violations')
  const logs = gw.log.text() + totpLog.text()
  t.notOk(logs.includes(secret), 'the seed is never logged')
})
