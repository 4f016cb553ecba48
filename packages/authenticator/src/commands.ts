import { parseArgs } from 'node:util'
import { contextHash } from './context-hash.js'
import { newDeviceKey, signDeviceJwt } from './device-key.js'
import { createGatewayClient, GatewayError, type Fetch, type PendingChallenge } from './gateway.js'
import { loadState, resolveHome, saveState, type LocalDevice, type State } from './home.js'
import { parsePairingUri } from './pairing-uri.js'
import { parseOtpauthUri, totpCode } from './totp.js'

export interface CliDeps {
  env: Record<string, string | undefined>
  now: () => Date
  fetch: Fetch
  /** One line of output (stdout). */
  out: (line: string) => void
  /** One line of diagnostics (stderr). */
  err: (line: string) => void
  hostname: string
}

export const USAGE = `warden-authenticator: the Warden authenticator app, on the command line

Usage: warden-authenticator <command> [options]

  pair <pairingUri> [--name NAME]        pair this authenticator with your account (the QR's warden://pair link)
  devices                                the devices this authenticator has paired
  pending [--device ID]                  push requests waiting for an answer, with what they are for
  approve <challengeId> --number N       approve, typing the number shown on the sign-in screen
  deny <challengeId> [--not-me]          deny; --not-me says "This wasn't me" (pauses push, alerts)
  add-totp <otpauthUri>                  add an authenticator-app (TOTP) account
  code [account]                         the current TOTP code(s)

Options: --json (machine-readable output), --home DIR (or WARDEN_AUTHENTICATOR_HOME; default ~/.warden-authenticator)`

/** A refusal to show the user, with a stable code for --json. */
class CliError extends Error {
  constructor (readonly code: string, message: string) { super(message) }
}

function short (iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC')
}

