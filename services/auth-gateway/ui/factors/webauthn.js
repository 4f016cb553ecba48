// Security keys and passkeys, through @simplewebauthn/browser (served from /ui/vendor/): the
// assertion at sign-in, the keys on the settings page (rename, remove), and their setup in the
// wizard. After a removal, or when the server does not know the key used, the page tells the
// browser (WebAuthn Signal API), so a password manager drops passkeys that no longer work.
import { sendSignal, startAuthentication, startRegistration } from '../vendor/simplewebauthn/index.js'
import { ApiError, alertBox, api, explain, h, say, show } from '../lib.js'
import { challenge, currentTransaction, header, rejectedText, rememberBox, tryAnotherWayLink, verified } from '../signin.js'

export const label = () => 'Use your FIDO2 authenticator device'

/** Best effort: a browser without the Signal API (or a password manager that ignores it) changes nothing. */
async function signal (opts) {
  try {
    await sendSignal(opts)
  } catch {
    // Not supported here, or refused: the key simply stays listed in the password manager.
  }
}

/** After a removal: this key is gone, and these are the ones that still work (for the password manager). */
async function signalRemoved (credentialId) {
  let keys
  try {
    keys = await api('GET', '/v1/me/webauthn')
  } catch {
    return
  }
  await signal({ signalName: 'unknownCredential', rpID: keys.rpId, credentialID: credentialId })
  if (keys.userHandle !== undefined) {
    await signal({ signalName: 'allAcceptedCredentials', rpID: keys.rpId, userID: keys.userHandle, allAcceptedCredentialIDs: keys.credentials.map((c) => c.credentialId) })
  }
}

/** What a refused assertion means, in the user's words. */
function refusal (answer) {
  switch (answer.reason) {
    case 'unknown_credential': return 'This security key or passkey is not registered for your account. Use another key, or try another way.'
    case 'user_verification_required': return 'This needs your key\'s PIN, fingerprint or face. Try again and confirm it when your browser asks.'
    case 'suspected_clone': return 'This security key may have been copied, so it is blocked. Sign in another way, then remove it in your security settings.'
    case 'no_challenge': case 'expired': return 'The request expired. Try again.'
    default: return rejectedText(answer, 'webauthn')
  }
}

export function signIn () {
  const box = alertBox()
  const remember = rememberBox()
  const go = async () => {
    say(box, '')
    let options
    let response
    try {
      ({ options } = await challenge({ method: 'webauthn' }))
      response = await startAuthentication({ optionsJSON: options })
    } catch (err) {
      return say(box, err instanceof ApiError ? explain(err) : 'The security key did not answer, or the request was cancelled. Try again.')
    }
    try {
      const answer = await api('POST', `/v1/signin/${currentTransaction().id}/verify`, { body: { method: 'webauthn', response, ...(remember.checked() ? { rememberDevice: true } : {}) } })
      if (answer.status === 'verified') return verified(answer)
      if (answer.reason === 'unknown_credential') await signal({ signalName: 'unknownCredential', rpID: options.rpId, credentialID: response.id })
      say(box, refusal(answer))
    } catch (err) {
      say(box, explain(err))
    }
  }
  show(...header('Use your security key', 'Insert your security key and tap it, enter its PIN, or use your device\'s fingerprint or face when your browser asks.'),
    remember.el, h('div', { class: 'actions' }, h('button', { type: 'button', id: 'use-security-key', onclick: go }, 'Use your FIDO2 authenticator device'), tryAnotherWayLink()), box)
}

const when = (iso) => new Date(iso).toLocaleDateString()

