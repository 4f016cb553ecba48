import { buildPlaceholder, FactorServiceConfig, loadConfig, runFactorService, type FactorServiceOverrides, type RunningFactorService } from '@warden/service-kit'
import { Type } from 'typebox'

// Deployed ahead of its factor, on the same skeleton as every factor service: describe answers
// "nothing enrolled" and every other verb of the contract NOT_ENROLLED. The real service keeps
// this shape and replaces buildPlaceholder('recovery') with its own build (service.ts + adapters).

export const RecoveryConfig = Type.Object({ ...FactorServiceConfig })
export type RecoveryConfig = Type.Static<typeof RecoveryConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadRecoveryConfig (env: Record<string, string | undefined> = process.env): Readonly<RecoveryConfig> {
  return loadConfig(RecoveryConfig, env)
}

/** Starts the recovery factor service in this process: main.ts runs it, tests call it with a moved clock. */
export async function startRecoveryService (config: Readonly<RecoveryConfig>, overrides: FactorServiceOverrides = {}): Promise<RunningFactorService> {
  return runFactorService({
    factor: 'recovery',
    description: 'Warden emergency-code (recovery) factor: not built yet',
    configSchema: RecoveryConfig,
    build: buildPlaceholder('recovery'),
  }, config, overrides)
}