/** Runs one command; answers the exit code (0 ok, 1 refused or failed, 2 usage). */
export async function run (argv: string[], deps: CliDeps): Promise<number> {
  let parsed: ReturnType<typeof parse>
  const parse = (args: string[]) => parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      home: { type: 'string' },
      number: { type: 'string' },
      'not-me': { type: 'boolean', default: false },
      name: { type: 'string' },
      device: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  try {
    parsed = parse(argv)
  } catch (err) {
    deps.err((err as Error).message)
    deps.err(USAGE)
    return 2
  }
  const { values, positionals } = parsed
  const json = values.json === true
  const [command, ...args] = positionals
  if (values.help === true || command === undefined) {
    deps.out(USAGE)
    return command === undefined && values.help !== true ? 2 : 0
  }
  const home = resolveHome(values.home, deps.env)
  const gateway = createGatewayClient(deps.fetch)
  const print = (data: unknown, text: string[]): void => {
    if (json) deps.out(JSON.stringify(data))
    else for (const line of text) deps.out(line)
  }

  const need = (value: string | undefined, what: string): string => {
    if (value === undefined || value === '') throw new CliError('USAGE', `${command}: ${what} is required`)
    return value
  }

  /** The pending challenges of every paired device (or one), fetched with signed requests. */
  async function pendingOf (state: State, only?: string): Promise<Array<{ device: LocalDevice, challenge: PendingChallenge }>> {
    const devices = state.devices.filter((d) => only === undefined || d.deviceId === only)
    if (devices.length === 0) throw new CliError('NOT_PAIRED', only === undefined ? 'no device is paired yet: run `pair <pairingUri>` first' : `no paired device ${only}`)
    const out: Array<{ device: LocalDevice, challenge: PendingChallenge }> = []
    for (const device of devices) {
      const jwt = await signDeviceJwt(device.privateJwk, { req: 'challenges', sub: device.deviceId }, { now: deps.now() })
      const { challenges } = await gateway.challenges(device.server, device.deviceId, jwt)
      for (const challenge of challenges) out.push({ device, challenge })
    }
    return out
  }

  function describe (c: PendingChallenge): string[] {
    const left = Math.max(0, Math.round((Date.parse(c.expiresAt) - deps.now().getTime()) / 1000))
    return [
      `${c.challengeId}  (${c.context.action === undefined ? 'sign-in' : 'confirm an action'}; expires in ${left} s)`,
      `  application: ${c.context.appName}`,
      `  time:        ${short(c.createdAt)}`,
      ...(c.context.ip === undefined ? [] : [`  IP address:  ${c.context.ip}`]),
      ...(c.context.userAgent === undefined ? [] : [`  browser:     ${c.context.userAgent}`]),
      ...(c.context.action === undefined ? [] : [`  action:      ${c.context.action}`]),
    ]
  }

  async function answer (challengeId: string, decision: { decision: 'approve', number: number } | { decision: 'deny', notMe: boolean }): Promise<void> {
    const state = loadState(home)
    const found = (await pendingOf(state, values.device)).find((p) => p.challenge.challengeId === challengeId)
    if (found === undefined) throw new CliError('NOT_FOUND', `no pending request ${challengeId} (answered, expired, or not for this authenticator)`)
    const { device, challenge: c } = found
    // The signature covers exactly what was shown: the gateway refuses it if the request changed since.
    const hash = contextHash({ challengeId: c.challengeId, createdAt: c.createdAt, ...c.context })
    const claims = decision.decision === 'approve'
      ? { number: decision.number }
      : (decision.notMe ? { notMe: true } : {})
    const jwt = await signDeviceJwt(device.privateJwk, { req: 'answer', sub: device.deviceId, challengeId, nonce: c.nonce, decision: decision.decision, contextHash: hash, ...claims }, { now: deps.now() })
    const res = await gateway.answer(device.server, challengeId, jwt)
    if (res.result === 'rejected') {
      const left = res.attemptsLeft === undefined ? '' : ` (${res.attemptsLeft} attempts left)`
      if (json) deps.out(JSON.stringify(res))
      else deps.err(`refused: ${res.reason.replace(/_/g, ' ')}${left}`)
      throw new CliError('REJECTED', '')
    }
    print(res, res.result === 'approved'
      ? [...describe(c), 'Approved.']
      : [...describe(c), decision.decision === 'deny' && decision.notMe ? 'Denied, and reported as not you: push is paused and your account\'s security contacts are told.' : 'Denied.'])
  }

  try {
    switch (command) {
      case 'pair': {
        const link = parsePairingUri(need(args[0], 'the pairing link'))
        const { privateJwk } = await newDeviceKey()
        const name = values.name ?? `warden-authenticator on ${deps.hostname}`
        const jwt = await signDeviceJwt(privateJwk, { req: 'pair', pairingCode: link.code, name, platform: 'cli' }, { now: deps.now(), embedKey: true })
        const { deviceId } = await gateway.pair(link.server, jwt)
        const state = loadState(home)
        state.devices.push({ deviceId, server: link.server, name, ...(link.account === undefined ? {} : { account: link.account }), privateJwk, pairedAt: deps.now().toISOString() })
        saveState(home, state)
        print({ deviceId, server: link.server, name }, [`Paired ${name} as ${deviceId} with ${link.server}.`])
        return 0
      }
      case 'devices': {
        const devices = loadState(home).devices.map(({ privateJwk: _secret, ...d }) => d)
        print({ devices }, devices.length === 0 ? ['No device paired yet.'] : devices.map((d) => `${d.deviceId}  ${d.name}  ${d.server}${d.account === undefined ? '' : `  (${d.account})`}  paired ${short(d.pairedAt)}`))
        return 0
      }
      case 'pending': {
        const pending = await pendingOf(loadState(home), values.device)
        print({ challenges: pending.map((p) => ({ deviceId: p.device.deviceId, ...p.challenge })) },
          pending.length === 0
            ? ['No pending requests.']
            : [...pending.flatMap((p) => describe(p.challenge)), '', 'Approve with: warden-authenticator approve <challengeId> --number <the number on the sign-in screen>'])
        return 0
      }
      case 'approve': {
        const challengeId = need(args[0], 'the challenge id')
        const number = need(values.number, '--number (the number shown on the sign-in screen)')
        if (!/^[0-9]{2}$/.test(number)) throw new CliError('USAGE', 'approve: --number is the two-digit number shown on the sign-in screen')
        await answer(challengeId, { decision: 'approve', number: Number(number) })
        return 0
      }
      case 'deny':
        await answer(need(args[0], 'the challenge id'), { decision: 'deny', notMe: values['not-me'] === true })
        return 0
      case 'add-totp': {
        const account = parseOtpauthUri(need(args[0], 'the otpauth:// URI'))
        const state = loadState(home)
        state.totp = [...state.totp.filter((a) => a.label !== account.label), account]
        saveState(home, state)
        print({ account: account.label, issuer: account.issuer }, [`Added ${account.label}.`])
        return 0
      }
      case 'code': {
        const wanted = args[0]
        const accounts = loadState(home).totp.filter((a) => wanted === undefined || a.label === wanted || a.label.includes(wanted) || a.issuer === wanted)
        if (accounts.length === 0) throw new CliError('NOT_FOUND', wanted === undefined ? 'no TOTP account yet: run `add-totp <otpauthUri>` first' : `no TOTP account matches ${wanted}`)
        const codes = accounts.map((a) => ({ account: a.label, ...totpCode(a, deps.now()) }))
        print({ codes }, codes.map((c) => `${c.code}  ${c.account}  (${c.validForSec} s left)`))
        return 0
      }
      default:
        deps.err(`unknown command ${command}`)
        deps.err(USAGE)
        return 2
    }
  } catch (err) {
    const code = err instanceof CliError || err instanceof GatewayError ? err.code : 'FAILED'
    const message = err instanceof Error ? err.message : String(err)
    if (code === 'REJECTED') return 1
    if (json) deps.out(JSON.stringify({ error: { code, message } }))
    else deps.err(`${command}: ${message}`)
    return code === 'USAGE' ? 2 : 1
  }
}
