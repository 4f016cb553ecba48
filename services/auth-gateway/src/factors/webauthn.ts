import {
  confirmWebauthn, CredentialHandle, enrollWebauthn, KeyName, listWebauthn, ListWebauthnResponse, removeWebauthn,
  RemoveWebauthnResponse, renameWebauthn, Timestamp, verifyWebauthn, webauthn, WebauthnCredential, webauthnOptions,
} from '@warden/contracts'
import { Type } from 'typebox'
import { principalOf } from '../plugins/auth.js'
import {
  bearer, bearerAndStepUp, ENROLL_NOTE, EXAMPLE_TIME, errorResponses, MfaHeaders, RememberDeviceFlag, STEP_UP_NOTE,
} from '../schema-parts.js'
import { defineStrategy, rejected } from './strategy.js'

// Security keys and passkeys: the challenge makes the options for navigator.credentials.get(),
// verify checks the assertion (amr hwk for a device-bound key, swk for a synced passkey). Keys are
// registered, listed, renamed and removed under /v1/me/webauthn.

const WebauthnResponse = (description: string) => Type.Object({}, { additionalProperties: true, maxProperties: 20, description })

const EXAMPLE_KEY = 'wak_' + 'Q'.repeat(43)
const exampleCredential = {
  id: EXAMPLE_KEY, credentialId: 'Y3JlZGVudGlhbC1pZA', name: 'YubiKey 5', createdAt: EXAMPLE_TIME, lastUsedAt: EXAMPLE_TIME, synced: false, backedUp: false, transports: ['usb', 'nfc'],
}

const OptionsAnswer = Type.Object({
  options: Type.Object({}, { additionalProperties: true, description: 'PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create() (or @simplewebauthn/browser startRegistration)' }),
  expiresAt: Timestamp,
}, {
  additionalProperties: false,
  examples: [{
    options: {
      challenge: 'Q2hhbGxlbmdlT2YzMkJ5dGVzRXhhbXBsZVZhbHVlQUFBQQ',
      rp: { id: 'example.com', name: 'Warden' },
      user: { id: 'VXNlckhhbmRsZUV4YW1wbGVWYWx1ZU9mMzJCeXRlc0FBQQ', name: 'alice', displayName: '' },
      pubKeyCredParams: [{ alg: -8, type: 'public-key' }, { alg: -7, type: 'public-key' }, { alg: -257, type: 'public-key' }],
      timeout: 300000,
      attestation: 'none',
      excludeCredentials: [{ id: 'Y3JlZGVudGlhbC1pZA', type: 'public-key', transports: ['usb'] }],
      authenticatorSelection: { residentKey: 'preferred', requireResidentKey: false, userVerification: 'preferred' },
      extensions: { credProps: true },
    },
    expiresAt: EXAMPLE_TIME,
  }],
})

// The contract's answers, with examples for the OpenAPI document.
const ListAnswer = Type.Object(ListWebauthnResponse.properties, {
  additionalProperties: false,
  examples: [{ rpId: 'example.com', userHandle: 'VXNlckhhbmRsZUV4YW1wbGVWYWx1ZU9mMzJCeXRlc0FBQQ', credentials: [exampleCredential] }],
})
const RenameAnswer = Type.Object({ credential: WebauthnCredential }, { additionalProperties: false, examples: [{ credential: { ...exampleCredential, name: 'Office key' } }] })
const RemoveAnswer = Type.Object(RemoveWebauthnResponse.properties, { additionalProperties: false, examples: [{ removed: true, credentialId: 'Y3JlZGVudGlhbC1pZA' }] })

const RegisterBody = Type.Object({
  response: WebauthnResponse('RegistrationResponseJSON from navigator.credentials.create()'),
  name: KeyName,
}, { additionalProperties: false, examples: [{ name: 'YubiKey 5', response: { id: 'Y3JlZGVudGlhbC1pZA', rawId: 'Y3JlZGVudGlhbC1pZA', type: 'public-key', response: { clientDataJSON: '…', attestationObject: '…' }, clientExtensionResults: {} } }] })

const RegisterAnswer = Type.Union([
  Type.Object({ status: Type.Literal('registered'), credential: WebauthnCredential }, { additionalProperties: false }),
  Type.Object({
    status: Type.Literal('rejected'),
    reason: Type.Union([
      Type.Literal('invalid_response'), Type.Literal('no_challenge'), Type.Literal('expired'), Type.Literal('already_registered'),
      Type.Literal('user_verification_required'), Type.Literal('attestation_refused'),
    ]),
  }, { additionalProperties: false }),
], {
  description: 'A refused key is an answer (200 with status rejected): already_registered when the credential is registered already (to anyone)',
  examples: [{ status: 'registered', credential: exampleCredential }, { status: 'rejected', reason: 'already_registered' }],
})
type RegisterAnswer = Type.Static<typeof RegisterAnswer>

const KeyParams = Type.Object({ id: CredentialHandle }, { additionalProperties: false })
const RenameBody = Type.Object({ name: KeyName }, { additionalProperties: false, examples: [{ name: 'Office key' }] })

