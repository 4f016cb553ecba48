// The factor-change hook as every strategy reaches it (RouteContext.factorChanges, made by
// routes/v1/me.ts selfServiceHooks over factor-changes.ts): what the step-up preHandler accepted
// decides whether a binding is the user's first factor; every binding and removal revokes the
// remembered devices. In memory: the stores and the self-service are fakes, the clock is manual.
import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { createLogger } from '@warden/service-kit'
import { manualClock, uniqueUserId } from '@warden/testkit'
import { createFactorChanges } from '../src/factor-changes.js'
import type { RememberDeviceStore, Revocation } from '../src/ports.js'
import { selfServiceHooks } from '../src/routes/v1/me.js'
import type { SelfService, StepUpShown } from '../src/self-service.js'

const clock = manualClock(new Date('2026-03-01T10:00:00.000Z'))
const log = createLogger({ name: 'test', level: 'silent' })

function world () {
  const cutoffs = new Map<string, number>()
  const devicesRevoked: string[] = []
  const revocation: Revocation = {
    validAfter: async (userId) => cutoffs.get(userId),
    revokeIssuedUpTo: async (userId, at) => {
      const next = Math.max(cutoffs.get(userId) ?? 0, at.getTime())
      cutoffs.set(userId, next)
      return next
    },
  }
  const rememberedDevices = { revokeAll: async (userId: string) => { devicesRevoked.push(userId); return 1 } } as unknown as RememberDeviceStore
  let shown: StepUpShown = 'mfa'
  const self = { requireStepUp: async () => shown } as unknown as SelfService
  const hooks = selfServiceHooks(self, createFactorChanges({ revocation, rememberedDevices, clock, log }))
  return { hooks, cutoffs, devicesRevoked, show: (s: StepUpShown) => { shown = s } }
}

const requestOf = (userId: string) => ({ principal: { sub: userId, clientId: 'app', accountName: userId }, headers: {} }) as unknown as FastifyRequest
const confirmed = async () => ({ result: 'confirmed' as const })
const refused = async () => ({ result: 'rejected' as const })
const isBound = (r: { result: string }) => r.result === 'confirmed'

t.test('a binding let through by a fresh MFA token is not a first factor: no cutoff; the devices go', async (t) => {
  const w = world()
  const userId = uniqueUserId()
  const req = requestOf(userId)
  w.show('mfa')
  await w.hooks.enrollStepUp(req)
  t.same(await w.hooks.factorChanges.bind(req, 'totp', confirmed, isBound), { result: 'confirmed' })
  t.equal(w.cutoffs.get(userId), undefined, 'the MFA token that authorised it stays good')
  t.same(w.devicesRevoked, [userId])
})

t.test('a binding let through by an enrollment token, or by nothing (no 2FA), is a first factor: the cutoff moves', async (t) => {
  for (const shown of ['enrollment', 'none'] as const) {
    const w = world()
    const userId = uniqueUserId()
    const req = requestOf(userId)
    w.show(shown)
    await w.hooks.enrollStepUp(req)
    await w.hooks.factorChanges.bind(req, 'sms', confirmed, isBound)
    t.equal(w.cutoffs.get(userId), clock.now().getTime(), `${shown}: tokens issued up to now are revoked`)
    t.same(w.devicesRevoked, [userId])
  }
})

t.test('a binding with no step-up preHandler before it counts as a first factor (the safe side)', async (t) => {
  const w = world()
  const userId = uniqueUserId()
  await w.hooks.factorChanges.bind(requestOf(userId), 'webauthn', confirmed, isBound)
  t.equal(w.cutoffs.get(userId), clock.now().getTime())
})

t.test('a refused binding (a wrong code) revokes no device; a first one has still moved the cutoff before asking', async (t) => {
  const w = world()
  const userId = uniqueUserId()
  const req = requestOf(userId)
  w.show('enrollment')
  await w.hooks.enrollStepUp(req)
  t.same(await w.hooks.factorChanges.bind(req, 'totp', refused, isBound), { result: 'rejected' })
  t.equal(w.cutoffs.get(userId), clock.now().getTime())
  t.same(w.devicesRevoked, [])
})

t.test('a removal revokes the devices whatever the factor answered, and moves no cutoff', async (t) => {
  const w = world()
  const userId = uniqueUserId()
  const req = requestOf(userId)
  await w.hooks.stepUp(req)
  t.same(await w.hooks.factorChanges.remove(req, 'push', async () => ({ removed: false })), { removed: false })
  t.same(w.devicesRevoked, [userId])
  t.equal(w.cutoffs.get(userId), undefined)
})

t.test('what one request was shown does not leak into another', async (t) => {
  const w = world()
  const userId = uniqueUserId()
  const withMfa = requestOf(userId)
  w.show('mfa')
  await w.hooks.enrollStepUp(withMfa)
  await w.hooks.factorChanges.bind(requestOf(userId), 'totp', confirmed, isBound)
  t.equal(w.cutoffs.get(userId), clock.now().getTime(), 'the other request had no MFA token behind it')
})
