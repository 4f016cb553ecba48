// Sign-in: the demo IdP (the password step), then the second factor, "Try another way", remember
// this device, and the step-up a change asks for. Each method's own screen is its module in
// ui/factors/; this file holds what they share.
import { ApiError, DEMO, alertBox, api, claimsOf, explain, h, rememberToken, say, session, show, timeOf } from './lib.js'
import { settingsView, wizardView } from './account.js'
import { factorUi, setsUpByDefault } from './factors/index.js'
import { cancelLink, hosted, hostedCancel, hostedComplete, hostedLead, redirectErrorOf } from './hosted.js'

// ---- first factor (upstream) -------------------------------------------------------------------

export function loginView () {
  if (!DEMO) {
    return show(
      h('h1', {}, 'Sign in'),
      h('p', {}, 'Open this page from your application: it passes your sign-in here.'),
      h('p', { class: 'muted' }, 'Applications link to /ui/#token=<primary token> after the password step.'),
    )
  }
  const box = alertBox()
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault()
      const data = new FormData(form)
      try {
        const { token } = await api('POST', '/v1/demo/login', {
          auth: false,
          body: { username: String(data.get('username')).trim().toLowerCase(), password: String(data.get('password')), clientId: String(data.get('clientId')).trim() || 'demo-app' },
        })
        session.primary = token
        session.mfa = null
        await startSignin()
      } catch (err) {
        say(box, err instanceof ApiError && err.code === 'UNAUTHENTICATED' ? 'Wrong username or password. (Demo: any username, password "demo".)' : explain(err))
      }
    },
  },
  h('label', { for: 'username' }, 'Username'),
  h('input', { id: 'username', name: 'username', type: 'text', autocomplete: 'username', required: true, autofocus: true, pattern: '[A-Za-z0-9._\\-]{1,64}' }),
  h('label', { for: 'password' }, 'Password'),
  h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
  h('label', { for: 'clientId' }, 'Application'),
  h('input', { id: 'clientId', name: 'clientId', type: 'text', value: 'demo-app', pattern: '[A-Za-z0-9._:\\-]{1,64}' }),
  h('button', { type: 'submit' }, 'Sign in'),
  box)
  show(h('h1', {}, 'Sign in'), h('p', { class: 'muted' }, 'Demo identity provider: any username, password "demo".'), form)
}

// ---- second factor ------------------------------------------------------------------------------

/** The transaction being worked on, and what to do once it is verified. */
let txn = null
export const currentTransaction = () => txn
/** The transaction is over without a token (a reset): nothing may act on it any more. */
export function endTransaction () { txn = null }

export async function startSignin ({ purpose = 'signin', action, then } = {}) {
  const body = purpose === 'step-up' ? { purpose, action } : {}
  const rt = rememberToken.get()
  if (rt !== null) body.rememberToken = rt
  body.context = { userAgent: navigator.userAgent.slice(0, 500) }
  let start
  try {
    start = await api('POST', '/v1/signin', { body })
  } catch (err) {
    return errorView(explain(err), err)
  }
  // Hosted flow: the gateway kept the token; the code goes back to the application.
  if (start.hosted === 'complete') return hostedComplete()
  switch (start.status) {
    case 'skipped':
      rememberToken.set(start.rememberToken)
      return doneView(start.token, 'This device is remembered, so no second step was needed.')
    case 'not_required':
      return doneView(start.token, 'Two-step verification is not required for this application.')
    case 'enrollment_required':
      return wizardView({ enrollmentToken: start.enrollmentToken, reason: purpose === 'step-up' ? 'step-up' : 'required', factor: start.steps.find(setsUpByDefault) })
    case 'challenge':
      txn = { id: start.transactionId, purpose, action, methods: start.methods, then }
      return start.defaultMethod === undefined ? tryAnotherWay() : methodView(start.defaultMethod, firstItem(start.methods, start.defaultMethod))
  }
}

export const firstItem = (methods, method) => methods.find((m) => m.method === method)?.items[0]

/**
 * After a verified second factor: store what the answer carries, then continue. `interlude(next)`
 * is a screen of the method's own before the end (the emergency code's new code).
 */
