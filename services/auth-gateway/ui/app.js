// Warden's hosted pages: the second factor at sign-in, "Try another way", remember this device,
// step-up, the enrollment wizard and the security settings. A client of the public REST API v1
// like any other: nothing here is trusted by the gateway.
// This module starts the page; lib.js holds the plumbing, signin.js the sign-in, account.js the
// settings and the wizard.
import { session } from './lib.js'
import { loginView, signOut, startSignin } from './signin.js'
import { settingsView } from './account.js'
import { mountAll } from './factors/index.js'
import { notMeView } from './activity.js'

document.getElementById('nav-signout').addEventListener('click', signOut)
document.getElementById('nav-settings').addEventListener('click', () => settingsView())
mountAll()

// An application hands over its primary token in the fragment (never sent to a server, never in
// a Referer); it is moved to sessionStorage and wiped from the address bar at once.
const fragment = new URLSearchParams(location.hash.slice(1))
const handed = fragment.get('token')
// A security notification's "Not you?" link: its token, like a handed-over one, leaves the address bar at once.
const notMe = fragment.get('not-me')
if (notMe !== null) history.replaceState(null, '', location.pathname)
if (handed !== null) {
  session.primary = handed
  session.mfa = null
  history.replaceState(null, '', location.pathname)
}
if (notMe !== null) notMeView(notMe)
else if (session.primary === null) loginView()
else void startSignin()
