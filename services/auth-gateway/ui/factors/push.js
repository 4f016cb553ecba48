// Push with number matching: the number to tap in the app, then a long-poll until the user
// answers there (approved, denied, or no answer: "Try push again").
import { alertBox, api, explain, h, say, show } from '../lib.js'
import { challenge, currentTransaction, header, rememberBox, tryAnotherWayLink, verified } from '../signin.js'

export const label = () => 'Get a push notification on your phone'

export async function signIn () {
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
    const mine = currentTransaction()?.id
    for (;;) {
      let s
      try {
        s = await api('GET', `/v1/signin/${mine}/push/${c.challengeId}?waitSec=20`)
      } catch (err) {
        return say(box, explain(err))
      }
      if (currentTransaction()?.id !== mine) return
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
