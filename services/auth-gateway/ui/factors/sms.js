// A code by text message: one "Try another way" entry per phone, the reference number the SMS
// carries and "Send a new code" at sign-in; the phones in the security settings (add, remove);
// the wizard's optional phone steps; and, in demo mode, the demo inbox.
import { ApiError, DEMO, alertBox, api, explain, h, say, show, timeOf } from '../lib.js'
import { challenge, codeForm, codeView, header, tryAnotherWayLink } from '../signin.js'
import { settingsView, withStepUp } from '../account.js'

export const label = (item) => `Get a code by text message to ${item?.label ?? 'your phone'}`

/** What a rejected code that expired means here. */
export const expiredText = 'That code has expired. Send a new code.'

const TROUBLESHOOTING = 'No SMS received? Double-check your country prefix and phone number.'

/** One entry per phone (none listed: one entry, and the gateway picks the first phone). */
export const choices = (method) => (method.items.length > 0 ? method.items : [undefined])

export async function signIn (item) {
  const box = alertBox()
  const send = async () => {
    try {
      const sent = await challenge({ method: 'sms', ...(item === undefined ? {} : { phoneId: item.id }) })
      return sent
    } catch (err) {
      say(box, err instanceof ApiError && err.code === 'PROVIDER_UNAVAILABLE'
        ? 'The text message could not be sent. Try another way.'
        : explain(err))
      return undefined
    }
  }
  const sent = await send()
  if (sent === undefined) return show(...header('Text message'), box, h('div', { class: 'actions' }, tryAnotherWayLink()))
  const note = h('p', {}, `We sent a 6-digit code to ${sent.maskedPhone}. The text message shows the reference `, h('strong', { id: 'sms-reference' }, sent.reference), ': check that it matches.')
  const resend = h('button', { type: 'button', class: 'secondary', onclick: async () => { if (await send()) say(box, 'A new code is on its way.', 'info') } }, 'Send a new code')
  codeView({ method: 'sms', title: 'Enter the code from the text message', extra: [note, resend, h('p', { class: 'muted' }, TROUBLESHOOTING), box] })
}

// ---- adding a phone: the number, then the code sent to it ---------------------------------------

/** Words for a refused number (the gateway's PHONE_* codes). */
function refusalText (err) {
  if (!(err instanceof ApiError)) return explain(err)
  switch (err.code) {
    case 'PHONE_INVALID': return 'That is not a valid phone number. Include your country prefix, e.g. +47 912 34 567.'
    case 'PHONE_PREMIUM_RATE': case 'PHONE_SHARED_COST': case 'PHONE_TOLL_FREE': return 'Premium-rate, shared-cost and toll-free numbers cannot be used. Enter your mobile number.'
    case 'PHONE_VOIP': return 'Internet (VoIP) numbers cannot be used. Enter your mobile number.'
    case 'PHONE_NOT_MOBILE': return 'That number cannot receive text messages. Enter your mobile number.'
    case 'PHONE_COUNTRY_NOT_ALLOWED': return 'Text messages cannot be sent to that country.'
    case 'LIMIT_REACHED': return 'You already have three phone numbers. Remove one first.'
    case 'ALREADY_ENROLLED': return 'That phone number is already added.'
    case 'PROVIDER_UNAVAILABLE': return 'The text message could not be sent. Try again later.'
    default: return explain(err)
  }
}

/**
 * The number form, then the code form. `onSkip` makes an empty field skip the step (the wizard);
 * `done(phone)` runs once the phone is verified. `proof` is the MFA or enrollment token.
 */
function addPhoneSteps ({ proof: given, title, lead, codeTitle, back, onSkip, done }) {
  let proof = given
  const numberStep = (prefill = '') => {
    const box = alertBox()
    const input = h('input', { id: 'phone-number', name: 'number', type: 'tel', autocomplete: 'tel', inputmode: 'tel', placeholder: '+47 912 34 567', value: prefill, autofocus: true })
    const form = h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault()
        const number = input.value.trim()
        if (number === '') {
          if (onSkip !== undefined) return onSkip()
          return say(box, 'Enter your phone number with its country prefix.')
        }
        const add = async () => codeStep(await api('POST', '/v1/me/phones', { mfa: proof, body: { number } }), number)
        try {
          await add()
        } catch (err) {
          // 2FA has just been switched on (the wizard): a new binding needs a fresh second factor.
          if (err instanceof ApiError && err.code === 'STEP_UP_REQUIRED') {
            return withStepUp('manage-2fa', async (mfa) => {
              proof = mfa
              try { await add() } catch (again) { numberStep(number); say(document.querySelector('#view .alert'), refusalText(again)) }
            })
          }
          say(box, refusalText(err))
        }
      },
    },
    h('label', { for: 'phone-number' }, 'Phone number'), input,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Next'), back === undefined ? null : h('button', { type: 'button', class: 'secondary', onclick: back }, 'Back')),
    box)
    show(...title(), ...lead, form)
  }

  const codeStep = (added, number) => {
    const box = alertBox()
    const form = codeForm({
      id: 'phone-code', label: '6-digit code from the text message', box,
      actions: [
        h('button', { type: 'submit' }, 'Next'),
        h('button', { type: 'button', class: 'secondary', onclick: async () => {
          try {
            await api('POST', '/v1/me/phones', { mfa: proof, body: { number } })
            say(box, 'A new code is on its way.', 'info')
          } catch (err) { say(box, refusalText(err)) }
        } }, 'Send a new code'),
        h('button', { type: 'button', class: 'secondary', onclick: () => numberStep(number) }, 'Back'),
      ],
      submit: async (code) => {
        try {
          const r = await api('POST', `/v1/me/phones/${added.phoneId}/verify`, { mfa: proof, body: { code } })
          if (r.status === 'verified') return done(r)
          if (r.reason === 'expired') return 'That code can no longer be used. Send a new code.'
          return `That code did not match.${r.attemptsLeft !== undefined && r.attemptsLeft <= 3 ? ` ${r.attemptsLeft} tries left for this code.` : ''}`
        } catch (err) {
          return err instanceof ApiError && err.code === 'ENROLLMENT_EXPIRED' ? 'This code has expired. Go back and send a new one.' : explain(err)
        }
      },
    })
    show(...codeTitle(),
      h('p', {}, `We sent a 6-digit code to ${added.maskedPhone} (it expires at ${timeOf(added.expiresAt)}). The text message shows the reference `, h('strong', { id: 'sms-reference' }, added.reference), '.'),
      form, h('p', { class: 'muted' }, TROUBLESHOOTING))
  }

  numberStep()
}