export function settingsRows (f, { enrolled, change, withStepUp, wizardView }) {
  if (!f.available) return [h('li', {}, h('span', { class: 'muted' }, 'Security keys: temporarily unavailable'))]
  const add = () => (enrolled ? withStepUp('manage-2fa', (mfa) => wizardView({ mfa, factor: 'webauthn' })) : wizardView({ factor: 'webauthn' }))
  const rows = f.items.map((item) => {
    const details = h('span', { class: 'muted' }, item.createdAt === undefined ? '' : `Added ${when(item.createdAt)}`)
    const name = h('span', { class: 'key-name' }, item.label)
    const li = h('li', { 'data-key': item.id },
      h('span', {}, name, h('br'), details),
      h('span', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => rename(li, item) }, 'Rename'),
        h('button', {
          type: 'button',
          class: 'danger',
          onclick: () => change('manage-2fa', async (mfa) => {
            const removed = await api('DELETE', `/v1/me/webauthn/${item.id}`, { mfa })
            await signalRemoved(removed.credentialId)
          }, `The security key "${item.label}" was removed.`),
        }, 'Remove')))
    return { li, details, id: item.id }
  })
  const rename = (li, item) => {
    const input = h('input', { type: 'text', id: `rename-${item.id}`, value: item.label, maxlength: 64, required: true, 'aria-label': 'New name' })
    const form = h('form', {
      class: 'inline',
      onsubmit: (e) => {
        e.preventDefault()
        const name = input.value.trim()
        if (name === '') return
        change('manage-2fa', (mfa) => api('PATCH', `/v1/me/webauthn/${item.id}`, { mfa, body: { name } }), `The security key is now called "${name}".`)
      },
    }, input, h('button', { type: 'submit' }, 'Save'))
    li.replaceChildren(form)
    input.focus()
  }
  // The details the methods list does not carry: last use, and whether it is a synced passkey.
  if (rows.length > 0) {
    void api('GET', '/v1/me/webauthn').then((keys) => {
      for (const row of rows) {
        const key = keys.credentials.find((c) => c.id === row.id)
        if (key === undefined) continue
        const kind = key.synced ? 'Passkey (synced)' : 'Security key (this device only)'
        const used = key.lastUsedAt === undefined ? 'never used' : `last used ${when(key.lastUsedAt)}`
        row.details.textContent = `${kind} · added ${when(key.createdAt)} · ${used}${key.suspectedClone ? ' · blocked: it may have been copied' : ''}`
      }
    }).catch(() => undefined)
  }
  return [
    ...rows.map((r) => r.li),
    h('li', {}, h('span', {}, 'Security keys and passkeys', h('br'), h('span', { class: 'muted' }, rows.length === 0 ? 'None added' : `${rows.length} added`)),
      h('button', { type: 'button', class: 'secondary', id: 'add-security-key', onclick: add }, 'Add a security key')),
  ]
}

export const enroll = {
  intro: () => [
    h('p', {}, 'Besides your password, you will confirm it is you with a security key (FIDO2) or a passkey: insert the key and tap it, enter its PIN, or use your device\'s fingerprint or face.'),
    h('p', { class: 'muted' }, 'Any FIDO2 security key works, and so does a passkey saved in your browser or password manager.'),
  ],
  doneText: 'From now on you can sign in with your security key, unless this device is remembered.',
  doneNotice: 'The security key is added.',
  // Added from the settings page ("Add a security key"); the default setup stays the authenticator app.
  chosenOnly: true,

  /** Steps 2 and 3 of the wizard: name the key, then let the browser create the credential. */
  run ({ proof, step, back, done }) {
    const box = alertBox()
    const name = h('input', { type: 'text', id: 'key-name', value: 'Security key', maxlength: 64, required: true })
    const add = async () => {
      say(box, '')
      const keyName = name.value.trim()
      if (keyName === '') return say(box, 'Give the key a name, so you can tell your keys apart.')
      let response
      try {
        const { options } = await api('POST', '/v1/me/webauthn/options', { mfa: proof })
        show(...step(3, 'Use your security key'), h('p', {}, 'Insert your security key and tap it, or confirm with your fingerprint, face or PIN when your browser asks.'), box)
        response = await startRegistration({ optionsJSON: options })
      } catch (err) {
        run()
        if (err instanceof ApiError) return say(box, explain(err))
        return say(box, err?.name === 'InvalidStateError'
          ? 'This security key is already registered for your account.'
          : 'The security key did not answer, or the request was cancelled. Try again.')
      }
      try {
        const r = await api('POST', '/v1/me/webauthn', { mfa: proof, body: { response, name: keyName } })
        if (r.status === 'registered') return done()
        run()
        say(box, r.reason === 'already_registered'
          ? 'This security key is already registered.'
          : r.reason === 'attestation_refused'
            ? 'This kind of security key is not allowed here. Use another key.'
            : r.reason === 'user_verification_required'
              ? 'This needs your key\'s PIN, fingerprint or face. Try again and confirm it when your browser asks.'
              : 'The key could not be added. Try again.')
      } catch (err) {
        run()
        say(box, explain(err))
      }
    }
    const run = () => show(
      ...step(2, 'Add your security key'),
      h('label', { for: 'key-name' }, 'Name of the key'), name,
      h('div', { class: 'actions' }, h('button', { type: 'button', id: 'add-key', onclick: add }, 'Add security key'), h('button', { type: 'button', class: 'secondary', onclick: back }, 'Back')),
      box,
    )
    run()
  },
}
