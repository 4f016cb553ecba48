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
import { hosted, openHosted } from './hosted.js'

document.getElementById('nav-signout').addEventListener('click', signOut)
document.getElementById('nav-settings').addEventListener('click', () => settingsView())
mountAll()

// An application hands over its primary token in the fragment (never sent to a server, never in
// a Referer); it is moved to sessionStorage and wiped from the address bar at once.
// This hand-in stays for the security settings; applications send users to sign in with the
// hosted flow (hosted.js): a single-use request_uri, no token in the address bar.
const fragment = new URLSearchParams(location.hash.slice(1))
const handed = fragment.get('token')
// A security notification's "Not you?" link: its token, like a handed-over one, leaves the address bar at once.
const notMe = fragment.get('not-me')
const requestUri = new URLSearchParams(location.search).get('request_uri')
if (requestUri !== null) {
  history.replaceState(null, '', location.pathname)
  if (await openHosted(requestUri)) void startSignin()
} else if (hosted.get() !== null) {
  // A reload in the middle of a hosted sign-in: the session cookie is still there.
  void startSignin()
} else {
  if (handed !== null || notMe !== null) history.replaceState(null, '', location.pathname)
  if (handed !== null) {
    session.primary = handed
    session.mfa = null
  }
  if (notMe !== null) notMeView(notMe)
  else if (session.primary === null) loginView()
  else void startSignin()
}
