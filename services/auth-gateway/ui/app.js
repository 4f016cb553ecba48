// Warden's hosted pages: the second factor at sign-in, "Try another way", remember this device,
// step-up, the enrollment wizard and the security settings. A client of the public REST API v1
// like any other: nothing here is trusted by the gateway.
//
// The DOM is built from elements and text nodes only (no markup is ever parsed from a string), so
// nothing the server or the user sends can run as markup. Primary and MFA tokens live in sessionStorage (gone with the tab); the
// remember-this-device token lives in localStorage, per user, because outliving the tab is its job.

const view = document.getElementById('view')
const DEMO = document.body.dataset.demo === 'true'
const STEP_UP_FRESH_MS = 9 * 60_000 // the gateway accepts MFA tokens up to 10 min old for changes

// ---- state ----------------------------------------------------------------------------------

const session = {
  get primary () { return sessionStorage.getItem('warden.primary') },
  set primary (v) { v === null ? sessionStorage.removeItem('warden.primary') : sessionStorage.setItem('warden.primary', v) },
  get mfa () { return sessionStorage.getItem('warden.mfa') },
  set mfa (v) { v === null ? sessionStorage.removeItem('warden.mfa') : sessionStorage.setItem('warden.mfa', v) },
}

/** The claims of a JWT, for display and routing only: the gateway verifies every token it is sent. */
function claimsOf (jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    return JSON.parse(decodeURIComponent(escape(atob(part))))
  } catch {
    return {}
  }
}
const subject = () => claimsOf(session.primary ?? '').sub
const rememberKey = () => `warden.remember.${subject()}.${claimsOf(session.primary ?? '').azp ?? ''}`
const rememberToken = {
  get: () => localStorage.getItem(rememberKey()),
  set: (v) => { if (typeof v === 'string') localStorage.setItem(rememberKey(), v) },
}

/** A fresh MFA token (≤ 9 min since its second factor), or undefined. */
function freshMfa () {
  const t = session.mfa
  if (t === null) return undefined
  const c = claimsOf(t)
  return c.acr === 'aal2' && Date.now() - c.auth_time * 1000 < STEP_UP_FRESH_MS ? t : undefined
}

// ---- the API --------------------------------------------------------------------------------

class ApiError extends Error {
  constructor (status, body) {
    super(body?.error?.message ?? `HTTP ${status}`)
    this.status = status
    this.code = body?.error?.code ?? 'INTERNAL'
    this.retryAfterSec = body?.error?.retryAfterSec
  }
}

async function api (method, path, { body, mfa, auth = true } = {}) {
  const headers = {}
  if (auth && session.primary !== null) headers.authorization = `Bearer ${session.primary}`
  if (mfa !== undefined) headers['x-mfa-token'] = mfa
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const data = await res.json().catch(() => ({}))
  if (!res.ok) throw new ApiError(res.status, data)
  return data
}

// ---- DOM helpers ------------------------------------------------------------------------------

/** h('p', {class: 'muted'}, 'text', child, ...): an element, with text as text nodes only. */
function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else if (k === 'class') el.className = v
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  return el
}

function show (...children) {
  view.replaceChildren(...children)
  const focus = view.querySelector('[autofocus]') ?? view.querySelector('input, button')
  focus?.focus()
  const nav = document.getElementById('nav')
  nav.hidden = session.primary === null
  document.getElementById('who').textContent = subject() ?? ''
}

function alertBox (kind = 'error') {
  return h('div', { class: kind === 'error' ? 'alert' : `alert ${kind}`, role: 'alert', hidden: true })
}
function say (box, text, kind = 'error') {
  box.className = kind === 'error' ? 'alert' : `alert ${kind}`
  box.textContent = text
  box.hidden = text === ''
}

const minutes = (sec) => Math.max(1, Math.ceil(sec / 60))
const timeOf = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

/** The user-facing words for an API error (stable codes, never the raw message for 5xx). */
function explain (err) {
  if (!(err instanceof ApiError)) return 'The server could not be reached. Check your connection and try again.'
  switch (err.code) {
    case 'FACTOR_LOCKED': return `Too many failed attempts. This method is locked${err.retryAfterSec ? ` for about ${minutes(err.retryAfterSec)} min` : ''}. Try another way.`
    case 'RATE_LIMITED': return `Too many requests. Wait ${err.retryAfterSec ?? 60} s and try again.`
    case 'FLOW_EXPIRED': return 'This sign-in has expired. Start again.'
    case 'UNAUTHENTICATED': return 'Your session has ended. Sign in again.'
    case 'STEP_UP_REQUIRED': return 'Confirm it is you with your second factor first.'
    case 'NOT_ENROLLED': return 'This method is not set up for your account. Try another way.'
    case 'UNAVAILABLE': case 'TIMEOUT': case 'PROVIDER_UNAVAILABLE': return 'This service is temporarily unavailable. Try again shortly, or try another way.'
    default: return err.status >= 500 ? 'Something went wrong on our side. Try again.' : err.message
  }
}

// ---- first factor (upstream) -------------------------------------------------------------------

