// The emergency code in a real browser (Debian's Chromium, playwright-core), against the gateway,
// the real factor-totp (on the test's clock) and the real recovery service (the built process):
// the whole setup wizard to "done" with the emergency-code step and its checkbox, then sign-in with
// the emergency code in both flows (temporary: a new code to store; permanent: the wizard again).
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { loadNotifierConfig, startNotifier } from '@warden/notifier'
import { generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, manualClock } from '@warden/testkit'
import { openPage } from './fixtures/browser.js'
import { uniqueUsername } from './fixtures/gateway.js'
import { startTotpStack, totpCode } from './fixtures/stack.js'

const clock = manualClock(new Date())
const { gw } = await startTotpStack(t, clock)
const base = await gw.app.listen({ port: 0, host: '127.0.0.1' })
// The settings page shows the recent security activity, which the notifier serves.
const notifier = await startNotifier(loadNotifierConfig({
  NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, OPS_HOST: '127.0.0.1', DEMO_MODE: 'true',
  SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64'),
}), { clock, logDestination: captureLog().stream })
t.teardown(() => notifier.stop())
const SHOWN = /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/

t.test('in a browser: the wizard with the emergency code, then both recovery flows', async (t) => {
  const { page, problems, text } = await openPage(t)
  const username = uniqueUsername('uir')
  let step = 0
  /** The app's code, one 30-second step later each time (each step works once). */
  const nextCode = (secret: string): string => { clock.advance(30_000); step++; return totpCode(clock, secret) }
  const signIn = async (): Promise<void> => {
    await page.goto(`${base}/ui/`)
    await page.getByLabel('Username').fill(username)
    await page.getByLabel('Password').fill('demo')
    await page.getByRole('button', { name: 'Sign in' }).click()
  }
  const signOut = async (): Promise<void> => { await page.getByRole('button', { name: 'Sign out' }).click(); await text('Demo identity provider') }

  /** The wizard from step 1 to "done"; answers the step-up it asks for once the app is set up. */
  const runWizard = async (expectStepUp: boolean): Promise<{ secret: string, code: string }> => {
    await text('Step 1 of 7')
    await page.getByRole('button', { name: 'Next' }).click()
    await text('Step 2 of 7')
    // The authenticator app's pairing comes first; "Try another way" leads to a standard app (TOTP).
    await text('Pair the authenticator app')
    await page.getByRole('button', { name: 'Try another way' }).click()
    await page.getByRole('button', { name: 'Can\'t scan QR code?' }).click()
    const secret = ((await page.locator('#secret').textContent()) ?? '').replace(/\s/g, '')
    await page.getByRole('button', { name: 'Next' }).click()
    await text('Step 3 of 7')
    await page.getByLabel('6-digit code').fill(nextCode(secret))
    await page.getByRole('button', { name: 'Next' }).click()
    // The optional backup phone (steps 4-5): Next with an empty field skips it.
    await text('Step 4 of 7')
    await page.getByRole('button', { name: 'Next' }).click()
    if (expectStepUp) {
      // 2FA is on now: a new emergency code needs the second factor again (its next code).
      await text('Confirm it is you')
      await page.getByLabel('6-digit code').fill(nextCode(secret))
      await page.getByRole('button', { name: 'Verify' }).click()
    }
    await text('Step 6 of 7')
    await text('Save your emergency code')
    await text('"Master Key"')
    const code = (await page.locator('#new-recovery-code').textContent()) ?? ''
    t.match(code, SHOWN, 'the code, in four groups')
    const next = page.getByRole('button', { name: 'Next' })
    t.ok(await next.isDisabled(), 'Next waits for the checkbox')
    await page.getByLabel('I have safely copied and stored this code.').check()
    await next.click()
    await text('Step 7 of 7')
    await text('Congratulations - you have now secured your account with 2FA.')
    return { secret, code }
  }

  // A new user: no 2FA yet, then the wizard from the security settings, to done.
  await signIn()
  await text('You are signed in')
  await page.getByRole('button', { name: 'Security settings' }).first().click()
  await page.getByRole('button', { name: 'Enable two-step verification' }).click()
  const first = await runWizard(true)
  await page.getByRole('button', { name: 'Done' }).click()
  await text('One-time emergency code')
  t.equal(await page.locator('#two-factor-state').textContent(), 'On')
  t.match((await gw.call('GET', '/v1/me/enrollment', { token: await gw.login(username) })).json(), { complete: true, current: 'done' }, 'the API agrees: complete')
  await signOut()

  // Temporary loss: the emergency code (typed in lowercase), a new code to store, signed in.
  await signIn()
  await text('Enter the code from your authenticator app')
  await page.getByRole('button', { name: 'Try another way' }).click()
  await page.getByRole('button', { name: 'Use one-time emergency code' }).click()
  await page.getByLabel('One-time emergency code').fill(first.code.toLowerCase())
  await page.getByLabel(/temporarily lost access/).check()
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Your new emergency code')
  const renewed = (await page.locator('#new-recovery-code').textContent()) ?? ''
  t.match(renewed, SHOWN)
  t.not(renewed, first.code, 'a new code')
  t.ok(await page.getByRole('button', { name: 'Next' }).isDisabled(), 'Next waits for "I have safely copied and stored this code."')
  await page.getByLabel('I have safely copied and stored this code.').check()
  await page.getByRole('button', { name: 'Next' }).click()
  await text(/verified with otp · aal2/)
  await signOut()

  // The old code is spent. Permanent loss with the new one: 2FA is reset, the wizard starts again.
  await signIn()
  await page.getByRole('button', { name: 'Try another way' }).click()
  await page.getByRole('button', { name: 'Use one-time emergency code' }).click()
  await page.getByLabel('One-time emergency code').fill(first.code)
  await page.getByLabel(/permanently lost access/).check()
  await page.getByRole('button', { name: 'Next' }).click()
  await text('That emergency code is not valid.')
  await page.getByLabel('One-time emergency code').fill(renewed)
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Your two-step verification was reset. Set it up again to continue.')
  // The reset's enrollment token dies with the first factor bound again: the code asks for a step-up.
  const again = await runWizard(true)
  t.not(again.code, renewed)
  await page.getByRole('button', { name: 'Continue to sign in' }).click()
  await text('Enter the code from your authenticator app')

  t.same(problems, [], 'no script errors and no CSP violations')
  t.ok(step > 0)
})
