import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max'
import type { PhoneNumbers } from '../ports.js'

type Refusal = Exclude<ReturnType<PhoneNumbers['classify']>, { ok: true }>['reason']

// Lines that can take an SMS. FIXED_LINE_OR_MOBILE is how NANP (+1) numbers classify: the
// metadata cannot tell, and refusing them would refuse every US and Canadian phone.
const SMS_CAPABLE: ReadonlySet<NumberType> = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE'])

const REFUSED_TYPES: Partial<Record<NonNullable<NumberType>, Refusal>> = {
  PREMIUM_RATE: 'premium_rate',
  SHARED_COST: 'shared_cost',
  TOLL_FREE: 'toll_free',
  VOIP: 'voip',
}

/** Longer than any E.164 number with spaces and punctuation: refused before it is parsed. */
const MAX_INPUT = 40

/**
 * Masks all digits after the country calling code except the last two, keeping the grouping of
 * the international format: "+47 91 23 45 67" → "+47 •• •• •• 67".
 */
export function maskInternational (formatted: string): string {
  const space = formatted.indexOf(' ')
  if (space < 0) return formatted
  const head = formatted.slice(0, space)
  const tail = formatted.slice(space)
  let digitsLeft = tail.replace(/\D/g, '').length
  let out = ''
  for (const ch of tail) {
    if (/\d/.test(ch)) {
      out += digitsLeft > 2 ? '•' : ch
      digitsLeft--
    } else out += ch
  }
  return head + out
}

/**
 * Numbers through libphonenumber's full metadata (`/max`: only it knows the line type). Input
 * must carry its country prefix (+47 … or 0047 …): a number without one is ambiguous.
 */
export function createLibphonenumberPhoneNumbers (): PhoneNumbers {
  return {
    classify (input) {
      const trimmed = input.trim()
      if (trimmed.length === 0 || trimmed.length > MAX_INPUT || !/^(\+|00)/.test(trimmed)) return { ok: false, reason: 'invalid_number' }
      const parsed = parsePhoneNumberFromString(trimmed.startsWith('00') ? `+${trimmed.slice(2)}` : trimmed)
      if (parsed === undefined || !parsed.isValid() || parsed.country === undefined) return { ok: false, reason: 'invalid_number' }
      const type = parsed.getType()
      const refusal = type === undefined ? undefined : REFUSED_TYPES[type]
      if (refusal !== undefined) return { ok: false, reason: refusal }
      if (type === undefined || !SMS_CAPABLE.has(type)) return { ok: false, reason: 'not_mobile' }
      return {
        ok: true,
        number: {
          e164: parsed.number,
          region: parsed.country,
          callingCode: parsed.countryCallingCode,
          masked: maskInternational(parsed.formatInternational()),
        },
      }
    },
  }
}
