import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { JWK } from 'jose'

/** A device this authenticator paired: its private key never leaves this file. */
export interface LocalDevice {
  deviceId: string
  /** The gateway's base URL. */
  server: string
  name: string
  account?: string
  privateJwk: JWK
  pairedAt: string
}

/** A TOTP account added from an otpauth:// URI. */
export interface TotpAccount {
  label: string
  issuer?: string
  /** Base32. */
  secret: string
  digits: number
  period: number
  algorithm: 'sha1' | 'sha256' | 'sha512'
}

export interface State { version: 1, devices: LocalDevice[], totp: TotpAccount[] }

/** `--home`, else WARDEN_AUTHENTICATOR_HOME, else ~/.warden-authenticator. */
export function resolveHome (flag: string | undefined, env: Record<string, string | undefined>): string {
  return flag ?? env.WARDEN_AUTHENTICATOR_HOME ?? join(homedir(), '.warden-authenticator')
}

const file = (home: string): string => join(home, 'state.json')

export function loadState (home: string): State {
  if (!existsSync(file(home))) return { version: 1, devices: [], totp: [] }
  const state = JSON.parse(readFileSync(file(home), 'utf8')) as State
  if (state.version !== 1 || !Array.isArray(state.devices) || !Array.isArray(state.totp)) throw new Error(`${file(home)} is not an authenticator state file`)
  return state
}

/** Written whole and renamed into place, readable by its owner only: it holds private keys and TOTP seeds. */
export function saveState (home: string, state: State): void {
  mkdirSync(home, { recursive: true, mode: 0o700 })
  const tmp = `${file(home)}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, file(home))
}
