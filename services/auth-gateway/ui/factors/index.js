// The factors the hosted pages know, one module each (ui/factors/<name>.js). The gateway's API
// says which methods a user has and in which order (the methods list, the factor list); these
// modules say how to show each one. A module exports:
// - label(item): the words of its "Try another way" entry (item: one of its items, e.g. a phone);
// - choices(method)?: the items that get an entry each (SMS: one per phone); default one entry;
// - signIn(item): shows its sign-in step;
// - settingsRows(factor, ctx)?: its rows on the security settings page (default: its items, or
//   "temporarily unavailable"); ctx is { enrolled, change, withStepUp, wizardView };
// - expiredText?: what an `expired` rejection means for it (default: the request expired);
// - enroll?: its setup in the wizard: { intro(), run({ proof, step, back, done }), doneText, doneNotice };
// - wizardStep?: a step of the wizard after the setup (the emergency code): { step, run({ proof, step, done, withStepUp }) },
//   `step` naming it as GET /v1/me/enrollment does, so an unfinished wizard resumes there.
// - afterSetup?: optional wizard steps after the setup, { steps, run({ proof, step, first, next }) }
//   (SMS: a backup phone number and its code);
// - mount()?: page-level extras, called once when the page starts (SMS: the demo inbox link).
// A new factor is a module here and its line below.
import * as push from './push.js'
import * as webauthn from './webauthn.js'
import * as totp from './totp.js'
import * as sms from './sms.js'
import * as recovery from './recovery.js'

const FACTOR_UI = { push, webauthn, totp, sms, recovery }

/** The module of a factor the API names, or undefined for one these pages do not know (yet). */
export const factorUi = (name) => (Object.hasOwn(FACTOR_UI, name) ? FACTOR_UI[name] : undefined)

/** Whether the wizard may set `name` up when the user did not pick a method (it has a setup, not chosenOnly). */
export const setsUpByDefault = (name) => factorUi(name)?.enroll !== undefined && factorUi(name).enroll.chosenOnly !== true

/** The factors these pages set up by default, in preference order: the default when the API names none (after a reset). */
export const settable = () => Object.keys(FACTOR_UI).filter(setsUpByDefault)

/** The wizard's steps after the setup, in preference order (the emergency code). */
export const wizardSteps = () => Object.values(FACTOR_UI).flatMap((m) => (m.wizardStep === undefined ? [] : [m.wizardStep]))

/** Modules with optional wizard steps after the setup, in preference order. */
export const afterSetups = () => Object.values(FACTOR_UI).filter((m) => m.afterSetup !== undefined)

/** Calls every module's page-level extras once. */
export const mountAll = () => { for (const m of Object.values(FACTOR_UI)) m.mount?.() }

