import { buildPlaceholder, FactorServiceConfig, loadConfig, runFactorService, type FactorServiceOverrides, type RunningFactorService } from '@warden/service-kit'
import { Type } from 'typebox'

// Deployed ahead of its factor, on the same skeleton as every factor service: describe answers
// "nothing enrolled" and every other verb of the contract NOT_ENROLLED. The real service keeps
// this shape and replaces buildPlaceholder('webauthn') with its own build (service.ts + adapters).

export const WebauthnConfig = Type.Object({ ...FactorServiceConfig })
export type WebauthnConfig = Type.Static<typeof WebauthnConfig>

/** The only reader of process.env in this service. Fails fast, naming fields but never their values. */
export function loadWebauthnConfig (env: Record<string, string | undefined> = process.env): Readonly<WebauthnConfig> {
  return loadConfig(WebauthnConfig, env)
}

/** Starts the webauthn factor service in this process: main.ts runs it, tests call it with a moved clock. */
export async function startWebauthnService (config: Readonly<WebauthnConfig>, overrides: FactorServiceOverrides = {}): Promise<RunningFactorService> {
  return runFactorService({
    factor: 'webauthn',
    description: 'Warden security-key and passkey (WebAuthn) factor: not built yet',
    configSchema: WebauthnConfig,
    build: buildPlaceholder('webauthn'),
  }, config, overrides)
}
