// The hosted pages' plumbing: session state, the API client, DOM helpers and the words for errors.
//
// The DOM is built from elements and text nodes only (no markup is ever parsed from a string), so
// nothing the server or the user sends can run as markup. Primary and MFA tokens live in
// sessionStorage (gone with the tab); the remember-this-device token lives in localStorage, per
// user, because outliving the tab is its job.

export const view = document.getElementById('view')
export const DEMO = document.body.dataset.demo === 'true'
export const STEP_UP_FRESH_MS = 9 * 60_000 // the gateway accepts MFA tokens up to 10 min old for changes

// ---- state ----------------------------------------------------------------------------------

export const session = {
  get primary () { return sessionStorage.getItem('warden.primary') },
  set primary (v) { v === null ? sessionStorage.removeItem('warden.primary') : sessionStorage.setItem('warden.primary', v) },
  get mfa () { return sessionStorage.getItem('warden.mfa') },
  set mfa (v) { v === null ? sessionStorage.removeItem('warden.mfa') : sessionStorage.setItem('warden.mfa', v) },
}

/** The claims of a JWT, for display and routing only: the gateway verifies every token it is sent. */
export function claimsOf (jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    return JSON.parse(decodeURIComponent(escape(atob(part))))
  } catch {
    return {}
  }
}
/** The user: the primary token's, or in the hosted flow (no token in the page) the name the gateway gave for it. */
export const subject = () => claimsOf(session.primary ?? '').sub ?? hostedAccountName()
function hostedAccountName () {
  try { return JSON.parse(sessionStorage.getItem('warden.hosted') ?? 'null')?.accountName } catch { return undefined }
}
export const rememberKey = () => `warden.remember.${subject()}.${claimsOf(session.primary ?? '').azp ?? ''}`
export const rememberToken = {
  get: () => localStorage.getItem(rememberKey()),
  set: (v) => { if (typeof v === 'string') localStorage.setItem(rememberKey(), v) },
}

/** A fresh MFA token (≤ 9 min since its second factor), or undefined. */
export function freshMfa () {
  const t = session.mfa
  if (t === null) return undefined
  const c = claimsOf(t)
  return c.acr === 'aal2' && Date.now() - c.auth_time * 1000 < STEP_UP_FRESH_MS ? t : undefined
}

// ---- the API --------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor (status, body) {
    super(body?.error?.message ?? `HTTP ${status}`)
    this.status = status
    this.code = body?.error?.code ?? 'INTERNAL'
    this.retryAfterSec = body?.error?.retryAfterSec
  }
}

export async function api (method, path, { body, mfa, auth = true, idempotencyKey } = {}) {
  const headers = {}
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey
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
export function h (tag, attrs = {}, ...children) {
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

export function show (...children) {
  view.replaceChildren(...children)
  // A new screen puts focus where the user starts: the field to fill when there is one, else the
  // page heading, so a screen reader announces the new page. Never the first button: after setup
  // that was "Remove", one Enter away from undoing what was just set up.
  const field = view.querySelector('[autofocus]')
  const heading = view.querySelector('h1') ?? view
  if (field === null) heading.setAttribute('tabindex', '-1')
  ;(field ?? heading).focus()
  const nav = document.getElementById('nav')
  nav.hidden = session.primary === null
  document.getElementById('who').textContent = subject() ?? ''
}

export function alertBox (kind = 'error') {
  return h('div', { class: kind === 'error' ? 'alert' : `alert ${kind}`, role: 'alert', hidden: true })
}
export function say (box, text, kind = 'error') {
  box.className = kind === 'error' ? 'alert' : `alert ${kind}`
  box.textContent = text
  box.hidden = text === ''
}

export const minutes = (sec) => Math.max(1, Math.ceil(sec / 60))
export const timeOf = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

/** The user-facing words for an API error (stable codes, never the raw message for 5xx). */
export function explain (err) {
  if (!(err instanceof ApiError)) return 'The server could not be reached. Check your connection and try again.'
  switch (err.code) {
    case 'FACTOR_LOCKED': return `Too many failed attempts. This method is locked${err.retryAfterSec ? ` for about ${minutes(err.retryAfterSec)} min` : ''}. Try another way.`
    case 'RATE_LIMITED': return `Too many requests. Wait ${err.retryAfterSec ?? 60} s and try again.`
    case 'FLOW_EXPIRED': return 'This sign-in has expired. Start again.'
    case 'UNAUTHENTICATED': return 'Your session has ended. Sign in again.'
    case 'STEP_UP_REQUIRED': return 'Confirm it is you with your second factor first.'
    case 'REAUTHENTICATION_REQUIRED': return 'Enter your password again to continue.'
    case 'NOT_ENROLLED': return 'This method is not set up for your account. Try another way.'
    case 'UNAVAILABLE': case 'TIMEOUT': case 'PROVIDER_UNAVAILABLE': return 'This service is temporarily unavailable. Try again shortly, or try another way.'
    default: return err.status >= 500 ? 'Something went wrong on our side. Try again.' : err.message
  }
}
