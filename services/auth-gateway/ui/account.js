// The user's own 2FA: security settings (every change behind a fresh second factor) and the
// setup wizard. Each factor's rows and setup steps are its module in ui/factors/.
import { ApiError, alertBox, api, claimsOf, DEMO, explain, freshMfa, h, say, session, show, subject } from './lib.js'
import { errorView, startSignin } from './signin.js'
import { afterSetups, factorUi, settable, setsUpByDefault, wizardSteps } from './factors/index.js'
import { activitySection } from './activity.js'
import { hosted } from './hosted.js'

// ---- settings and changes (step-up) ---------------------------------------------------------

/** Whether the gateway refused an MFA token as not fresh enough for this application's policy. */
export const staleMfa = (err) => err instanceof ApiError && err.code === 'STEP_UP_REQUIRED'

/**
 * Runs a change that needs a fresh second factor: with the current MFA token, or after a step-up.
 * This page can only guess what "fresh" means (9 minutes, lib.js); the application's
 * stepUpMaxAgeSec may be shorter, and the gateway's clock decides. So a change with the current
 * token that the gateway refuses as stale (`change` rethrows it when `canStepUp`) starts the
 * step-up then, instead of ending in an error.
 */
export async function withStepUp (action, change) {
  const stepUp = () => startSignin({ purpose: 'step-up', action, then: (token) => change(token, { canStepUp: false }) })
  const mfa = freshMfa()
  if (mfa === undefined) return stepUp()
  try {
    return await change(mfa, { canStepUp: true })
  } catch (err) {
    if (staleMfa(err)) return stepUp()
    throw err
  }
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
  const change = (action, run, done) => withStepUp(action, async (mfa, { canStepUp }) => {
    try {
      await run(mfa)
      return settingsView(done)
    } catch (err) {
      if (canStepUp && staleMfa(err)) throw err
      return settingsView(undefined, explain(err))
    }
  })
  // Each factor's rows come from its module; one without rows of its own lists its items.
  const ctx = { enrolled, change, withStepUp, wizardView }
  const factorRows = me.factors.flatMap((f) => {
    const rows = factorUi(f.factor)?.settingsRows
    if (rows !== undefined) return rows(f, ctx)
    if (!f.available) return [h('li', {}, h('span', { class: 'muted' }, `${f.factor}: temporarily unavailable`))]
    return f.enrolled ? (f.items.length ? f.items : [{ label: f.factor }]).map((item) => h('li', {}, h('span', {}, item.label))) : []
  })
  // The factor "Enable two-step verification" sets up: the first one, in the API's order, that these pages can set up.
  const firstSetup = me.factors.find((f) => f.available && setsUpByDefault(f.factor))?.factor
  const activity = await activitySection()
  const devices = me.rememberedDevices.map((d) => h('li', {},
    h('span', {}, d.label, h('br'), h('span', { class: 'muted' }, `Last used ${new Date(d.lastUsedAt).toLocaleString()} · until ${new Date(d.expiresAt).toLocaleDateString()}`)),
    h('button', { type: 'button', class: 'secondary', onclick: () => change('manage-2fa', (mfa) => api('DELETE', `/v1/me/remembered-devices/${d.id}`, { mfa }), 'The device was forgotten: it will be asked for the second step again.') }, 'Forget')))
  show(
    h('h1', {}, 'Security settings'),
    notice === undefined ? null : h('p', { class: 'alert good', role: 'status' }, notice),
    h('p', {}, 'Two-step verification: ', h('strong', { id: 'two-factor-state' }, enrolled ? 'On' : me.twoFactor === 'none' ? 'Off' : 'Unknown (a service did not answer)')),
    h('p', { class: 'muted' }, 'It protects your profile in every application that uses this sign-in.'),
    enrolled ? null : h('button', { type: 'button', onclick: () => wizardView({ factor: firstSetup }) }, 'Enable two-step verification'),
    h('h2', {}, 'Methods'), h('ul', { class: 'items' }, factorRows),
    h('h2', {}, 'Remembered devices'),
    devices.length === 0 ? h('p', { class: 'muted' }, 'None.') : h('ul', { class: 'items', id: 'remembered-devices' }, devices),
    enrolled ? h('button', { type: 'button', class: 'danger', onclick: () => change('disable-2fa', (mfa) => api('POST', '/v1/me/disable', { mfa, body: {} }), 'Two-step verification is off.') }, 'Turn off two-step verification') : null,
    ...activity,
    box,
  )
  if (problem !== undefined) say(box, problem)
}

// ---- the enrollment wizard (seeds: "Enable 2FA", "Setting up your 2FA") ---------------------------

