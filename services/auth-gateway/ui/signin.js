// Sign-in: the demo IdP (the password step), then the second factor for every method, "Try
// another way", remember this device, and the step-up a change asks for.
import { ApiError, DEMO, alertBox, api, claimsOf, explain, h, rememberToken, say, session, show, subject, timeOf } from './lib.js'
import { settingsView, wizardView } from './account.js'

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
export let txn = null

export const LABELS = {
  push: () => 'Get a push notification on your phone',
  webauthn: () => 'Use your FIDO2 authenticator device',
  totp: () => 'Use the 6-digit code from your authenticator app',
  sms: (item) => `Get a code by text message to ${item?.label ?? 'your phone'}`,
  recovery: () => 'Use one-time emergency code',
}

export async function startSignin ({ purpose = 'signin', action, then } = {}) {
  const body = purpose === 'step-up' ? { purpose, action } : {}
  const rt = rememberToken.get()
  if (rt !== null) body.rememberToken = rt
  body.context = { userAgent: navigator.userAgent.slice(0, 500) }
  let start
  try {
    start = await api('POST', '/v1/signin', { body })
  } catch (err) {
    return errorView(explain(err))
  }
  switch (start.status) {
    case 'skipped':
      rememberToken.set(start.rememberToken)
      return doneView(start.token, 'This device is remembered, so no second step was needed.')
    case 'not_required':
      return doneView(start.token, 'Two-step verification is not required for this application.')
    case 'enrollment_required':
      return wizardView({ enrollmentToken: start.enrollmentToken, reason: purpose === 'step-up' ? 'step-up' : 'required' })
    case 'challenge':
      txn = { id: start.transactionId, purpose, action, methods: start.methods, then }
      return start.defaultMethod === undefined ? tryAnotherWay() : methodView(start.defaultMethod, firstItem(start.methods, start.defaultMethod))
  }
}

export const firstItem = (methods, method) => methods.find((m) => m.method === method)?.items[0]

/** After a verified second factor: store what the answer carries, then continue. */
export function verified (answer) {
  session.mfa = answer.token
  rememberToken.set(answer.rememberToken)
  const then = txn?.then
  txn = null
  if (then !== undefined) return then(answer.token)
  if (answer.newRecoveryCode !== undefined) return newRecoveryCodeView(answer.newRecoveryCode, () => doneView(answer.token))
  return doneView(answer.token, answer.rememberToken === undefined ? undefined : 'This device will be remembered for 30 days.')
}

export function header (title, lead) {
  return [
    h('h1', {}, txn?.purpose === 'step-up' ? 'Confirm it is you' : title),
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
    return errorView(explain(err))
  }
  const now = Date.now()
  const entries = []
  for (const m of state.methods) {
    const locked = m.lockedUntil !== undefined && Date.parse(m.lockedUntil) > now
    const note = !m.available ? ' (temporarily unavailable)' : locked ? ` (locked until ${timeOf(m.lockedUntil)})` : ''
    const items = m.method === 'sms' && m.items.length > 0 ? m.items : [undefined]
    for (const item of items) {
      entries.push(h('li', {}, h('button', {
        type: 'button', disabled: !m.available || locked, 'data-method': m.method, onclick: () => methodView(m.method, item),
      }, LABELS[m.method](item) + note)))
    }
  }
  show(
    h('h1', {}, 'Try another way'),
    h('p', {}, 'Choose how to confirm it is you.'),
    entries.length === 0 ? h('p', { class: 'alert' }, 'No method is available right now. Contact your support.') : h('ul', { class: 'methods' }, entries),
  )
}

