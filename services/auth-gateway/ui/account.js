// The user's own 2FA: security settings (every change behind a fresh second factor) and the
// setup wizard.
import { ApiError, alertBox, api, explain, freshMfa, h, say, show, timeOf } from './lib.js'
import { codeForm, errorView, rejectedText, startSignin } from './signin.js'

// ---- settings and changes (step-up) ---------------------------------------------------------

/** Runs a change that needs a fresh second factor: with the current MFA token, or after a step-up. */
export async function withStepUp (action, change) {
  const mfa = freshMfa()
  if (mfa !== undefined) return change(mfa)
  return startSignin({ purpose: 'step-up', action, then: (token) => change(token) })
}

export async function settingsView (notice, problem) {
  let me
  try {
    me = await api('GET', '/v1/me/factors')
  } catch (err) {
    return errorView(explain(err))
  }
  const box = alertBox()
  const enrolled = me.twoFactor === 'enrolled'
  const totp = me.factors.find((f) => f.factor === 'totp')
  const change = (action, run, done) => withStepUp(action, async (mfa) => {
    try {
      await run(mfa)
      return settingsView(done)
    } catch (err) {
      return settingsView(undefined, explain(err))
    }
  })
  const factorRows = []
  if (totp?.available) {
    factorRows.push(h('li', {},
      h('span', {}, 'Authenticator app', h('br'), h('span', { class: 'muted' }, totp.enrolled ? `Added ${new Date(totp.createdAt).toLocaleDateString()}` : 'Not set up')),
      totp.enrolled
        ? h('button', { type: 'button', class: 'danger', onclick: () => change('manage-2fa', (mfa) => api('DELETE', '/v1/me/totp', { mfa }), 'The authenticator app was removed.') }, 'Remove')
        : h('button', { type: 'button', class: 'secondary', onclick: () => (enrolled ? withStepUp('manage-2fa', (mfa) => wizardView({ mfa })) : wizardView({})) }, 'Set up')))
  }
  for (const f of me.factors) {
    if (f.factor === 'totp') continue
    if (!f.available) factorRows.push(h('li', {}, h('span', { class: 'muted' }, `${f.factor}: temporarily unavailable`)))
    else if (f.enrolled) {
      for (const item of f.items.length ? f.items : [{ label: f.factor }]) factorRows.push(h('li', {}, h('span', {}, item.label)))
    }
  }
  const devices = me.rememberedDevices.map((d) => h('li', {},
    h('span', {}, d.label, h('br'), h('span', { class: 'muted' }, `Last used ${new Date(d.lastUsedAt).toLocaleString()} · until ${new Date(d.expiresAt).toLocaleDateString()}`)),
    h('button', { type: 'button', class: 'secondary', onclick: () => change('manage-2fa', (mfa) => api('DELETE', `/v1/me/remembered-devices/${d.id}`, { mfa }), 'The device was forgotten: it will be asked for the second step again.') }, 'Forget')))
  show(
    h('h1', {}, 'Security settings'),
    notice === undefined ? null : h('p', { class: 'alert good', role: 'status' }, notice),
    h('p', {}, 'Two-step verification: ', h('strong', { id: 'two-factor-state' }, enrolled ? 'On' : me.twoFactor === 'none' ? 'Off' : 'Unknown (a service did not answer)')),
    h('p', { class: 'muted' }, 'It protects your profile in every application that uses this sign-in.'),
    enrolled ? null : h('button', { type: 'button', onclick: () => wizardView({}) }, 'Enable two-step verification'),
    h('h2', {}, 'Methods'), h('ul', { class: 'items' }, factorRows),
    h('h2', {}, 'Remembered devices'),
    devices.length === 0 ? h('p', { class: 'muted' }, 'None.') : h('ul', { class: 'items', id: 'remembered-devices' }, devices),
    enrolled ? h('button', { type: 'button', class: 'danger', onclick: () => change('disable-2fa', (mfa) => api('POST', '/v1/me/disable', { mfa, body: {} }), 'Two-step verification is off.') }, 'Turn off two-step verification') : null,
    box,
  )
  if (problem !== undefined) say(box, problem)
}

// ---- the enrollment wizard (seeds: "Enable 2FA", "Setting up your 2FA") ---------------------------

/**
 * Information → authenticator app (QR or manual key) → code → done. `enrollmentToken` comes from
 * enrollment_required or a permanent-loss reset; `mfa` from a step-up when 2FA is already on.
 */
export function wizardView ({ enrollmentToken, mfa, reason }) {
  const proof = enrollmentToken ?? mfa
  const steps = 4
  const step = (n, title) => [h('p', { class: 'step' }, `Step ${n} of ${steps}`), h('h1', {}, title)]

  const info = () => show(
    ...step(1, 'Set up two-step verification'),
    reason === 'required' ? h('p', { class: 'alert info' }, 'This application requires two-step verification for your account.') : null,
    reason === 'reset' ? h('p', { class: 'alert info' }, 'Your two-step verification was reset. Set it up again to continue.') : null,
    reason === 'step-up' ? h('p', { class: 'alert info' }, 'This action needs two-step verification: set it up first.') : null,
    h('p', {}, 'Besides your password, you will confirm it is you with a code from an authenticator app on your phone. You set it up once, for every application.'),
    h('p', { class: 'muted' }, 'Any authenticator app works: Google Authenticator, Microsoft Authenticator, or another compatible app.'),
    h('button', { type: 'button', onclick: scan }, 'Next'),
  )

  const scan = async () => {
    let e
    try {
      e = await api('POST', '/v1/me/totp', { mfa: proof })
    } catch (err) {
      return show(...step(2, 'Add your account to the app'), h('p', { class: 'alert', role: 'alert' }, explain(err)), h('button', { type: 'button', onclick: info }, 'Back'))
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
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => confirm(e) }, 'Next'), h('button', { type: 'button', class: 'secondary', onclick: info }, 'Back')),
    )
  }

  const confirm = (e) => {
    const form = codeForm({
      id: 'confirm-code', label: 'Code from the app', box: alertBox(),
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

  const done = () => show(
    ...step(4, 'Setup complete'),
    h('p', { class: 'alert good', role: 'status' }, 'Congratulations - you have now secured your account with 2FA.'),
    h('p', {}, 'From now on you will be asked for a code from the app when you sign in, unless this device is remembered.'),
    reason === undefined
      ? h('button', { type: 'button', onclick: () => settingsView('The authenticator app is set up.') }, 'Done')
      : h('button', { type: 'button', onclick: () => startSignin() }, 'Continue to sign in'),
  )

  info()
}
