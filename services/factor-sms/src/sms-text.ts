/**
 * The SMS text, per locale. Every text names the reference the sign-in page shows (so the user
 * can tell this sign-in from someone else's) and ends with the origin-bound line
 * `@host #code` (WebOTP / origin-bound one-time codes): browsers autofill the code only on that
 * host, which takes the code out of a phishing page's reach.
 */
export interface SmsTextInput {
  readonly locale: string
  readonly appName: string
  readonly code: string
  readonly reference: string
  /** Host of the sign-in page, without scheme or port. */
  readonly originHost: string
}

type Template = (v: { appName: string, code: string, reference: string, minutes: number }) => string

// Plain GSM-7 characters only, so one SMS holds the whole text.
const TEMPLATES: Readonly<Record<string, Template>> = {
  en: (v) => `${v.code} is your ${v.appName} sign-in code. Reference: ${v.reference}. It expires in ${v.minutes} minutes. Do not share it.`,
  nb: (v) => `${v.code} er din ${v.appName}-kode. Referanse: ${v.reference}. Den utloper om ${v.minutes} minutter. Ikke del den.`,
  sv: (v) => `${v.code} ar din ${v.appName}-kod. Referens: ${v.reference}. Den galler i ${v.minutes} minuter. Dela den inte.`,
  da: (v) => `${v.code} er din ${v.appName}-kode. Reference: ${v.reference}. Den udlober om ${v.minutes} minutter. Del den ikke.`,
  fi: (v) => `${v.code} on ${v.appName}-koodisi. Viite: ${v.reference}. Se vanhenee ${v.minutes} minuutissa. Ala jaa sita.`,
  nl: (v) => `${v.code} is je ${v.appName}-code. Referentie: ${v.reference}. Verloopt over ${v.minutes} minuten. Deel hem niet.`,
}

export const SMS_LOCALES: readonly string[] = Object.keys(TEMPLATES)

/** The locale to write in: the requested one if there is a text for it, else the default. */
export function smsLocale (requested: string | undefined, fallback: string): string {
  const lang = requested?.toLowerCase().split(/[-_]/)[0]
  if (lang !== undefined && lang in TEMPLATES) return lang
  // Norwegian is often asked for as `no` or `nn`.
  if (lang === 'no' || lang === 'nn') return 'nb'
  return fallback in TEMPLATES ? fallback : 'en'
}

export function renderSmsText (input: SmsTextInput, codeTtlMs: number): string {
  const template = TEMPLATES[input.locale] ?? (TEMPLATES.en as Template)
  const body = template({ appName: input.appName, code: input.code, reference: input.reference, minutes: Math.round(codeTtlMs / 60_000) })
  return `${body}\n\n@${input.originHost} #${input.code}`
}
