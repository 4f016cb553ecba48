// Issue 14 in a real browser (Debian's Chromium, playwright-core): after a factor change the
// settings page shows it under "Recent security activity", and the "Not you?" link of the
// notification the user got opens a page that locks their second factor when they confirm.
// The gateway listens on a real port, with the real factor-totp and the real notifier in this
// process on one manual clock (the other factors are fakes on the bus, except the real recovery
// service: the wizard's emergency-code step issues a code and acknowledges it), over real NATS and Redis.
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { NOTIFIER_DEMO_OUTBOX_KEY } from '@warden/contracts'
import { loadNotifierConfig, startNotifier } from '@warden/notifier'
import { generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, manualClock, startInfra } from '@warden/testkit'
import { loadRecoveryConfig, startRecoveryService } from '../../recovery/dist/app.js'
import { openPage } from './fixtures/browser.js'
import { startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startFakeFactors } from './fixtures/fake-factors.js'
import { startRealTotp, totpCode } from './fixtures/stack.js'

const clock = manualClock(new Date())
const infra = await startInfra(t)
await startRealTotp(t, infra, clock)
const gw = await startGateway(t, { clock, infra })
await startFakeFactors(t, gw.nc, ['push', 'webauthn', 'sms'])
const recovery = await startRecoveryService(loadRecoveryConfig({
  NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'warn', SECRET_KEYS: generateKeyRingSpec('k1'),
}), { clock, logDestination: captureLog().stream })
t.teardown(() => recovery.stop())
const base = await gw.app.listen({ port: 0, host: '127.0.0.1' })
const notifier = await startNotifier(loadNotifierConfig({
  NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', DEMO_MODE: 'true', LOG_LEVEL: 'warn',
  SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64'), PUBLIC_URL: base, DISPATCH_INTERVAL_MS: '50',
}), { clock, logDestination: captureLog().stream })
t.teardown(() => notifier.stop())

t.test('the activity module builds no markup from strings', async (t) => {
  const js = readFileSync(new URL('../ui/activity.js', import.meta.url), 'utf8')
  t.notMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/)
  t.match((await gw.call('GET', '/ui/activity.js')).headers['content-type'], /^text\/javascript/)
})

t.test('in a browser: a factor change shows under "Recent security activity"; "Not you?" locks the second factor', async (t) => {
  const { page, problems, text } = await openPage(t)
  const username = uniqueUsername('uia')
  await page.goto(`${base}/ui/`)
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill('demo')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await text('You are signed in')
  await page.getByRole('button', { name: 'Security settings' }).first().click()
  await text('Recent security activity')
  await text('Nothing yet.')

  // The factor change: the authenticator app, through the wizard.
  // The merged wizard: info, the app pairing ("Try another way" to TOTP), the code, the optional
  // backup phone (skipped), the emergency code (a step-up first: 2FA is on now), done.
  await page.getByRole('button', { name: 'Enable two-step verification' }).click()
  await text('Step 1 of 7')
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Pair the authenticator app')
  await page.getByRole('button', { name: 'Try another way' }).click()
  await page.getByRole('button', { name: 'Can\'t scan QR code?' }).click()
  const secret = ((await page.locator('#secret').textContent()) ?? '').replace(/\s/g, '')
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Step 3 of 7')
  await page.getByLabel('6-digit code').fill(totpCode(clock, secret))
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Step 4 of 7')
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Confirm it is you')
  clock.advance(30_000)
  await page.getByLabel('6-digit code').fill(totpCode(clock, secret))
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('Step 6 of 7')
  await page.getByLabel('I have safely copied and stored this code.').check()
  await page.getByRole('button', { name: 'Next' }).click()
  await page.getByRole('button', { name: 'Done' }).click()
  await text('The authenticator app is set up.')

  // The event crosses the stream to the notifier: the settings page shows it once it is there.
  const deadline = Date.now() + 10_000
  // The wizard's emergency-code step is a factor change too (newest first): the app's row is looked for by name.
  const appRow = page.locator('#security-activity li[data-type="factor.enrolled"]').filter({ hasText: /^Authenticator app added/ })
  while (await appRow.count() === 0) {
    if (Date.now() > deadline) throw new Error('the enrollment never reached the activity list')
    await new Promise((resolve) => setTimeout(resolve, 200))
    await page.getByRole('button', { name: 'Security settings' }).first().click()
    await text('Recent security activity')
  }
  const row = appRow.first()
  t.match(await row.textContent(), /^Authenticator app added/)
  t.match(await row.textContent(), new RegExp(String(clock.now().getFullYear())), 'with its time')

  // The notification (demo mode: the demo outbox) carries the "Not you?" link.
  let link: string | undefined
  while (link === undefined) {
    if (Date.now() > deadline + 10_000) throw new Error('no notification')
    const messages = (await gw.redis.lrange(NOTIFIER_DEMO_OUTBOX_KEY, 0, -1)).map((m) => JSON.parse(m) as { to: string, text: string })
    link = /Not you\? (\S+)$/.exec(messages.find((m) => m.to === username)?.text ?? '')?.[1]
    if (link === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(link.startsWith(`${base}/ui/#not-me=`), link)
  // Opened from a message app: a fresh page load, not a jump within the settings page.
  await page.goto('about:blank')
  await page.goto(link)
  await text('Was this not you?')
  t.equal(new URL(page.url()).hash, '', 'the token leaves the address bar')
  await page.getByRole('button', { name: 'Lock my two-step verification' }).click()
  await text('Two-step verification locked')

  // Signing in again: the second factor is locked until support resets it.
  await page.evaluate('sessionStorage.clear()')
  await page.goto(`${base}/ui/`)
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill('demo')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await text(/locked after a "Not you\?" report/)
  t.same(problems, [])
})
