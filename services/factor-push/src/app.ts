import { buildPlaceholder, FactorServiceConfig, loadConfig, runFactorService, type FactorServiceOverrides, type RunningFactorService } from '@warden/service-kit'
import { Type } from 'typebox'

// Deployed ahead of its factor, on the same skeleton as every factor service: describe answers
// "nothing enrolled" and every other verb of the contract NOT_ENROLLED. The real service keeps
// this shape and replaces buildPlaceholder('push') with its own build (service.ts + adapters).

export const PushConfig = Type.Object({ ...FactorServiceConfig })
export type PushConfig = Type.Static<typeof PushConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadPushConfig (env: Record<string, string | undefined> = process.env): Readonly<PushConfig> {
  return loadConfig(PushConfig, env)
}

/** Starts the push factor service in this process: main.ts runs it, tests call it with a moved clock. */
export async function startPushService (config: Readonly<PushConfig>, overrides: FactorServiceOverrides = {}): Promise<RunningFactorService> {
  return runFactorService({
    factor: 'push',
    description: 'Warden push factor (approvals in the authenticator app): not built yet',
    configSchema: PushConfig,
    build: buildPlaceholder('push'),
  }, config, overrides)
}
