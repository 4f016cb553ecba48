// The hosted UI's SMS screens in a real browser (Debian's Chromium, playwright-core): the wizard's
// optional backup-phone steps (added, or skipped with an empty field), an SMS sign-in through
// "Try another way" with the reference and the masked phone, and the phones in the settings. The
// codes are read from the page's demo inbox, as a person trying the demo would. The real
// factor-sms runs in this process against the fake Vonage, and so do the real recovery service (the
// wizard's emergency-code step) and the notifier (the settings page's security activity);
// factor-totp is the bus fake (000000), push and webauthn the bus fakes.
import { loadNotifierConfig, startNotifier } from '@warden/notifier'
import { generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, startFakeVonage } from '@warden/testkit'
import { randomBytes, randomInt } from 'node:crypto'
import t from 'tap'
// The built service (npm test builds the workspace first); not a dependency of the gateway's package.
import { loadSmsConfig, startSmsService } from '../../factor-sms/dist/app.js'
import { loadRecoveryConfig, startRecoveryService } from '../../recovery/dist/app.js'
import { openPage } from './fixtures/browser.js'
import { startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startFakeFactors, startFakeTotp } from './fixtures/fake-factors.js'

const fake = await startFakeVonage()
t.teardown(() => fake.close())
const gw = await startGateway(t, { env: { DEMO_OUTBOX_URL: fake.url } })
const sms = await startSmsService(loadSmsConfig({
  NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'warn',
  SECRET_KEYS: generateKeyRingSpec('k1'), SMS_HMAC_KEY: randomBytes(32).toString('base64'),
  VONAGE_API_KEY: fake.apiKey, VONAGE_API_SECRET: fake.apiSecret, VONAGE_REST_HOST: fake.url, SMS_ORIGIN_HOST: '127.0.0.1',
}))
t.teardown(() => sms.stop())
const recovery = await startRecoveryService(loadRecoveryConfig({
  NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'warn', SECRET_KEYS: generateKeyRingSpec('k1'),
}))
t.teardown(() => recovery.stop())
const notifier = await startNotifier(loadNotifierConfig({
  NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, OPS_HOST: '127.0.0.1', DEMO_MODE: 'true',
  SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64'),
}), { logDestination: captureLog().stream })
t.teardown(() => notifier.stop())
await startFakeTotp(t, gw.nc)
await startFakeFactors(t, gw.nc, ['push', 'webauthn'])
const base = await gw.app.listen({ port: 0, host: '127.0.0.1' })

