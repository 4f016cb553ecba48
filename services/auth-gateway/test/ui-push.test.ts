// Push in a real browser (Debian's Chromium, playwright-core), approved by the real
// warden-authenticator CLI over HTTP: the wizard pairs the app by QR code first (its link, since a
// test cannot scan), with "Try another way" to a standard authenticator app; then a sign-in with
// push and number matching; then the device in the security settings. factor-push runs in this
// process on the real bus, without FCM (the CLI polls); so do the real recovery service (the
// wizard's emergency-code step) and the notifier (the settings page's security activity).
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, type CliDeps } from '@warden/authenticator'
import { loadPushConfig, startPushService } from '@warden/factor-push'
import { loadNotifierConfig, startNotifier } from '@warden/notifier'
import { generateKeyRingSpec } from '@warden/service-kit'
import { captureLog } from '@warden/testkit'
import t from 'tap'
import { loadRecoveryConfig, startRecoveryService } from '../../recovery/dist/app.js'
import { openPage } from './fixtures/browser.js'
import { startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startFakeTotp, startPlaceholders } from './fixtures/fake-factors.js'

const gw = await startGateway(t)
const push = await startPushService(loadPushConfig({
  NATS_URL: gw.infra.nats.url, REDIS_URL: gw.infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'silent', SECRET_KEYS: generateKeyRingSpec(),
}))
t.teardown(() => push.stop())
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
await startPlaceholders(t, gw.nc, ['webauthn', 'sms'])
const base = await gw.app.listen({ port: 0, host: '127.0.0.1' })

/** The CLI authenticator in a home of its own, talking HTTP to the gateway like a phone would. */
function authenticator () {
  const home = mkdtempSync(join(tmpdir(), 'warden-authenticator-'))
  t.teardown(() => { rmSync(home, { recursive: true, force: true }) })
  const out: string[] = []
  const deps: CliDeps = {
    env: { WARDEN_AUTHENTICATOR_HOME: home },
    now: () => new Date(),
    fetch: (url, init) => fetch(url, init),
    out: (l) => { out.push(l) },
    err: (l) => { out.push(l) },
    hostname: 'ui-test',
  }
  return async (...argv: string[]): Promise<Record<string, unknown>> => {
    out.length = 0
    const code = await run([...argv, '--json'], deps)
    const body = JSON.parse(out.join('\n')) as Record<string, unknown>
    if (code !== 0) throw new Error(`warden-authenticator ${argv[0] ?? ''} failed: ${out.join('\n')}`)
    return body
  }
}