function loginView () {
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

const LABELS = {
  push: () => 'Get a push notification on your phone',
  webauthn: () => 'Use your FIDO2 authenticator device',
  totp: () => 'Use the 6-digit code from your authenticator app',
  sms: (item) => `Get a code by text message to ${item?.label ?? 'your phone'}`,
  recovery: () => 'Use one-time emergency code',
}

async function startSignin ({ purpose = 'signin', action, then } = {}) {
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

const firstItem = (methods, method) => methods.find((m) => m.method === method)?.items[0]

/** After a verified second factor: store what the answer carries, then continue. */
function verified (answer) {
  session.mfa = answer.token
  rememberToken.set(answer.rememberToken)
  const then = txn?.then
  txn = null
  if (then !== undefined) return then(answer.token)
  if (answer.newRecoveryCode !== undefined) return newRecoveryCodeView(answer.newRecoveryCode, () => doneView(answer.token))
  return doneView(answer.token, answer.rememberToken === undefined ? undefined : 'This device will be remembered for 30 days.')
}

function header (title, lead) {
  return [
    h('h1', {}, txn?.purpose === 'step-up' ? 'Confirm it is you' : title),
    lead === undefined ? null : h('p', {}, lead),
    txn?.purpose === 'step-up' ? h('p', { class: 'muted' }, 'This action needs your second factor again, even on a remembered device.') : null,
  ]
}

function rememberBox () {
  if (txn?.purpose === 'step-up') return { el: null, checked: () => false }
  const input = h('input', { type: 'checkbox', id: 'remember', name: 'remember' })
  return { el: h('label', { class: 'check', for: 'remember' }, input, 'Remember this device for 30 days'), checked: () => input.checked }
}

function tryAnotherWayLink () {
  return h('button', { type: 'button', class: 'link', onclick: () => tryAnotherWay() }, 'Try another way')
}

async function tryAnotherWay () {
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

function methodView (method, item) {
  switch (method) {
    case 'totp': return codeView({ method: 'totp', title: 'Enter the code from your authenticator app', lead: `Open your authenticator app and enter the 6-digit code for ${subject()}.` })
    case 'sms': return smsView(item)
    case 'push': return pushView()
    case 'webauthn': return webauthnView()
    case 'recovery': return recoveryView()
  }
}

async function challenge (body) {
  return api('POST', `/v1/signin/${txn.id}/challenge`, { body })
}

/** Why a code was refused, in the words of the troubleshooting page. */
function rejectedText (answer, method) {
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
function codeInput (id) {
  return h('input', { id, name: 'code', type: 'text', class: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true, autofocus: true, 'aria-label': '6-digit code' })
}

/** The typed code without spaces, or undefined (with a hint) when it is not six ASCII digits. */
function sixDigits (input, box) {
  const code = input.value.replace(/\s/g, '')
  if (/^[0-9]{6}$/.test(code)) return code
  say(box, 'Enter the 6 digits.')
  return undefined
}

/**
 * A form around one 6-digit code. `submit(code)` answers the message to show (the field is then
 * cleared for the next code), or nothing when the flow moved on.
 */
function codeForm ({ id, label, after = [], actions, box, submit }) {
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

function codeView ({ method, title, lead, extra = [] }) {
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

async function smsView (item) {
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

async function pushView () {
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
const b64uToBuf = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=')), (c) => c.charCodeAt(0)).buffer
const bufToB64u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

function webauthnView () {
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

function recoveryView () {
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

function newRecoveryCodeView (code, next) {
  const ok = h('input', { type: 'checkbox', id: 'stored' })
  const btn = h('button', { type: 'button', disabled: true, onclick: next }, 'Next')
  ok.addEventListener('change', () => { btn.disabled = !ok.checked })
  show(h('h1', {}, 'Your new emergency code'),
    h('p', {}, 'Your old code is used up. Copy this one and store it somewhere safe, such as a password manager.'),
    h('p', { class: 'secret', id: 'new-recovery-code' }, code),
    h('label', { class: 'check', for: 'stored' }, ok, 'I have safely copied and stored this code.'), btn)
}

function doneView (token, note) {
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

function errorView (text) {
  show(h('h1', {}, 'Two-step verification'), h('p', { class: 'alert', role: 'alert' }, text),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => (session.primary === null ? loginView() : startSignin()) }, 'Start again'),
      h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out')))
}

// ---- settings and changes (step-up) ---------------------------------------------------------

/** Runs a change that needs a fresh second factor: with the current MFA token, or after a step-up. */
async function withStepUp (action, change) {
  const mfa = freshMfa()
  if (mfa !== undefined) return change(mfa)
  return startSignin({ purpose: 'step-up', action, then: (token) => change(token) })
}

async function settingsView (notice, problem) {
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
function wizardView ({ enrollmentToken, mfa, reason }) {
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

// ---- start --------------------------------------------------------------------------------------

function signOut () {
  session.primary = null
  session.mfa = null
  txn = null
  loginView()
}

document.getElementById('nav-signout').addEventListener('click', signOut)
document.getElementById('nav-settings').addEventListener('click', () => settingsView())

// An application hands over its primary token in the fragment (never sent to a server, never in
// a Referer); it is moved to sessionStorage and wiped from the address bar at once.
const handed = new URLSearchParams(location.hash.slice(1)).get('token')
if (handed !== null) {
  session.primary = handed
  session.mfa = null
  history.replaceState(null, '', location.pathname)
}
if (session.primary === null) loginView()
else void startSignin()
