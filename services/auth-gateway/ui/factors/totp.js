// The authenticator app: the 6-digit code at sign-in, its row in the settings, and its setup in
// the wizard (QR code or "Can't scan QR code?", then a code to confirm).
import { ApiError, alertBox, api, explain, h, show, subject, timeOf } from '../lib.js'
import { codeForm, codeView, rejectedText } from '../signin.js'

export const label = () => 'Use the 6-digit code from your authenticator app'

export function signIn () {
  return codeView({ method: 'totp', title: 'Enter the code from your authenticator app', lead: `Open your authenticator app and enter the 6-digit code for ${subject()}.` })
}

export function settingsRows (f, { enrolled, change, withStepUp, wizardView }) {
  if (!f.available) return []
  return [h('li', {},
    h('span', {}, 'Authenticator app', h('br'), h('span', { class: 'muted' }, f.enrolled ? `Added ${new Date(f.createdAt).toLocaleDateString()}` : 'Not set up')),
    f.enrolled
      ? h('button', { type: 'button', class: 'danger', onclick: () => change('manage-2fa', (mfa) => api('DELETE', '/v1/me/totp', { mfa }), 'The authenticator app was removed.') }, 'Remove')
      : h('button', { type: 'button', class: 'secondary', onclick: () => (enrolled ? withStepUp('manage-2fa', (mfa) => wizardView({ mfa, factor: 'totp' })) : wizardView({ factor: 'totp' })) }, 'Set up'))]
}

export const enroll = {
  intro: () => [
    h('p', {}, 'Besides your password, you will confirm it is you with a code from an authenticator app on your phone. You set it up once, for every application.'),
    h('p', { class: 'muted' }, 'Any authenticator app works: Google Authenticator, Microsoft Authenticator, or another compatible app.'),
  ],
  doneText: 'From now on you will be asked for a code from the app when you sign in, unless this device is remembered.',
  doneNotice: 'The authenticator app is set up.',

  /** Steps 2 and 3 of the wizard: add the account to the app, then confirm with a code. */
  run ({ proof, step, back, done }) {
    const scan = async () => {
      let e
      try {
        e = await api('POST', '/v1/me/totp', { mfa: proof })
      } catch (err) {
        return show(...step(2, 'Add your account to the app'), h('p', { class: 'alert', role: 'alert' }, explain(err)), h('button', { type: 'button', onclick: back }, 'Back'))
      }
      const grouped = e.secret.replace(/(.{4})/g, '$1 ').trim()
      const secret = h('p', { class: 'secret', id: 'secret', hidden: true }, grouped)
      show(
        ...step(2, 'Add your account to the app'),
        h('p', {}, 'Open your authenticator app and scan this QR code.'),
        h('img', { class: 'qr', alt: 'QR code for your authenticator app', src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(e.qrSvg)}` }),
        h('button', { type: 'button', class: 'link', onclick: () => { secret.hidden = false } }, 'Can\'t scan QR code?'),
        secret,
        h('p', { class: 'muted' }, `This setup expires at ${timeOf(e.expiresAt)}.`),
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => confirm(e) }, 'Next'), h('button', { type: 'button', class: 'secondary', onclick: back }, 'Back')),
      )
    }

    const confirm = (e) => {
      const form = codeForm({
        id: 'confirm-code', label: '6-digit code from the app', box: alertBox(),
        actions: [h('button', { type: 'submit' }, 'Next'), h('button', { type: 'button', class: 'secondary', onclick: scan }, 'Back')],
        submit: async (code) => {
          try {
            const r = await api('POST', '/v1/me/totp/confirm', { mfa: proof, body: { enrollmentId: e.enrollmentId, code } })
            if (r.status === 'confirmed') return done()
            return r.reason === 'clock_skew' ? rejectedText({ reason: 'clock_skew', offsetSec: r.offsetSec }) : 'That code did not match. Check that you scanned this QR code, and enter the newest code.'
          } catch (err) {
            return err instanceof ApiError && err.code === 'ENROLLMENT_EXPIRED' ? 'This setup has expired. Go back and scan a new QR code.' : explain(err)
          }
        },
      })
      show(...step(3, 'Enter the 6-digit code'), h('p', {}, 'Enter the 6-digit code your authenticator app now shows for this account.'), form)
    }

    return scan()
  },
}
