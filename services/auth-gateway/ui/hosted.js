// The hosted flow: an application sent the user here with a single-use request_uri (it pushed the
// request from its backend). The page spends it for a hosted session (an HttpOnly cookie the
// page never sees), runs the usual second step, and goes back to the application with a code, or
// with an error. No token passes through this page: the gateway keeps the MFA token and the
// remember-this-device token out of its answers (src/plugins/hosted.ts).
import { ApiError, api, h, session, show } from './lib.js'

const KEY = 'warden.hosted'

/** The hosted request of this tab ({clientName, accountName, purpose, action}), or null outside the hosted flow. */
export const hosted = {
  get () {
    try { return JSON.parse(sessionStorage.getItem(KEY) ?? 'null') } catch { return null }
  },
  set (v) { v === null ? sessionStorage.removeItem(KEY) : sessionStorage.setItem(KEY, JSON.stringify(v)) },
}

/** Spends the handle of the URL; false (with the reason shown) when it cannot be used. */
export async function openHosted (requestUri) {
  // Whatever this tab held before (a settings session) must not stand in for the hosted session.
  session.primary = null
  session.mfa = null
  try {
    const opened = await api('POST', '/v1/authorize/session', { auth: false, body: { requestUri } })
    hosted.set({ clientName: opened.clientName, accountName: opened.accountName, purpose: opened.purpose, action: opened.action })
    return true
  } catch (err) {
    hosted.set(null)
    // Nothing says where to send the user back: this is the one error the page shows itself.
    endView(err instanceof ApiError && err.code === 'INVALID_REQUEST_URI'
      ? 'This sign-in link has expired or was already used.'
      : 'The sign-in could not start.')
    return false
  }
}

/** Back to the application with the code (the second step is done). */
export async function hostedComplete () {
  await leave(() => api('POST', '/v1/authorize/complete', { auth: false, body: {} }))
}

/** Back to the application with an error: cancel, or what the page cannot recover from. */
export async function hostedCancel (error = 'access_denied') {
  await leave(() => api('POST', '/v1/authorize/cancel', { auth: false, body: { error } }))
}

/** The RFC 6749 error an API error becomes on the way back. */
export function redirectErrorOf (err) {
  if (!(err instanceof ApiError)) return 'temporarily_unavailable'
  if (['UNAVAILABLE', 'TIMEOUT', 'PROVIDER_UNAVAILABLE', 'RATE_LIMITED'].includes(err.code)) return 'temporarily_unavailable'
  return err.status >= 500 ? 'server_error' : 'access_denied'
}

async function leave (call) {
  let answer
  try {
    answer = await call()
  } catch {
    hosted.set(null)
    return endView('This sign-in has ended.')
  }
  hosted.set(null)
  show(h('h1', {}, 'Returning to the application…'))
  location.assign(answer.redirectTo)
}

function endView (text) {
  show(h('h1', {}, 'Sign-in'), h('p', { class: 'alert', role: 'alert' }, text),
    h('p', {}, 'Go back to the application and sign in again.'))
}

/** What the hosted pages add to each step: whose sign-in this is, and the way back. */
export function hostedLead () {
  const r = hosted.get()
  if (r === null) return []
  return [
    h('p', { class: 'muted', id: 'hosted-app' }, r.purpose === 'step-up' ? `${r.clientName} asks you to confirm it is you${r.action ? ` (${r.action})` : ''}.` : `Sign in to ${r.clientName}`),
  ]
}

export function cancelLink () {
  const r = hosted.get()
  if (r === null) return null
  return h('button', { type: 'button', class: 'link', id: 'hosted-cancel', onclick: () => hostedCancel('access_denied') }, `Cancel and go back to ${r.clientName}`)
}