// ---- security settings ----------------------------------------------------------------------

export function settingsRows (f, { change, withStepUp, enrolled }) {
  if (!f.available) return [h('li', {}, h('span', { class: 'muted' }, 'Text message: temporarily unavailable'))]
  const rows = f.items.map((phone) => h('li', {},
    h('span', {}, phone.label, h('br'), h('span', { class: 'muted' }, phone.verified === false ? 'Waiting for its code' : 'Text message')),
    h('button', { type: 'button', class: 'danger', onclick: () => change('manage-2fa', (mfa) => api('DELETE', `/v1/me/phones/${phone.id}`, { mfa }), 'The phone number was removed.') }, 'Remove')))
  if (f.items.length < 3) {
    const add = (proof) => addPhoneSteps({
      proof,
      title: () => [h('h1', {}, 'Add a phone number')],
      lead: [h('p', {}, 'You will receive a 6-digit code by text message to verify the number. You can add up to three.')],
      codeTitle: () => [h('h1', {}, 'Enter the 6-digit code')],
      back: () => settingsView(),
      done: () => settingsView('The phone number is added.'),
    })
    rows.push(h('li', {},
      h('span', {}, 'Text message', h('br'), h('span', { class: 'muted' }, f.items.length === 0 ? 'No phone number added' : 'Add another phone number')),
      h('button', { type: 'button', class: 'secondary', onclick: () => (enrolled ? withStepUp('manage-2fa', (mfa) => add(mfa)) : add(undefined)) }, 'Add phone')))
  }
  return rows
}

// ---- the wizard's optional steps 4 and 5 (seeds: "Add a Backup Phone Number") -------------------

export const afterSetup = {
  /** The number of wizard steps these add. */
  steps: 2,
  /**
   * Step 4: an optional phone number, skipped if the user already has one (or leaves the field
   * empty); step 5: the code sent to it. `next()` moves on.
   */
  async run ({ proof, step, first, next }) {
    try {
      const me = await api('GET', '/v1/me/factors')
      if (me.factors.some((f) => f.factor === 'sms' && f.items.some((i) => i.verified !== false))) return next()
    } catch { /* the step is optional: offer it anyway */ }
    addPhoneSteps({
      proof,
      title: () => step(first, 'Add a backup phone number (optional)'),
      lead: [
        h('p', {}, 'We recommend that you add your phone number as a backup, in case you lose your app: you can then receive a code by text message.'),
        h('p', { class: 'muted' }, 'If you do not want to add SMS as a backup option, click Next without entering a phone number.'),
      ],
      codeTitle: () => step(first + 1, 'Enter the 6-digit code from the SMS'),
      onSkip: next,
      done: () => next(),
    })
  },
}

// ---- demo mode: the demo inbox -------------------------------------------------------------------

/** Page-level extras: a "Demo inbox" link in the header (demo mode only), listing the text messages the fake provider was asked to send. */
export function mount () {
  if (!DEMO) return
  const panel = h('aside', { id: 'demo-inbox', class: 'demo-inbox', hidden: true, 'aria-label': 'Demo inbox' })
  const render = async () => {
    let box
    try {
      box = await api('GET', '/v1/demo/outbox', { auth: false })
    } catch (err) {
      return panel.replaceChildren(h('p', { class: 'alert' }, explain(err)))
    }
    panel.replaceChildren(
      h('h2', {}, 'Demo inbox'),
      h('p', { class: 'muted' }, 'Text messages of this demo, newest first. Nothing is sent to real phones.'),
      box.messages.length === 0 ? h('p', { class: 'muted' }, 'No messages yet.') : h('ul', { class: 'items' }, box.messages.map((m) =>
        h('li', { class: 'message' }, h('span', {}, h('strong', {}, m.to), ` · ${new Date(m.sentAt).toLocaleTimeString()}`, h('br'), h('span', { class: 'sms-text' }, m.text))))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: render }, 'Refresh'),
        h('button', { type: 'button', class: 'link', onclick: () => { panel.hidden = true } }, 'Close')),
    )
  }
  const link = h('button', { type: 'button', class: 'link', id: 'demo-inbox-link', onclick: async () => { panel.hidden = false; await render() } }, 'Demo inbox')
  document.querySelector('header')?.append(link)
  document.getElementById('view')?.after(panel)
}