export function verified (answer, interlude) {
  if (answer.hosted === 'complete') {
    txn = null
    return interlude === undefined ? hostedComplete() : interlude(() => hostedComplete())
  }
  session.mfa = answer.token
  rememberToken.set(answer.rememberToken)
  const then = txn?.then
  txn = null
  if (then !== undefined) return then(answer.token)
  if (interlude !== undefined) return interlude(() => doneView(answer.token))
  return doneView(answer.token, answer.rememberToken === undefined ? undefined : 'This device will be remembered for 30 days.')
}

export function header (title, lead) {
  return [
    h('h1', {}, txn?.purpose === 'step-up' ? 'Confirm it is you' : title),
    ...hostedLead(),
    lead === undefined ? null : h('p', {}, lead),
    txn?.purpose === 'step-up' ? h('p', { class: 'muted' }, 'This action needs your second factor again, even on a remembered device.') : null,
  ]
}

export function rememberBox () {
  if (txn?.purpose === 'step-up') return { el: null, checked: () => false }
  const input = h('input', { type: 'checkbox', id: 'remember', name: 'remember' })
  return { el: h('label', { class: 'check', for: 'remember' }, input, 'Remember this device for 30 days'), checked: () => input.checked }
}

export function tryAnotherWayLink () {
  return h('button', { type: 'button', class: 'link', onclick: () => tryAnotherWay() }, 'Try another way')
}

export async function tryAnotherWay () {
  let state
  try {
    state = await api('GET', `/v1/signin/${txn.id}`)
  } catch (err) {
    return errorView(explain(err), err)
  }
  const now = Date.now()
  const entries = []
  for (const m of state.methods) {
    const ui = factorUi(m.method)
    // A method these pages do not know yet is not offered: there is no screen for it.
    if (ui === undefined) continue
    const locked = m.lockedUntil !== undefined && Date.parse(m.lockedUntil) > now
    // Why and until when; a lock without end (year 9999) waits for support.
    const forGood = locked && Date.parse(m.lockedUntil) - now > 365 * 86_400_000
    const note = !m.available ? ' (temporarily unavailable)' : forGood ? ' (turned off after too many failed attempts: contact support)' : locked ? ` (locked after too many failed attempts, until ${timeOf(m.lockedUntil)})` : ''
    for (const item of ui.choices?.(m) ?? [undefined]) {
      entries.push(h('li', {}, h('button', {
        type: 'button', disabled: !m.available || locked, 'data-method': m.method, onclick: () => methodView(m.method, item),
      }, ui.label(item) + note)))
    }
  }
  show(
    h('h1', {}, 'Try another way'),
    ...hostedLead(),
    h('p', {}, 'Choose how to confirm it is you.'),
    entries.length === 0 ? h('p', { class: 'alert' }, 'No method is available right now. Contact your support.') : h('ul', { class: 'methods' }, entries),
    cancelLink(),
  )
}

/** The sign-in step of one method (its module in ui/factors/); an unknown one gets the list. */
export function methodView (method, item) {
  const ui = factorUi(method)
  return ui === undefined ? tryAnotherWay() : ui.signIn(item)
}

export async function challenge (body) {
  return api('POST', `/v1/signin/${txn.id}/challenge`, { body })
}

/** Why a code was refused, in the words of the troubleshooting page. */
export function rejectedText (answer, method) {
  const left = answer.attemptsLeft !== undefined && answer.attemptsLeft <= 3 ? ` ${answer.attemptsLeft} attempt${answer.attemptsLeft === 1 ? '' : 's'} left before this method is locked.` : ''
  switch (answer.reason) {
    case 'replayed': return 'That code has already been used. Wait for the next code: each one works once.' + left
    case 'clock_skew': {
      const s = Math.abs(answer.offsetSec ?? 0)
      const dir = (answer.offsetSec ?? 0) > 0 ? 'ahead' : 'behind'
      return `Your device clock is about ${s} s ${dir}. Turn on "Set time automatically" on your phone, then try a new code.` + left
    }
    case 'expired': return factorUi(method)?.expiredText ?? 'That request has expired. Try again.'
    case 'no_challenge': return 'Send a code first.'
    case 'invalid_assertion': case 'unknown_credential': return 'That security key could not be verified. Try again, or try another way.'
    default: return 'Invalid code. Check the digits and try again, or wait for a new code.' + left
  }
}