t.test('in a browser: the wizard\'s phone steps, an SMS sign-in with its reference, the phones in the settings', async (t) => {
  const { page, problems, text } = await openPage(t)
  const number = `+479${String(randomInt(0, 10_000_000)).padStart(7, '0')}`
  const masked = `+47 •• •• •• ${number.slice(-2)}`

  const login = async (username: string): Promise<void> => {
    await page.goto(`${base}/ui/`)
    await page.getByLabel('Username').fill(username)
    await page.getByLabel('Password').fill('demo')
    await page.getByRole('button', { name: 'Sign in' }).click()
  }
  const signOut = async (): Promise<void> => { await page.getByRole('button', { name: 'Sign out' }).click(); await text('Demo identity provider') }
  /** The newest SMS, read in the page's demo inbox: its text and code. */
  const fromInbox = async (): Promise<{ text: string, code: string }> => {
    await page.getByRole('button', { name: 'Demo inbox' }).click()
    const first = page.locator('#demo-inbox .sms-text').first()
    await first.waitFor()
    const smsText = (await first.textContent()) ?? ''
    await page.locator('#demo-inbox').getByRole('button', { name: 'Close' }).click()
    return { text: smsText, code: /#(\d{6})$/.exec(smsText)?.[1] ?? 'none' }
  }
  const startWizard = async (username: string): Promise<void> => {
    await login(username)
    await text('Two-step verification is not required for this application.')
    await page.getByRole('button', { name: 'Security settings' }).first().click()
    await page.getByRole('button', { name: 'Enable two-step verification' }).click()
    await text('Step 1 of 7')
    await page.getByRole('button', { name: 'Next' }).click()
    await text('Step 2 of 7')
    // The app's pairing comes first; "Try another way" sets up a standard authenticator app.
    await text('Pair the authenticator app')
    await page.getByRole('button', { name: 'Try another way' }).click()
    await text('Open your authenticator app and scan this QR code.')
    await page.getByRole('button', { name: 'Next' }).click()
    await text('Step 3 of 7')
    await page.getByLabel('6-digit code').fill('000000')
    await page.getByRole('button', { name: 'Next' }).click()
    await text('Step 4 of 7')
    await text('Add a backup phone number (optional)')
  }
  /**
   * The emergency-code step: a step-up (2FA is on now) unless the page still holds the fresh one
   * the phone step asked for, then the checkbox, then done.
   */
  const emergencyCode = async (stepUp: boolean): Promise<void> => {
    if (stepUp) {
      await text('Confirm it is you')
      await page.getByLabel('6-digit code').fill('000000')
      await page.getByRole('button', { name: 'Verify' }).click()
    }
    await text('Step 6 of 7')
    await page.getByLabel('I have safely copied and stored this code.').check()
    await page.getByRole('button', { name: 'Next' }).click()
    await text('Step 7 of 7')
    await text('Congratulations - you have now secured your account with 2FA.')
  }

  // The wizard, with a phone: step-up (2FA has just been switched on), then the code from the
  // SMS, whose reference the page shows.
  const alice = uniqueUsername('uisms')
  await startWizard(alice)
  await page.getByLabel('Phone number').fill(number)
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Confirm it is you')
  await page.getByLabel('6-digit code').fill('000000')
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('Step 5 of 7')
  await text(`We sent a 6-digit code to ${masked}`)
  const reference = (await page.locator('#sms-reference').textContent()) ?? ''
  t.match(reference, /^\d{4}$/)
  await text('No SMS received? Double-check your country prefix and phone number.')
  const enrollSms = await fromInbox()
  t.ok(enrollSms.text.includes(`Reference: ${reference}.`), 'the SMS carries the reference on the screen')
  t.ok(enrollSms.text.endsWith(`@127.0.0.1 #${enrollSms.code}`), 'and the origin-bound line')
  await page.getByLabel('6-digit code').fill(enrollSms.code)
  await page.getByRole('button', { name: 'Next' }).click()
  await emergencyCode(false)
  await page.getByRole('button', { name: 'Done' }).click()
  await text(masked)
  await signOut()

  // Sign in: the app is the default; "Try another way" lists the phone; the SMS screen shows the
  // masked phone and the reference the SMS carries.
  await login(alice)
  await text('Enter the code from your authenticator app')
  await page.getByRole('button', { name: 'Try another way' }).click()
  await text('Choose how to confirm it is you.')
  t.same(await page.locator('ul.methods button').allTextContents(), ['Use the 6-digit code from your authenticator app', `Get a code by text message to ${masked}`, 'Use one-time emergency code'])
  await page.getByRole('button', { name: `Get a code by text message to ${masked}` }).click()
  await text(`We sent a 6-digit code to ${masked}`)
  const signinRef = (await page.locator('#sms-reference').textContent()) ?? ''
  const signinSms = await fromInbox()
  t.ok(signinSms.text.includes(`Reference: ${signinRef}.`), 'the reference matches')
  await page.getByLabel('6-digit code').fill(String((Number(signinSms.code) + 1) % 1_000_000).padStart(6, '0'))
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('Invalid code.')
  await page.getByLabel('6-digit code').fill(signinSms.code)
  await page.getByRole('button', { name: 'Verify' }).click()
  await text(/verified with sms · aal2/)

  // The settings list the phone. A number without its country prefix is explained; removing the
  // phone (the sign-in was a fresh second factor) takes it away.
  await page.getByRole('button', { name: 'Security settings' }).first().click()
  await text(masked)
  await page.getByRole('button', { name: 'Add phone' }).click()
  await page.getByLabel('Phone number').fill('912 34 567')
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Include your country prefix')
  await page.getByRole('button', { name: 'Back' }).click()
  await text(masked)
  await page.getByRole('listitem').filter({ hasText: masked }).getByRole('button', { name: 'Remove' }).click()
  await text('The phone number was removed.')
  t.equal(await page.getByText(masked).count(), 0)
  await signOut()

  // Another user skips the phone: Next with an empty field.
  await startWizard(uniqueUsername('uiskip'))
  await page.getByRole('button', { name: 'Next' }).click()
  await emergencyCode(true)

  t.same(problems, [], 'no script errors or CSP violations')
})
