// The ceremonies the service tests share: the service on in-memory fakes, and enrolling and
// signing in with a software authenticator (testkit), as a browser would.
import { randomBytes } from 'node:crypto'
import {
  createSoftAuthenticator, type CreateOverrides, type CreationOptionsJSON, type GetOverrides, type RequestOptionsJSON,
  type SoftAuthenticator, type SoftAuthenticatorOptions,
} from '@warden/testkit'
import type { WebauthnOptionsRequest as OptionsRequest } from '@warden/contracts'
import { createWebauthnService, type WebauthnService } from '../src/service.js'
import { fakeDeps, ORIGIN, type FakeOptions } from './fakes.js'

export const flowId = (): string => `txn_${randomBytes(32).toString('base64url')}`
export const key = (o: Partial<SoftAuthenticatorOptions> = {}): SoftAuthenticator => createSoftAuthenticator({ origin: ORIGIN, ...o })

export function setup (opts: FakeOptions = {}) {
  const f = fakeDeps(opts)
  return { ...f, svc: createWebauthnService(f.deps) }
}

export async function enroll (svc: WebauthnService, userId: string, auth: SoftAuthenticator, o: CreateOverrides = {}, name = 'YubiKey 5') {
  const { options } = await svc.enroll({ userId })
  return svc.confirm({ userId, name, response: auth.create(options as CreationOptionsJSON, o) })
}

export async function enrolled (svc: WebauthnService, userId: string, auth: SoftAuthenticator) {
  const res = await enroll(svc, userId, auth)
  if (res.result !== 'registered') throw new Error(`registration failed: ${res.reason}`)
  return res.credential
}

export async function signIn (svc: WebauthnService, userId: string, auth: SoftAuthenticator, o: GetOverrides = {}, req: Partial<OptionsRequest> = {}) {
  const flow = flowId()
  const { options } = await svc.options({ userId, flowId: flow, ...req })
  const response = auth.get(options as RequestOptionsJSON, o)
  return { flow, response, result: await svc.verify({ userId, flowId: flow, response }) }
}
