import { buildPlaceholder, FactorServiceConfig, loadConfig, runFactorService, type FactorServiceOverrides, type RunningFactorService } from '@warden/service-kit'
import { Type } from 'typebox'

// Deployed ahead of its factor, on the same skeleton as every factor service: describe answers
// "nothing enrolled" and every other verb of the contract NOT_ENROLLED. The real service keeps
// this shape and replaces buildPlaceholder('sms') with its own build (service.ts + adapters).

export const SmsConfig = Type.Object({ ...FactorServiceConfig })
export type SmsConfig = Type.Static<typeof SmsConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadSmsConfig (env: Record<string, string | undefined> = process.env): Readonly<SmsConfig> {
  return loadConfig(SmsConfig, env)
}

/** Starts the sms factor service in this process: main.ts runs it, tests call it with a moved clock. */
export async function startSmsService (config: Readonly<SmsConfig>, overrides: FactorServiceOverrides = {}): Promise<RunningFactorService> {
  return runFactorService({
    factor: 'sms',
    description: 'Warden SMS factor: not built yet',
    configSchema: SmsConfig,
    build: buildPlaceholder('sms'),
  }, config, overrides)
}