/**
 * Information → the factor's own setup (its module's `enroll`: for the authenticator app, the QR
 * code or manual key, then a code) → the emergency code ("I have safely copied and stored this
 * code.") → done. `enrollmentToken` comes from enrollment_required or a permanent-loss reset; `mfa`
 * from a step-up when 2FA is already on. `factor` is the one to set up. An unfinished wizard resumes
 * where it stopped (GET /v1/me/enrollment), and starts only after a recent password.
 */
export async function wizardView ({ enrollmentToken, mfa, reason, factor }) {
  const setup = factorUi(factor ?? settable()[0])?.enroll
  if (setup === undefined) return errorView('Two-step verification cannot be set up here right now. Try again shortly.')
  const proof = enrollmentToken ?? mfa
  // After the setup: other modules' optional steps (the backup phone number and its code), then
  // the wizard's own later steps (the emergency code), then done.
  const extras = afterSetups().filter((m) => m.enroll !== setup)
  const extraSteps = extras.reduce((n, m) => n + m.afterSetup.steps, 0)
  // Inside an application's hosted sign-in the page holds no MFA token (the gateway keeps it), so
  // the emergency code, which needs one once 2FA is on, is left for the settings page, where the
  // unfinished wizard resumes (GET /v1/me/enrollment still says it is not complete).
  const after = hosted.get() === null ? wizardSteps() : []
  const steps = 4 + extraSteps + after.length
  const step = (n, title) => [h('p', { class: 'step' }, `Step ${n} of ${steps}`), h('h1', {}, title)]

  let state
  try {
    state = await api('GET', '/v1/me/enrollment')
  } catch (err) {
    return errorView(explain(err))
  }
  // Seeds: "Enter your password to start the 2FA enrollment wizard".
  if (state.reauthenticate && proof === undefined) return passwordView(() => wizardView({ enrollmentToken, mfa, reason, factor }))

  const info = () => show(
    ...step(1, 'Set up two-step verification'),
    reason === 'required' ? h('p', { class: 'alert info' }, 'This application requires two-step verification for your account.') : null,
    reason === 'reset' ? h('p', { class: 'alert info' }, 'Your two-step verification was reset. Set it up again to continue.') : null,
    reason === 'step-up' ? h('p', { class: 'alert info' }, 'This action needs two-step verification: set it up first.') : null,
    ...setup.intro(),
    h('button', { type: 'button', onclick: () => setup.run({ proof, step, back: info, done: (used) => afterSetup(used) }) }, 'Next'),
  )

  const afterSetup = (used, i = 0, first = 4) => (i >= extras.length
    ? next(0, proof, used)
    : extras[i].afterSetup.run({ proof, step, first, next: () => afterSetup(used, i + 1, first + extras[i].afterSetup.steps) }))

  /**
   * The wizard's later steps, one by one, then done. `used`: the setup that finished, when the
   * factor's own steps handed over to another ("Try another way").
   */
  const next = (i, shown, used = setup) => {
    const s = after[i]
    if (s === undefined) return done(used)
    return s.run({ proof: shown, step: (_n, title) => step(4 + extraSteps + i, title), done: (p) => next(i + 1, p ?? shown, used), withStepUp })
  }

  const done = (used = setup) => show(
    ...step(steps, 'Setup complete'),
    h('p', { class: 'alert good', role: 'status' }, 'Congratulations - you have now secured your account with 2FA.'),
    h('p', {}, used.doneText),
    reason === undefined
      ? h('button', { type: 'button', onclick: () => settingsView(used.doneNotice) }, 'Done')
      : h('button', { type: 'button', onclick: () => startSignin() }, 'Continue to sign in'),
  )

  // Resume: the setup is done, a later step (the emergency code) is not.
  const resumeAt = after.findIndex((s) => s.step === state.current)
  if (resumeAt >= 0) return next(resumeAt, proof)
  info()
}

/** "Enter your password" again: Warden never sees it, so a new primary token from the IdP (the demo IdP here). */
function passwordView (then) {
  const box = alertBox()
  if (!DEMO) {
    return show(h('h1', {}, 'Enter your password again'), h('p', {}, 'Setting up two-step verification starts with your password. Sign in again at your identity provider, then come back.'), box)
  }
  const password = h('input', { id: 'reauth-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, autofocus: true })
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault()
      try {
        const { token } = await api('POST', '/v1/demo/login', { auth: false, body: { username: subject(), password: password.value, clientId: claimsOf(session.primary ?? '').azp ?? 'demo-app' } })
        session.primary = token
        return then()
      } catch (err) {
        say(box, err instanceof ApiError && err.status === 401 ? 'Wrong password.' : explain(err))
      }
    },
  }, h('label', { for: 'reauth-password' }, 'Password'), password, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Continue')), box)
  show(h('h1', {}, 'Enter your password'), h('p', {}, 'To set up two-step verification, confirm your password first.'), form)
}