export const webauthnStrategy = defineStrategy({
  factor: webauthn,

  challenge: {
    body: Type.Object({ method: Type.Literal('webauthn') }, { additionalProperties: false, title: 'webauthn', examples: [{ method: 'webauthn' }] }),
    answer: Type.Object({
      options: Type.Object({}, { additionalProperties: true, description: 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get() (or @simplewebauthn/browser startAuthentication)' }),
    }, { additionalProperties: false, title: 'webauthn' }),
    async start ({ flow, factors }) {
      // A step-up proves the person at the key, not only the key: user verification (PIN, biometrics).
      const res = await factors.call(webauthnOptions, { userId: flow.userId, flowId: flow.id, ...(flow.purpose === 'step-up' ? { userVerification: 'required' as const } : {}) })
      return { answer: { options: res.options }, expiresAt: res.expiresAt }
    },
  },

  verify: {
    body: Type.Object({ method: Type.Literal('webauthn'), response: WebauthnResponse('AuthenticationResponseJSON from navigator.credentials.get()'), rememberDevice: RememberDeviceFlag }, { additionalProperties: false, title: 'webauthn' }),
    attemptAnswer: (input) => JSON.stringify(input.response),
    async check ({ flow, factors, idempotencyKey }, input) {
      const res = await factors.call(verifyWebauthn, { userId: flow.userId, flowId: flow.id, idempotencyKey, response: input.response }, { retryOnTimeout: true })
      return res.result === 'verified' ? { result: 'verified', amr: [res.amr] } : rejected(res.reason, res.attemptsLeft)
    },
  },

  selfService: ({ factors, log, stepUp, enrollStepUp, factorChanges }) => async (app) => {
    app.get('', {
      schema: {
        tags: ['me'],
        summary: 'The user\'s security keys and passkeys: name, created, last used, synced or device-bound',
        description: 'Also the RP ID and the user handle, for the browser\'s Signal API (signalAllAcceptedCredentials).',
        security: bearer,
        response: { 200: ListAnswer, ...errorResponses },
      },
    }, async (req) => factors.call(listWebauthn, { userId: principalOf(req).sub }))

    app.post('/options', {
      schema: {
        tags: ['me'],
        summary: 'Start registering a security key or passkey: options for navigator.credentials.create()',
        description: `No body. The challenge is single use and lasts 300 s; \`excludeCredentials\` lists the user's keys; \`residentKey: "preferred"\` makes a passkey where the authenticator can. ${STEP_UP_NOTE} ${ENROLL_NOTE}`,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        response: { 200: OptionsAnswer, ...errorResponses },
      },
      preHandler: enrollStepUp,
    }, async (req) => {
      const principal = principalOf(req)
      return factors.call(enrollWebauthn, { userId: principal.sub, userName: principal.accountName.slice(0, 200) })
    })

    app.post('', {
      schema: {
        tags: ['me'],
        summary: 'Register the key from its RegistrationResponseJSON, with a name',
        description: `A credential id registered already (to anyone), longer than 1023 bytes, or from another origin is refused (200 with status rejected). ${STEP_UP_NOTE} ${ENROLL_NOTE}`,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        body: RegisterBody,
        response: { 200: RegisterAnswer, ...errorResponses },
      },
      preHandler: enrollStepUp,
    }, async (req): Promise<RegisterAnswer> => {
      // A new key is a binding: the factor-change hook revokes what must not outlive it.
      const res = await factorChanges.bind(req, webauthn.name,
        () => factors.call(confirmWebauthn, { userId: principalOf(req).sub, response: req.body.response, name: req.body.name }),
        (r) => r.result === 'registered')
      if (res.result === 'registered') {
        log.info({ factor: webauthn.name, synced: res.credential.synced }, 'factor confirmed')
        return { status: 'registered', credential: res.credential }
      }
      return { status: 'rejected', reason: res.reason }
    })

    app.patch('/:id', {
      schema: {
        tags: ['me'],
        summary: 'Rename a security key or passkey',
        description: STEP_UP_NOTE,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        params: KeyParams,
        body: RenameBody,
        response: { 200: RenameAnswer, ...errorResponses },
      },
      preHandler: stepUp,
    }, async (req) => factors.call(renameWebauthn, { userId: principalOf(req).sub, id: req.params.id, name: req.body.name }))

    app.delete('/:id', {
      schema: {
        tags: ['me'],
        summary: 'Remove a security key or passkey',
        description: `Answers its WebAuthn credential id, so the page can tell the browser (signalUnknownCredential) and the password manager drops it. ${STEP_UP_NOTE}`,
        security: bearerAndStepUp,
        headers: MfaHeaders,
        params: KeyParams,
        response: { 200: RemoveAnswer, ...errorResponses },
      },
      preHandler: stepUp,
    }, async (req) => factorChanges.remove(req, webauthn.name, () => factors.call(removeWebauthn, { userId: principalOf(req).sub, id: req.params.id })))
  },
})
