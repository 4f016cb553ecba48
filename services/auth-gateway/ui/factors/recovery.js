// The one-time emergency code: temporary loss signs in once and shows the new code (to be
// stored); permanent loss resets 2FA and goes to the setup wizard.
import { ApiError, alertBox, api, explain, h, say, show } from '../lib.js'
import { currentTransaction, endTransaction, header, tryAnotherWayLink, verified } from '../signin.js'
import { wizardView } from '../account.js'

export const label = () => 'Use one-time emergency code'

export function signIn () {
  const box = alertBox()
  const input = h('input', { id: 'recovery-code', name: 'code', type: 'text', autocomplete: 'off', required: true, autofocus: true, spellcheck: 'false' })
  const mode = (value, text, hint) => h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'mode', value, required: true }), h('span', {}, text, h('br'), h('span', { class: 'muted' }, hint)))
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault()
      const recoveryMode = new FormData(form).get('mode')
      const code = input.value.trim().toUpperCase()
      try {
        const answer = await api('POST', `/v1/signin/${currentTransaction().id}/verify`, { body: { method: 'recovery', code, recoveryMode } })
        // Temporary loss: the new code is shown (once) before going on.
        if (answer.status === 'verified') return verified(answer, answer.newRecoveryCode === undefined ? undefined : (next) => newRecoveryCodeView(answer.newRecoveryCode, next))
        if (answer.status === 'reset') {
          endTransaction()
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

/** After a temporary-loss sign-in: the new code, shown once, and "I have stored it" before going on. */
export function newRecoveryCodeView (code, next) {
  const ok = h('input', { type: 'checkbox', id: 'stored' })
  const btn = h('button', { type: 'button', disabled: true, onclick: next }, 'Next')
  ok.addEventListener('change', () => { btn.disabled = !ok.checked })
  show(h('h1', {}, 'Your new emergency code'),
    h('p', {}, 'Your old code is used up. Copy this one and store it somewhere safe, such as a password manager.'),
    h('p', { class: 'secret', id: 'new-recovery-code' }, code),
    h('label', { class: 'check', for: 'stored' }, ok, 'I have safely copied and stored this code.'), btn)
}
