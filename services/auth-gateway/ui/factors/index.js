// The factors the hosted pages know, one module each (ui/factors/<name>.js). The gateway's API
// says which methods a user has and in which order (the methods list, the factor list); these
// modules say how to show each one. A module exports:
// - label(item): the words of its "Try another way" entry (item: one of its items, e.g. a phone);
// - choices(method)?: the items that get an entry each (SMS: one per phone); default one entry;
// - signIn(item): shows its sign-in step;
// - settingsRows(factor, ctx)?: its rows on the security settings page (default: its items, or
//   "temporarily unavailable"); ctx is { enrolled, change, withStepUp, wizardView };
// - expiredText?: what an `expired` rejection means for it (default: the request expired);
// - enroll?: its setup in the wizard: { intro(), run({ proof, step, back, done }), doneText, doneNotice }.
// A new factor is a module here and its line below.
import * as push from './push.js'
import * as webauthn from './webauthn.js'
import * as totp from './totp.js'
import * as sms from './sms.js'
import * as recovery from './recovery.js'

const FACTOR_UI = { push, webauthn, totp, sms, recovery }

/** The module of a factor the API names, or undefined for one these pages do not know (yet). */
export const factorUi = (name) => (Object.hasOwn(FACTOR_UI, name) ? FACTOR_UI[name] : undefined)

/** The factors these pages can set up in the wizard, in preference order: the default when the API names none (after a reset). */
export const settable = () => Object.keys(FACTOR_UI).filter((name) => FACTOR_UI[name].enroll !== undefined)
