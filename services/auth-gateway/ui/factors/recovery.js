// The one-time emergency code: temporary loss signs in once and shows the new code (to be
// stored); permanent loss resets 2FA and goes to the setup wizard.
import { ApiError, alertBox, api, explain, h, say, show } from '../lib.js'
import { currentTransaction, endTransaction, header, tryAnotherWayLink, verified } from '../signin.js'
import { settingsView, staleMfa, wizardView } from '../account.js'

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
        if (answer.status === 'verified') return verified(answer, answer.newRecoveryCode === undefined ? undefined : (next) => newRecoveryCodeView(answer.newRecoveryCode, answer.token, next))
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

/** The code, shown once, and "I have safely copied and stored this code." before `next` (which gets the ack's answer). */
function storeCodeView ({ heading, lead, code, ack, next }) {
  const box = alertBox()
  const ok = h('input', { type: 'checkbox', id: 'stored' })
  const btn = h('button', {
    type: 'button',
    disabled: true,
    onclick: async () => {
      btn.disabled = true
      try {
        await ack()
        return next()
      } catch (err) {
        btn.disabled = false
        say(box, explain(err))
      }
    },
  }, 'Next')
  ok.addEventListener('change', () => { btn.disabled = !ok.checked })
  show(...heading,
    ...lead,
    h('p', { class: 'secret', id: 'new-recovery-code' }, code),
    h('p', { class: 'muted' }, 'It is shown only now. If you lose it and need it, you need to get in touch with customer support.'),
    h('label', { class: 'check', for: 'stored' }, ok, 'I have safely copied and stored this code.'), btn, box)
}

/** After a temporary-loss sign-in: the new code, shown once, and "I have stored it" before going on. */
export function newRecoveryCodeView (code, mfa, next) {
  storeCodeView({
    heading: [h('h1', {}, 'Your new emergency code')],
    lead: [h('p', {}, 'Your old code is used up. Copy this one and store it somewhere safe, such as a password manager.')],
    code,
    ack: () => api('POST', '/v1/me/recovery-code/ack', { mfa, body: { stored: true } }),
    next,
  })
}

/** The wizard's last step before done (seeds: "Save your recovery code (critical)"). */
export const wizardStep = {
  step: 'emergency-code',
  async run ({ proof, step, done, withStepUp }) {
    // One key per visit of this step: a retry after a lost reply shows the same code.
    const idempotencyKey = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('')
    let issued
    try {
      issued = await api('POST', '/v1/me/recovery-code', { mfa: proof, idempotencyKey })
    } catch (err) {
      // 2FA is on now: a new code needs a fresh second factor (a step-up with the app just set up).
      if (err instanceof ApiError && err.code === 'STEP_UP_REQUIRED' && withStepUp !== undefined) {
        return withStepUp('manage-2fa', (mfa) => wizardStep.run({ proof: mfa, step, done, withStepUp: undefined }))
      }
      return show(...step(4, 'Save your emergency code'), h('p', { class: 'alert', role: 'alert' }, explain(err)),
        h('button', { type: 'button', onclick: () => wizardStep.run({ proof, step, done, withStepUp }) }, 'Try again'))
    }
    storeCodeView({
      heading: step(4, 'Save your emergency code'),
      lead: [
        h('p', {}, 'This is your "Master Key". If you lose your phone and cannot receive SMS, this code is the only way to access your account.'),
        h('p', {}, 'Copy the code and store it somewhere safe (for example a password manager or a printed document).'),
      ],
      code: issued.code,
      ack: () => api('POST', '/v1/me/recovery-code/ack', { mfa: proof, body: { stored: true, codeId: issued.codeId } }),
      next: () => done(proof),
    })
  },
}

/** Its row in the settings: when the code was made, and a new one (the old one stops working). */
export function settingsRows (f, { enrolled, withStepUp }) {
  if (!f.available) return [h('li', {}, h('span', { class: 'muted' }, 'One-time emergency code: temporarily unavailable'))]
  if (!enrolled) return []
  const code = f.items.find((i) => i.verified !== undefined)
  const regenerate = (mfa, { canStepUp }) => api('POST', '/v1/me/recovery-code', { mfa }).then((issued) => storeCodeView({
    heading: [h('h1', {}, 'Your new emergency code')],
    lead: [h('p', {}, 'Your previous emergency code no longer works. Copy this one and store it somewhere safe.')],
    code: issued.code,
    ack: () => api('POST', '/v1/me/recovery-code/ack', { mfa, body: { stored: true, codeId: issued.codeId } }),
    next: () => settingsView('Your new emergency code is stored.'),
  }), (err) => {
    if (canStepUp && staleMfa(err)) throw err
    return settingsView(undefined, explain(err))
  })
  return [h('li', {},
    h('span', {}, 'One-time emergency code', h('br'), h('span', { class: 'muted' }, code === undefined ? 'Not created' : `Created ${new Date(code.createdAt).toLocaleDateString()}${code.verified ? '' : ' · not confirmed as stored'}`)),
    h('button', { type: 'button', class: 'secondary', onclick: () => withStepUp('manage-2fa', regenerate) }, code === undefined ? 'Create' : 'Create a new code'))]
}