/**
 * A 6-digit code field: numeric keyboard, and the OS may offer a code it received (autocomplete).
 * Its accessible name is its visible <label> (no aria-label), so what a screen reader announces
 * is what a sighted user reads (WCAG 2.5.3, label in name).
 */
export function codeInput (id) {
  return h('input', { id, name: 'code', type: 'text', class: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true, autofocus: true })
}

/** The typed code without spaces, or undefined (with a hint) when it is not six ASCII digits. */
export function sixDigits (input, box) {
  const code = input.value.replace(/\s/g, '')
  if (/^[0-9]{6}$/.test(code)) return code
  say(box, 'Enter the 6 digits.')
  return undefined
}

/**
 * A form around one 6-digit code. `submit(code)` answers the message to show (the field is then
 * cleared for the next code), or nothing when the flow moved on.
 */
export function codeForm ({ id, label, after = [], actions, box, submit }) {
  const input = codeInput(id)
  return h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault()
      const code = sixDigits(input, box)
      if (code === undefined) return
      const problem = await submit(code)
      if (problem === undefined) return
      input.value = ''
      say(box, problem)
    },
  }, h('label', { for: id }, label), input, ...after, h('div', { class: 'actions' }, ...actions), box)
}

export function codeView ({ method, title, lead, extra = [] }) {
  const box = alertBox()
  const remember = rememberBox()
  const form = codeForm({
    id: 'code', label: '6-digit code', after: [remember.el], box,
    actions: [h('button', { type: 'submit' }, 'Verify'), tryAnotherWayLink()],
    submit: async (code) => {
      try {
        const answer = await api('POST', `/v1/signin/${txn.id}/verify`, { body: { method, code, ...(remember.checked() ? { rememberDevice: true } : {}) } })
        if (answer.status === 'verified') return verified(answer)
        return rejectedText(answer, method)
      } catch (err) {
        if (err.code === 'FLOW_EXPIRED') return errorView(explain(err))
        return explain(err)
      }
    },
  })
  show(...header(title, lead), ...extra, form, cancelLink())
}

/**
 * The end of a sign-in on these pages (the settings hand-in; the hosted flow goes back to the
 * application instead). End users see no token internals: in demo mode a "Details for
 * developers" toggle shows the claims.
 */
export function doneView (token, note) {
  const c = claimsOf(token)
  const how = c.amr?.length ? c.amr.filter((a) => a !== 'mfa').join(', ') : 'no second factor'
  show(
    h('h1', {}, 'You are signed in'),
    note === undefined ? null : h('p', { class: 'alert good', role: 'status' }, note),
    DEMO ? h('p', { class: 'muted' }, `Application ${c.aud ?? '?'} · verified with ${how} · ${c.acr ?? ''}${c.action ? ` · for "${c.action}"` : ''}`) : null,
    DEMO ? h('details', {}, h('summary', {}, 'Details for developers'),
      h('p', { class: 'muted' }, 'Your application receives this MFA token through the hosted flow and verifies it with /.well-known/jwks.json.'),
      h('div', { class: 'claims' }, JSON.stringify(c, null, 2))) : null,
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => settingsView() }, 'Security settings')),
  )
}

/** A dead end: in the hosted flow, the application hears of it (never shown here); else the reason and "Start again". */
export function errorView (text, err) {
  if (hosted.get() !== null) return hostedCancel(err === undefined ? 'access_denied' : redirectErrorOf(err))
  show(h('h1', {}, 'Two-step verification'), h('p', { class: 'alert', role: 'alert' }, text),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => (session.primary === null ? loginView() : startSignin()) }, 'Start again'),
      h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out')))
}

export function signOut () {
  session.primary = null
  session.mfa = null
  txn = null
  loginView()
}
