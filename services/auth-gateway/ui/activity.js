// Issue 14: "Recent security activity" on the settings page, and the "Not you?" page a security
// notification's link opens (the token stays in the URL fragment; nothing is locked until the
// user says so here).
import { ApiError, api, explain, h, show } from './lib.js'

/** How each event reads in the user's own feed. */
const FACTOR_NAMES = { totp: 'Authenticator app', push: 'Sign-in app', sms: 'Phone number', webauthn: 'Security key', recovery: 'Emergency code' }
function describe (e) {
  const factor = FACTOR_NAMES[e.details.factor] ?? 'Second factor'
  switch (e.type) {
    case 'factor.enrolled': return `${factor} added`
    case 'factor.removed': return `${factor} removed`
    case 'factor.locked': return `${factor} locked after too many failed attempts`
    case 'emergencycode.used': return e.details.kind === 'support' ? 'Support code used to sign in' : 'Emergency code used to sign in'
    case 'recovery.regenerated': return e.details.reason === 'temporary_loss' ? 'New emergency code issued after signing in with the old one' : 'New emergency code created'
    case 'user.reset': return e.details.reason === 'disabled' ? 'Two-step verification turned off' : 'Two-step verification reset'
    case 'device.remembered': return 'Device remembered'
    case 'push.denied': return e.details.notMe ? 'Sign-in request denied: "It wasn\'t me"' : 'Sign-in request denied'
    case 'network.seen': return 'Sign-in from a new network'
    case 'user.reported': return 'You reported activity that was not you: two-step verification locked'
    default: return e.type
  }
}

/** The "Recent security activity" section: the newest events, with when, where from and with what. */
export async function activitySection (limit = 10) {
  let page
  try {
    page = await api('GET', `/v1/me/activity?limit=${limit}`)
  } catch (err) {
    return [h('h2', {}, 'Recent security activity'), h('p', { class: 'muted' }, explain(err))]
  }
  const items = page.events.map((e) => {
    const where = [e.context.clientId, e.context.ip, e.context.userAgent].filter((x) => x !== undefined).join(' · ')
    return h('li', { 'data-type': e.type },
      h('span', {}, describe(e), h('br'), h('span', { class: 'muted' }, new Date(e.occurredAt).toLocaleString(), where === '' ? '' : ` · ${where}`)))
  })
  return [
    h('h2', {}, 'Recent security activity'),
    items.length === 0 ? h('p', { class: 'muted' }, 'Nothing yet.') : h('ul', { class: 'items', id: 'security-activity' }, items),
  ]
}

/** The page behind a notification's "Not you?" link. */
export function notMeView (token) {
  const lock = async () => {
    try {
      await api('POST', '/v1/not-me', { body: { token }, auth: false })
      show(h('h1', {}, 'Two-step verification locked'),
        h('p', { class: 'alert good', role: 'status' }, 'Thank you. No second factor will be accepted for your account until support has checked it with you.'),
        h('p', {}, 'Contact support to get back in. Change your password as well: whoever did this may know it.'))
    } catch (err) {
      const text = err instanceof ApiError && err.code === 'FLOW_EXPIRED'
        ? 'This link has expired. Contact support if something happened that was not you.'
        : err instanceof ApiError && err.code === 'BAD_REQUEST' ? 'This link is not valid. Use the link from the message exactly as you received it.' : explain(err)
      show(h('h1', {}, 'Was this not you?'), h('p', { class: 'alert', role: 'alert' }, text))
    }
  }
  show(
    h('h1', {}, 'Was this not you?'),
    h('p', {}, 'If you did not make the change we told you about, someone else may be signing in as you.'),
    h('p', {}, 'Locking stops every second factor of your account until support has checked it with you.'),
    h('button', { type: 'button', class: 'danger', onclick: lock }, 'Lock my two-step verification'),
  )
}
