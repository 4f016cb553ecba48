// A code by text message: one "Try another way" entry per phone, the reference number the SMS
// carries, and "Send a new code".
import { alertBox, explain, h, say, show } from '../lib.js'
import { challenge, codeView, header, tryAnotherWayLink } from '../signin.js'

export const label = (item) => `Get a code by text message to ${item?.label ?? 'your phone'}`

/** What a rejected code that expired means here. */
export const expiredText = 'That code has expired. Send a new code.'

/** One entry per phone (none listed: one entry, and the gateway picks the first phone). */
export const choices = (method) => (method.items.length > 0 ? method.items : [undefined])

export async function signIn (item) {
  const box = alertBox()
  const send = async () => {
    try {
      const sent = await challenge({ method: 'sms', ...(item === undefined ? {} : { phoneId: item.id }) })
      return sent
    } catch (err) {
      say(box, explain(err))
      return undefined
    }
  }
  const sent = await send()
  if (sent === undefined) return show(...header('Text message'), box, tryAnotherWayLink())
  const note = h('p', {}, `We sent a 6-digit code to ${sent.maskedPhone}. The text message shows the reference `, h('strong', {}, sent.reference), ': check that it matches.')
  const resend = h('button', { type: 'button', class: 'secondary', onclick: async () => { if (await send()) say(box, 'A new code is on its way.', 'info') } }, 'Send a new code')
  codeView({ method: 'sms', title: 'Enter the code from the text message', extra: [note, resend] })
}
