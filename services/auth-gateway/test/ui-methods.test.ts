// The hosted UI's other methods in a real browser (Debian's Chromium, playwright-core): push with
// number matching (denied, expired and "Try push again", approved), "Try another way", SMS with
// its reference number, and the emergency code (temporary loss: a new code, shown once). The
// factor services are fakes on the real bus that speak the real contracts (fixtures/gateway.ts).
import t from 'tap'
import { openPage } from './fixtures/browser.js'
import { startGateway, uniqueUsername } from './fixtures/gateway.js'
import { FAKE_NEW_RECOVERY_CODE, FAKE_RECOVERY_CODE, FAKE_SMS_CODE, startFakeFactors, startFakeTotp } from './fixtures/fake-factors.js'


const gw = await startGateway(t)
await startFakeTotp(t, gw.nc)
const fakes = await startFakeFactors(t, gw.nc)
const base = await gw.app.listen({ port: 0, host: '127.0.0.1' })

const PHONES = [
  { id: 'phn_AAAAAAAAAAAAAAAAAAAAAA', label: '+46 •• ••• •• 12', verified: true },
  { id: 'phn_BBBBBBBBBBBBBBBBBBBBBB', label: '+47 ••• •• 345', verified: true },
]

t.test('in a browser: push, Try another way, SMS and the emergency code', async (t) => {
  const { page, problems, text } = await openPage(t)

  const username = uniqueUsername('uim')
  fakes.enroll(username, 'push', { items: [{ id: 'dev_AAAAAAAAAAAAAAAAAAAAAA', label: 'Pixel 8' }] })
  fakes.enroll(username, 'sms', { items: PHONES })
  fakes.enroll(username, 'recovery', { createdAt: '2026-01-01T00:00:00.000Z' })

  /** Signs in upstream; the push that the default method sends is answered by `answer`. */
  const signInWithPush = async (): Promise<string> => {
    await page.goto(`${base}/ui/`)
    await page.getByLabel('Username').fill(username)
    await page.getByLabel('Password').fill('demo')
    const pushed = page.waitForResponse((r) => r.url().endsWith('/challenge') && r.request().method() === 'POST')
    await page.getByRole('button', { name: 'Sign in' }).click()
    const challenge = await (await pushed).json() as { challengeId: string, numberToMatch: number }
    await text('Check your phone')
    t.equal(await page.getByLabel('number to match').textContent(), String(challenge.numberToMatch), 'the number to tap in the app')
    return challenge.challengeId
  }
  const signOut = async (): Promise<void> => { await page.getByRole('button', { name: 'Sign out' }).click(); await text('Demo identity provider') }

  // Push is the default. Denied: "Try another way" lists every method, SMS once per phone.
  fakes.answerPush(await signInWithPush(), 'denied')
  await text('You denied this sign-in on your phone.')
  await page.getByRole('button', { name: 'Try another way' }).click()
  await text('Choose how to confirm it is you.')
  t.same(await page.locator('ul.methods button').allTextContents(), [
    'Get a push notification on your phone',
    `Get a code by text message to ${PHONES[0]?.label ?? ''}`,
    `Get a code by text message to ${PHONES[1]?.label ?? ''}`,
    'Use one-time emergency code',
  ])

  // SMS to the second phone: its masked number and the reference the SMS carries.
  const sent = page.waitForResponse((r) => r.url().endsWith('/challenge'))
  await page.getByRole('button', { name: `Get a code by text message to ${PHONES[1]?.label ?? ''}` }).click()
  const sms = await (await sent).json() as { reference: string }
  await text(`We sent a 6-digit code to ${PHONES[1]?.label ?? ''}`)
  t.equal(await page.locator('strong').first().textContent(), sms.reference, 'the reference number is shown')
  await page.getByLabel('6-digit code').fill('999998')
  await page.getByRole('button', { name: 'Verify' }).click()
  await text('Invalid code.')
  await page.getByLabel('6-digit code').fill(FAKE_SMS_CODE)
  await page.getByRole('button', { name: 'Verify' }).click()
  await text(/verified with sms · aal2/)
  await signOut()

  // Push again: no answer, "Try push again", then approved.
  fakes.answerPush(await signInWithPush(), 'expired')
  await text('No answer from your phone')
  const again = page.waitForResponse((r) => r.url().endsWith('/challenge'))
  await page.getByRole('button', { name: 'Try push again' }).click()
  fakes.answerPush((await (await again).json() as { challengeId: string }).challengeId, 'approved')
  await text(/verified with pop · aal2/)
  await signOut()

  // The emergency code, temporary loss: signed in once, and the new code is shown, to be stored.
  await signInWithPush()
  await page.getByRole('button', { name: 'Try another way' }).click()
  await page.getByRole('button', { name: 'Use one-time emergency code' }).click()
  await page.getByLabel('One-time emergency code').fill(FAKE_RECOVERY_CODE.toLowerCase())
  await page.getByLabel(/temporarily lost access/).check()
  await page.getByRole('button', { name: 'Next' }).click()
  await text('Your new emergency code')
  t.equal(await page.locator('#new-recovery-code').textContent(), FAKE_NEW_RECOVERY_CODE)
  t.ok(await page.getByRole('button', { name: 'Next' }).isDisabled(), 'Next waits for "I have safely copied and stored this code."')
  await page.getByLabel('I have safely copied and stored this code.').check()
  await page.getByRole('button', { name: 'Next' }).click()
  await text(/verified with otp · aal2/)

  t.same(problems, [], 'no script errors and no CSP violations')
})