t.test('in a browser: pair the authenticator app in the wizard, then sign in with push approved by the CLI', async (t) => {
  const { page, problems, text } = await openPage(t)
  const app = authenticator()
  const username = uniqueUsername('uip')

  const login = async (): Promise<void> => {
    await page.goto(`${base}/ui/`)
    await page.getByLabel('Username').fill(username)
    await page.getByLabel('Password').fill('demo')
    await page.getByRole('button', { name: 'Sign in' }).click()
  }

  // No 2FA yet: signed in; the settings offer to enable it, and the wizard starts with the app.
  await login()
  await text('You are signed in')
  await page.locator('#view').getByRole('button', { name: 'Security settings' }).click()
  await page.getByRole('button', { name: 'Enable two-step verification' }).click()
  await text('Step 1 of 7')
  await text('fastest experience with one-tap push notifications')
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Step 2 of 7')
  await text('Pair the authenticator app')
  t.ok(await page.getByAltText('QR code to pair your authenticator app').isVisible(), 'the QR code comes first')
  await page.getByRole('button', { name: 'Can\'t scan QR code?' }).click()
  const link = (await page.locator('#pairing-link').textContent()) ?? ''
  t.match(link, new RegExp(`^warden://pair\\?server=${encodeURIComponent(base).replace(/\./g, '\\.')}&code=[A-Za-z0-9_-]{22}&account=`))

  // The app pairs with the link; the page notices.
  const paired = await app('pair', link, '--name', 'Test phone')
  t.match(paired, { deviceId: /^dev_/, name: 'Test phone' })
  await text('Step 3 of 7')
  await text('Your phone is paired')
  await text('Test phone can now approve your sign-ins.')
  await page.getByRole('button', { name: 'Next' }).click()
  // The optional backup phone (steps 4-5): Next with an empty field skips it.
  await text('Step 4 of 7')
  const stepUpPushed = page.waitForResponse((r) => r.url().endsWith('/challenge') && r.request().method() === 'POST')
  await page.getByRole('button', { name: 'Next' }).click()
  // 2FA is on now: the emergency code asks for the second factor, a push the just-paired app approves.
  await text('Confirm it is you')
  const stepUp = await (await stepUpPushed).json() as { challengeId: string, numberToMatch: number }
  await text('We sent a notification to your authenticator app.')
  const stepUpNumber = await page.getByLabel('number to match').textContent()
  t.equal(stepUpNumber, String(stepUp.numberToMatch))
  t.same(await app('approve', stepUp.challengeId, '--number', stepUpNumber ?? ''), { result: 'approved' })
  await text('Step 6 of 7')
  await text('Save your emergency code')
  await page.getByLabel('I have safely copied and stored this code.').check()
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Step 7 of 7')
  await text('Congratulations - you have now secured your account with 2FA.')
  await page.getByRole('button', { name: 'Done' }).click()
  await text('The authenticator app is paired.')
  t.equal(await page.locator('#two-factor-state').textContent(), 'On')
  t.ok(await page.locator(`li[data-device="${String(paired.deviceId)}"]`).isVisible(), 'the device is listed')

  // Sign in again: push is the default; the number shows here and is typed into the app.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await text('Demo identity provider')
  const pushed = page.waitForResponse((r) => r.url().endsWith('/challenge') && r.request().method() === 'POST')
  await login()
  const challenge = await (await pushed).json() as { challengeId: string, numberToMatch: number }
  await text('Check your phone')
  const shown = await page.getByLabel('number to match').textContent()
  t.equal(shown, String(challenge.numberToMatch))

  const pending = await app('pending') as { challenges: Array<{ challengeId: string, context: { appName: string, userAgent?: string } }> }
  t.match(pending.challenges, [{ challengeId: challenge.challengeId, context: { appName: 'demo-app', userAgent: /Chrome/ } }], 'the app shows where the sign-in comes from')
  t.same(await app('approve', challenge.challengeId, '--number', shown ?? ''), { result: 'approved' })
  await text('You are signed in')
  await text(/verified with pop/)

  // The settings: remove the device (the fresh sign-in is the step-up).
  await page.locator('#view').getByRole('button', { name: 'Security settings' }).click()
  await page.locator(`li[data-device="${String(paired.deviceId)}"]`).getByRole('button', { name: 'Remove' }).click()
  await text('The device was removed: it can no longer approve sign-ins.')
  t.equal(await page.locator(`li[data-device="${String(paired.deviceId)}"]`).count(), 0)
  t.same(problems, [], 'no script errors or CSP violations')
})

t.test('in a browser: the wizard\'s "Try another way" leads to a standard authenticator app', async (t) => {
  const { page, problems, text } = await openPage(t)
  await page.goto(`${base}/ui/`)
  await page.getByLabel('Username').fill(uniqueUsername('uip'))
  await page.getByLabel('Password').fill('demo')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#view').getByRole('button', { name: 'Security settings' }).click()
  await page.getByRole('button', { name: 'Enable two-step verification' }).click()
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Pair the authenticator app')
  await page.getByRole('button', { name: 'Try another way' }).click()
  await text('Open your authenticator app and scan this QR code.')
  t.ok(await page.getByAltText('QR code for your authenticator app').isVisible())
  t.same(problems, [])
})
