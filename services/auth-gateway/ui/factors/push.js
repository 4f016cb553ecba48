// Push with number matching: the number to type in the app, then a long-poll until the user
// answers there (approved, denied, or no answer: "Try push again"); the paired devices in the
// settings (rename, remove); and the wizard's step 2, pairing the authenticator app by QR code
// first, with "Try another way" to a standard authenticator app (seeds: "Setting up your 2FA").
import { alertBox, api, explain, h, say, show, timeOf } from '../lib.js'
import { challenge, currentTransaction, header, rememberBox, tryAnotherWayLink, verified } from '../signin.js'
import * as totp from './totp.js'

export const label = () => 'Get a push notification on your phone'

export async function signIn () {
  const box = alertBox()
  const remember = rememberBox()
  const start = async () => {
    let c
    try {
      c = await challenge({ method: 'push', ...(remember.checked() ? { rememberDevice: true } : {}) })
    } catch (err) {
      return show(...header('Push notification'), h('p', { class: 'alert', role: 'alert' }, explain(err)), tryAnotherWayLink())
    }
    show(
      ...header('Check your phone', 'We sent a notification to your authenticator app. Type this number there to approve the sign-in:'),
      h('div', { class: 'number', 'aria-label': 'number to match' }, String(c.numberToMatch)),
      h('p', { class: 'muted' }, 'Waiting for your answer…'),
      remember.el, tryAnotherWayLink(), box,
    )
    const mine = currentTransaction()?.id
    for (;;) {
      let s
      try {
        s = await api('GET', `/v1/signin/${mine}/push/${c.challengeId}?waitSec=20`)
      } catch (err) {
        return say(box, explain(err))
      }
      if (currentTransaction()?.id !== mine) return
      if (s.state === 'approved') return verified(s)
      if (s.state === 'denied') {
        const why = DENIED[s.reason] ?? DENIED.denied
        return show(...header(why[0], why[1]), h('div', { class: 'actions' }, tryAnotherWayLink()))
      }
      if (s.state === 'expired') {
        return show(...header('No answer from your phone', 'Your push notification request waited too long.'),
          h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => start() }, 'Try push again'), tryAnotherWayLink()))
      }
    }
  }
  await start()
}

/** What a denied push means, by the reason the app gave. */
const DENIED = {
  denied: ['Sign-in denied', 'You denied this sign-in on your phone.'],
  not_me: ['Sign-in denied', 'You told us this sign-in was not you. Push requests are paused for a while, and the attempt is reported. If it was you after all, try another way.'],
  wrong_number: ['Wrong number', 'The number typed in the app was not the one shown here, so this request was cancelled.'],
}

const when = (iso) => new Date(iso).toLocaleDateString()

/** The settings: each paired device, with rename and remove (both behind a fresh second factor). */
export function settingsRows (f, { enrolled, change, withStepUp, wizardView }) {
  if (!f.available) return [h('li', {}, h('span', { class: 'muted' }, 'Authenticator app (push): temporarily unavailable'))]
  const rows = f.items.map((item) => h('li', { 'data-device': item.id },
    h('span', {}, item.label, h('br'), h('span', { class: 'muted' }, `Push · paired ${item.createdAt === undefined ? '' : when(item.createdAt)}`)),
    h('span', { class: 'actions' },
      h('button', {
        type: 'button', class: 'secondary',
        onclick: () => {
          const name = window.prompt('New name for this device', item.label)
          if (name === null || name.trim() === '') return
          return change('manage-2fa', (mfa) => api('PATCH', `/v1/me/push/devices/${item.id}`, { mfa, body: { name: name.trim() } }), 'The device was renamed.')
        },
      }, 'Rename'),
      h('button', { type: 'button', class: 'danger', onclick: () => change('manage-2fa', (mfa) => api('DELETE', `/v1/me/push/devices/${item.id}`, { mfa }), 'The device was removed: it can no longer approve sign-ins.') }, 'Remove')),
  ))
  const locked = f.lockReason === 'paused_after_denials' && f.lockedUntil !== undefined
    ? [h('li', {}, h('span', { class: 'muted' }, `Push is paused until ${timeOf(f.lockedUntil)} after denied requests.`))]
    : []
  const add = h('li', {},
    h('span', {}, 'Authenticator app (push)', h('br'), h('span', { class: 'muted' }, f.enrolled ? 'Add another phone' : 'Not set up')),
    h('button', { type: 'button', class: 'secondary', onclick: () => (enrolled ? withStepUp('manage-2fa', (mfa) => wizardView({ mfa, factor: 'push' })) : wizardView({ factor: 'push' })) }, f.enrolled ? 'Add a device' : 'Set up'))
  return [...rows, ...locked, add]
}