export function methodView (method, item) {
  switch (method) {
    case 'totp': return codeView({ method: 'totp', title: 'Enter the code from your authenticator app', lead: `Open your authenticator app and enter the 6-digit code for ${subject()}.` })
    case 'sms': return smsView(item)
    case 'push': return pushView()
    case 'webauthn': return webauthnView()
    case 'recovery': return recoveryView()
  }
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
    case 'expired': return method === 'sms' ? 'That code has expired. Send a new code.' : 'That request has expired. Try again.'
    case 'no_challenge': return 'Send a code first.'
    case 'invalid_assertion': case 'unknown_credential': return 'That security key could not be verified. Try again, or try another way.'
    default: return 'Invalid code. Check the digits and try again, or wait for a new code.' + left
  }
}

/** A 6-digit code field: numeric keyboard, and the OS may offer a code it received (autocomplete). */
export function codeInput (id) {
  return h('input', { id, name: 'code', type: 'text', class: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true, autofocus: true, 'aria-label': '6-digit code' })
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
    id: 'code', label: 'Code', after: [remember.el], box,
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
  show(...header(title, lead), ...extra, form)
}

export async function smsView (item) {
  const box = alertBox()
  const send = async () => {
    try {
      const sent = await challenge({ method: 'sms', ...(item === undefined ? {} : { phoneId: item.id }) })
      return sent
    } catch (err) {
      say(box, explain(err))
      return undefined
    }
  }
  const sent = await send()
  if (sent === undefined) return show(...header('Text message'), box, tryAnotherWayLink())
  const note = h('p', {}, `We sent a 6-digit code to ${sent.maskedPhone}. The text message shows the reference `, h('strong', {}, sent.reference), ': check that it matches.')
  const resend = h('button', { type: 'button', class: 'secondary', onclick: async () => { if (await send()) say(box, 'A new code is on its way.', 'info') } }, 'Send a new code')
  codeView({ method: 'sms', title: 'Enter the code from the text message', extra: [note, resend] })
}

export async function pushView () {
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
      ...header('Check your phone', 'We sent a notification to your authenticator app. Tap this number there to approve the sign-in:'),
      h('div', { class: 'number', 'aria-label': 'number to match' }, String(c.numberToMatch)),
      h('p', { class: 'muted' }, 'Waiting for your answer…'),
      remember.el, tryAnotherWayLink(), box,
    )
    const mine = txn.id
    for (;;) {
      let s
      try {
        s = await api('GET', `/v1/signin/${mine}/push/${c.challengeId}?waitSec=20`)
      } catch (err) {
        return say(box, explain(err))
      }
      if (txn === null || txn.id !== mine) return
      if (s.state === 'approved') return verified(s)
      if (s.state === 'denied') {
        return show(...header('Sign-in denied', 'You denied this sign-in on your phone.'), h('div', { class: 'actions' }, tryAnotherWayLink()))
      }
      if (s.state === 'expired') {
        return show(...header('No answer from your phone', 'Your push notification request waited too long.'),
          h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => start() }, 'Try push again'), tryAnotherWayLink()))
      }
    }
  }
  await start()
}

// WebAuthn JSON ↔ ArrayBuffer, for browsers without PublicKeyCredential.parseRequestOptionsFromJSON.
export const b64uToBuf = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=')), (c) => c.charCodeAt(0)).buffer
export const bufToB64u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

export function webauthnView () {
  const box = alertBox()
  const remember = rememberBox()
  const go = async () => {
    say(box, '')
    try {
      const { options } = await challenge({ method: 'webauthn' })
      const publicKey = typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function'
        ? PublicKeyCredential.parseRequestOptionsFromJSON(options)
        : { ...options, challenge: b64uToBuf(options.challenge), allowCredentials: (options.allowCredentials ?? []).map((c) => ({ ...c, id: b64uToBuf(c.id) })) }
      const cred = await navigator.credentials.get({ publicKey })
      const response = typeof cred.toJSON === 'function' ? cred.toJSON() : {
        id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(),
        response: {
          clientDataJSON: bufToB64u(cred.response.clientDataJSON),
          authenticatorData: bufToB64u(cred.response.authenticatorData),
          signature: bufToB64u(cred.response.signature),
          ...(cred.response.userHandle ? { userHandle: bufToB64u(cred.response.userHandle) } : {}),
        },
      }
      const answer = await api('POST', `/v1/signin/${txn.id}/verify`, { body: { method: 'webauthn', response, ...(remember.checked() ? { rememberDevice: true } : {}) } })
      if (answer.status === 'verified') return verified(answer)
      say(box, rejectedText(answer, 'webauthn'))
    } catch (err) {
      say(box, err instanceof ApiError ? explain(err) : 'The security key did not answer, or the request was cancelled. Try again.')
    }
  }
  show(...header('Use your security key', 'Insert or tap your security key, or use your device\'s fingerprint or face, when your browser asks.'),
    remember.el, h('div', { class: 'actions' }, h('button', { type: 'button', onclick: go }, 'Use your FIDO2 authenticator device'), tryAnotherWayLink()), box)
}

