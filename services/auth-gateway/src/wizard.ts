import { FactorName } from '@warden/contracts'
import { Type } from 'typebox'
import type { FactorStatus } from './factor-client.js'
import { wizardStepsExample } from './factors/examples.js'
import type { FactorStrategy } from './factors/strategy.js'

/**
 * The setup wizard's state (seeds: "Enable 2FA", "Setting up your 2FA"): information, then each
 * factor's steps in the seeds' order (app, confirm code; optional phone, SMS code; emergency code),
 * then done. Pure: derived from what the factor services describe, so an unfinished wizard resumes
 * where it stopped, on any device, and a confirmed factor is active whether the wizard finished or
 * not (an unfinished wizard never weakens sign-in).
 */

export const WizardStepState = Type.Union([Type.Literal('done'), Type.Literal('current'), Type.Literal('todo'), Type.Literal('skipped')])

export const WizardView = Type.Object({
  steps: Type.Array(Type.Object({
    step: Type.String({ description: 'info, then each factor\'s steps (app, confirm-code, phone, sms-code, emergency-code), then done' }),
    factor: Type.Optional(FactorName),
    state: WizardStepState,
    optional: Type.Optional(Type.Literal(true)),
  }, { additionalProperties: false })),
  current: Type.String({ description: 'The step to show: where the wizard resumes' }),
  complete: Type.Boolean({ description: 'Every step is done, the emergency code acknowledged ("I have safely copied and stored this code.")' }),
  reauthenticate: Type.Boolean({ description: 'The user has no 2FA yet and the primary token is older than WIZARD_MAX_AUTH_AGE_SEC: ask for the password again (a new primary token) before starting' }),
}, {
  additionalProperties: false,
  examples: [{
    steps: wizardStepsExample,
    current: 'emergency-code',
    complete: false,
    reauthenticate: false,
  }],
})
export type WizardView = Type.Static<typeof WizardView>
type Step = WizardView['steps'][number]

export function wizardState (strategies: readonly FactorStrategy[], statuses: readonly FactorStatus[]): Omit<WizardView, 'reauthenticate'> {
  const parts = strategies.flatMap((s) => {
    if (s.wizard === undefined) return []
    const status = statuses.find((x) => x.factor === s.factor.name)
    // A factor without self-service routes cannot be set up yet: its steps are skipped.
    const settable = s.selfService !== undefined
    const done = settable && status !== undefined && status.available ? Math.min(s.wizard.steps.length, s.wizard.progress(status)) : 0
    const started = done > 0 || (status !== undefined && status.available && status.enrolled)
    return [{ factor: s.factor.name, wizard: s.wizard, settable, done, started }]
  })
  const steps: Step[] = []
  let current: string | undefined
  const anyStarted = parts.some((p) => p.started)
  steps.push({ step: 'info', state: anyStarted ? 'done' : 'current' })
  if (!anyStarted) current = 'info'
  parts.forEach((p, i) => {
    // An optional step is passed once a later factor has something set up.
    const passed = parts.slice(i + 1).some((later) => later.started)
    p.wizard.steps.forEach((name, j) => {
      let state: Step['state']
      if (!p.settable) state = 'skipped'
      else if (j < p.done) state = 'done'
      // An optional step (the backup phone) is offered, never waited for: it is not where the wizard resumes.
      else if (p.wizard.optional === true) state = passed ? 'skipped' : 'todo'
      else if (current === undefined) { state = 'current'; current = name } else state = 'todo'
      steps.push({ step: name, factor: p.factor, state, ...(p.wizard.optional === true ? { optional: true } : {}) })
    })
  })
  const complete = current === undefined
  steps.push({ step: 'done', state: complete ? 'done' : 'todo' })
  return { steps, current: current ?? 'done', complete }
}