export const enroll = {
  intro: () => [
    h('p', {}, 'Besides your password, you will confirm it is you on your phone. You set it up once, for every application.'),
    h('p', {}, 'Use the Warden Authenticator app for the fastest experience with one-tap push notifications: you approve a sign-in by typing the number shown on the screen.'),
    h('p', { class: 'muted' }, 'Prefer Google or Microsoft Authenticator? Choose "Try another way" on the next screen.'),
  ],
  doneText: 'From now on your phone will ask you to approve each sign-in, unless this device is remembered.',
  doneNotice: 'The authenticator app is paired.',

  /** Step 2: pair the app with a QR code (or the link), while we wait for it; step 3: it is paired. */
  async run ({ proof, step, back, done }) {
    const another = () => totp.enroll.run({ proof, step, back, done: () => done(totp.enroll) })
    let before
    let p
    try {
      before = new Set((await api('GET', '/v1/me/push/devices')).devices.map((d) => d.deviceId))
      p = await api('POST', '/v1/me/push/pairing', { mfa: proof })
    } catch (err) {
      return show(...step(2, 'Pair the authenticator app'), h('p', { class: 'alert', role: 'alert' }, explain(err)),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'link', onclick: another }, 'Try another way'), h('button', { type: 'button', class: 'secondary', onclick: back }, 'Back')))
    }
    const link = h('p', { class: 'secret', id: 'pairing-link', hidden: true }, p.pairingUri)
    let waiting = true
    const stop = () => { waiting = false }
    show(
      ...step(2, 'Pair the authenticator app'),
      h('p', {}, 'Open the Warden Authenticator app on your phone and scan this QR code.'),
      h('img', { class: 'qr', alt: 'QR code to pair your authenticator app', src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(p.qrSvg)}` }),
      h('button', { type: 'button', class: 'link', onclick: () => { link.hidden = false } }, 'Can\'t scan QR code?'),
      link,
      h('p', { class: 'muted', id: 'pairing-wait' }, `Waiting for your phone… This code works once, until ${timeOf(p.expiresAt)}.`),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'link', onclick: () => { stop(); another() } }, 'Try another way'),
        h('button', { type: 'button', class: 'secondary', onclick: () => { stop(); back() } }, 'Back')),
    )
    // The app pairs on its own; the page notices the new device.
    while (waiting && Date.now() < Date.parse(p.expiresAt)) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      if (!waiting) return
      let devices
      try {
        devices = (await api('GET', '/v1/me/push/devices')).devices
      } catch {
        continue
      }
      const added = devices.find((d) => !before.has(d.deviceId))
      if (added !== undefined) {
        return show(
          ...step(3, 'Your phone is paired'),
          h('p', { class: 'alert good', role: 'status' }, `${added.name} can now approve your sign-ins.`),
          h('button', { type: 'button', onclick: () => done() }, 'Next'),
        )
      }
    }
    if (waiting) {
      show(...step(2, 'Pair the authenticator app'), h('p', { class: 'alert', role: 'alert' }, 'This pairing code has expired.'),
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => enroll.run({ proof, step, back, done }) }, 'Show a new code'), h('button', { type: 'button', class: 'link', onclick: another }, 'Try another way')))
    }
  },
}