export function recoveryView () {
  const box = alertBox()
  const input = h('input', { id: 'recovery-code', name: 'code', type: 'text', autocomplete: 'off', required: true, autofocus: true, spellcheck: 'false' })
  const mode = (value, text, hint) => h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'mode', value, required: true }), h('span', {}, text, h('br'), h('span', { class: 'muted' }, hint)))
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault()
      const recoveryMode = new FormData(form).get('mode')
      const code = input.value.trim().toUpperCase()
      try {
        const answer = await api('POST', `/v1/signin/${txn.id}/verify`, { body: { method: 'recovery', code, recoveryMode } })
        if (answer.status === 'verified') return verified(answer)
        if (answer.status === 'reset') {
          txn = null
          return wizardView({ enrollmentToken: answer.enrollmentToken, reason: 'reset' })
        }
        say(box, 'That emergency code is not valid. Check it and try again.')
      } catch (err) {
        say(box, err instanceof ApiError && err.code === 'BAD_REQUEST' ? 'Enter the emergency code as it was shown to you.' : explain(err))
      }
    },
  },
  h('label', { for: 'recovery-code' }, 'One-time emergency code'), input,
  mode('temporary', 'I have temporarily lost access to my authenticator app', 'Sign in once; you get a new emergency code.'),
  mode('permanent', 'I have permanently lost access to my authenticator app', 'Your two-step verification is reset and you set it up again.'),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Next'), tryAnotherWayLink()), box)
  show(...header('Use one-time emergency code', 'Each emergency code works once.'), form)
}

export function newRecoveryCodeView (code, next) {
  const ok = h('input', { type: 'checkbox', id: 'stored' })
  const btn = h('button', { type: 'button', disabled: true, onclick: next }, 'Next')
  ok.addEventListener('change', () => { btn.disabled = !ok.checked })
  show(h('h1', {}, 'Your new emergency code'),
    h('p', {}, 'Your old code is used up. Copy this one and store it somewhere safe, such as a password manager.'),
    h('p', { class: 'secret', id: 'new-recovery-code' }, code),
    h('label', { class: 'check', for: 'stored' }, ok, 'I have safely copied and stored this code.'), btn)
}

export function doneView (token, note) {
  const c = claimsOf(token)
  const how = c.amr?.length ? c.amr.filter((a) => a !== 'mfa').join(', ') : 'no second factor'
  show(
    h('h1', {}, 'You are signed in'),
    note === undefined ? null : h('p', { class: 'alert good', role: 'status' }, note),
    h('p', { class: 'muted' }, `Application ${c.aud ?? '?'} · verified with ${how} · ${c.acr ?? ''}${c.action ? ` · for "${c.action}"` : ''}`),
    h('p', { class: 'muted' }, 'Your application receives this MFA token; it verifies it with /.well-known/jwks.json.'),
    h('details', {}, h('summary', {}, 'Token claims'), h('div', { class: 'claims' }, JSON.stringify(c, null, 2))),
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => settingsView() }, 'Security settings')),
  )
}

export function errorView (text) {
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
