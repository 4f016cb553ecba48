// Security keys and passkeys in the hosted UI, in a real browser: Debian's Chromium with a CDP
// virtual authenticator (WebAuthn.addVirtualAuthenticator), the gateway on http://localhost:<port>
// (RP ID localhost, as in `npm start`) and the real factor-webauthn as its own process, over real
// NATS and Redis, with the real recovery service (the wizard's emergency-code step) and the
// notifier (the settings' security activity). Each test adds a key in the security settings
// (through the whole wizard), signs in with it, then removes it, which tells the browser (Signal
// API) so the authenticator drops the credential.
import { randomBytes } from 'node:crypto'
import { loadNotifierConfig, startNotifier } from '@warden/notifier'
import { generateKeyRingSpec } from '@warden/service-kit'
import { captureLog, startInfra, startServiceProcess } from '@warden/testkit'
import t from 'tap'
// The built service (npm test builds the workspace first); not a dependency of the gateway's package.
import { loadRecoveryConfig, startRecoveryService } from '../../recovery/dist/app.js'
import { openPage } from './fixtures/browser.js'
import { startGateway, uniqueUsername } from './fixtures/gateway.js'
import { startFakeFactors, startFakeTotp } from './fixtures/fake-factors.js'

const infra = await startInfra(t)
const gw = await startGateway(t, { infra })
await startFakeTotp(t, gw.nc)
await startFakeFactors(t, gw.nc, ['push', 'sms'])
// The real recovery service: the wizard's emergency-code step issues a code and acknowledges it.
const recovery = await startRecoveryService(loadRecoveryConfig({
  NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', LOG_LEVEL: 'warn', SECRET_KEYS: generateKeyRingSpec('k1'),
}))
t.teardown(() => recovery.stop())
// The settings page shows the recent security activity, which the notifier serves.
const notifier = await startNotifier(loadNotifierConfig({
  NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, OPS_HOST: '127.0.0.1', DEMO_MODE: 'true',
  SECRET_KEYS: generateKeyRingSpec('k1'), REPORT_LINK_KEY: randomBytes(32).toString('base64'),
}), { logDestination: captureLog().stream })
t.teardown(() => notifier.stop())
const listening = await gw.app.listen({ port: 0, host: '127.0.0.1' })
// An RP ID cannot be an IP address: the page is opened at localhost, which browsers treat as secure.
const base = listening.replace('127.0.0.1', 'localhost')
await startServiceProcess(t, 'factor-webauthn', {
  NATS_URL: infra.nats.url,
  REDIS_URL: infra.redis.url,
  WEBAUTHN_RP_ID: 'localhost',
  WEBAUTHN_ORIGINS: base,
  LOG_LEVEL: 'warn',
})

/** The virtual authenticators of the WebAuthn CDP domain (Chromium's DevTools protocol). */
const AUTHENTICATORS = {
  'a security key': { protocol: 'ctap2', transport: 'usb', hasResidentKey: false, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  'a passkey (resident key)': {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    defaultBackupEligibility: true, defaultBackupState: true,
  },
} as const

t.test('the browser library is served from the package, under the same strict headers', async (t) => {
  const entry = await gw.call('GET', '/ui/vendor/simplewebauthn/index.js')
  t.equal(entry.statusCode, 200)
  t.match(entry.headers['content-type'], /^text\/javascript/)
  t.match(entry.headers['content-security-policy'], /script-src 'self'/)
  t.match(entry.body, /startRegistration/)
  t.equal((await gw.call('GET', '/ui/vendor/simplewebauthn/methods/startAuthentication.js')).statusCode, 200, 'its modules import each other')
  for (const url of ['/ui/vendor/simplewebauthn/nope.js', '/ui/vendor/simplewebauthn/index.d.ts', '/ui/vendor/simplewebauthn/..%2F..%2Fpackage.json', '/ui/vendor/other/index.js', '/ui/vendor/constructor/index.js']) {
    t.equal((await gw.call('GET', url)).statusCode, 404, url)
  }
})

for (const [kind, options] of Object.entries(AUTHENTICATORS)) {
  t.test(`in a browser, with ${kind}: add it in the settings, sign in with it, remove it`, async (t) => {
    const { page, problems, text } = await openPage(t)
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('WebAuthn.enable')
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options })
    const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials

    const username = uniqueUsername('uiw')
    const signIn = async (): Promise<void> => {
      await page.goto(`${base}/ui/`)
      await page.getByLabel('Username').fill(username)
      await page.getByLabel('Password').fill('demo')
      await page.getByRole('button', { name: 'Sign in' }).click()
    }

    // No 2FA yet: straight in, then the settings offer to add a security key.
    await signIn()
    await text('You are signed in')
    await page.getByRole('button', { name: 'Security settings' }).first().click()
    t.equal(await page.locator('#two-factor-state').textContent(), 'Off')
    await page.getByRole('button', { name: 'Add a security key' }).click()
    await text('Step 1 of 7')
    await page.getByRole('button', { name: 'Next' }).click()
    await text('Step 2 of 7')
    await page.getByLabel('Name of the key').fill(`My ${kind}`)
    await page.getByRole('button', { name: 'Add security key' }).click()
    // The optional backup phone (steps 4-5): Next with an empty field skips it.
    await text('Step 4 of 7')
    await page.getByRole('button', { name: 'Next' }).click()
    // 2FA is on now: the emergency code asks for the second factor (the key just added), then
    // "I have safely copied and stored this code." before the wizard is done.
    await text('Confirm it is you')
    await page.locator('#use-security-key').click()
    await text('Step 6 of 7')
    await page.getByLabel('I have safely copied and stored this code.').check()
    await page.getByRole('button', { name: 'Next' }).click()
    await text('Congratulations - you have now secured your account with 2FA.')
    const made = await credentials()
    t.equal(made.length, 1, 'the authenticator holds the new credential')
    t.equal(made[0]?.isResidentCredential, options.hasResidentKey, options.hasResidentKey ? 'a discoverable credential' : 'a server-side credential')
    await page.getByRole('button', { name: 'Done' }).click()
    await text('The security key is added.')
    t.equal(await page.locator('#two-factor-state').textContent(), 'On')
    await text(`My ${kind}`)
    // Already used once: the wizard's step-up (for the emergency code) was an assertion with it.
    await text(options.hasResidentKey ? /Passkey \(synced\) · added .* · last used / : /Security key \(this device only\) · added .* · last used /)
    await page.getByRole('button', { name: 'Sign out' }).click()

    // Sign in: the security key is the default method.
    await signIn()
    await text('Use your security key')
    await page.locator('#use-security-key').click()
    await text(options.hasResidentKey ? /verified with swk · aal2/ : /verified with hwk · aal2/)

    // Remove it (the fresh sign-in is the step-up): the page tells the browser, which drops it.
    await page.getByRole('button', { name: 'Security settings' }).first().click()
    await text(/last used/)
    await page.locator('li[data-key]').getByRole('button', { name: 'Remove' }).click()
    await text(`The security key "My ${kind}" was removed.`)
    t.equal(await page.locator('li[data-key]').count(), 0, 'the key is no longer listed')
    await text('None added')
    // The wizard also stored an emergency code, which still counts as a second factor: 2FA stays on.
    t.equal(await page.locator('#two-factor-state').textContent(), 'On')
    // The page shows the notice only after the signals were sent (and awaited).
    t.same(await credentials(), [], 'signalUnknownCredential removed it from the authenticator')

    t.same(problems, [], 'no script errors and no CSP violations')
  })
}
