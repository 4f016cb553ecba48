// Security keys and passkeys: options from the gateway, navigator.credentials.get(), the assertion back.
import { ApiError, alertBox, api, explain, h, say, show } from '../lib.js'
import { challenge, currentTransaction, header, rejectedText, rememberBox, tryAnotherWayLink, verified } from '../signin.js'

export const label = () => 'Use your FIDO2 authenticator device'

// WebAuthn JSON ↔ ArrayBuffer, for browsers without PublicKeyCredential.parseRequestOptionsFromJSON.
export const b64uToBuf = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=')), (c) => c.charCodeAt(0)).buffer
export const bufToB64u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

export function signIn () {
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
      const answer = await api('POST', `/v1/signin/${currentTransaction().id}/verify`, { body: { method: 'webauthn', response, ...(remember.checked() ? { rememberDevice: true } : {}) } })
      if (answer.status === 'verified') return verified(answer)
      say(box, rejectedText(answer, 'webauthn'))
    } catch (err) {
      say(box, err instanceof ApiError ? explain(err) : 'The security key did not answer, or the request was cancelled. Try again.')
    }
  }
  show(...header('Use your security key', 'Insert or tap your security key, or use your device\'s fingerprint or face, when your browser asks.'),
    remember.el, h('div', { class: 'actions' }, h('button', { type: 'button', onclick: go }, 'Use your FIDO2 authenticator device'), tryAnotherWayLink()), box)
}
