import { randomUUID } from 'node:crypto'
import { deleteApp, initializeApp } from 'firebase-admin/app'
import { getMessaging } from 'firebase-admin/messaging'
import t from 'tap'
import { startFakeFcm } from '../src/fake-fcm.js'

t.test('firebase-admin sends to the fake over HTTPS, and gets the scripted FCM errors back', async (t) => {
  const fcm = await startFakeFcm(t, { projectId: 'demo-warden' })
  const app = initializeApp({ projectId: fcm.projectId, credential: fcm.credential, httpAgent: fcm.agent }, `fake-fcm-${randomUUID()}`)
  t.teardown(() => deleteApp(app))
  const messaging = getMessaging(app)

  const name = await messaging.send({ token: 'token-1', data: { challengeId: 'pch_1' }, android: { ttl: 90_000, priority: 'high' } })
  t.equal(name, 'projects/demo-warden/messages/fake-1')
  t.match(fcm.requests[0], {
    method: 'POST',
    host: 'fcm.googleapis.com',
    path: '/v1/projects/demo-warden/messages:send',
    authorization: 'Bearer fake-fcm-access-token',
    message: { token: 'token-1', data: { challengeId: 'pch_1' }, android: { ttl: '90s', priority: 'high' } },
    outcome: 'ok',
  })

  fcm.respond('token-2', 'UNREGISTERED', 'QUOTA_EXCEEDED', 'INTERNAL', 'INVALID_ARGUMENT')
  const codes: string[] = []
  for (let i = 0; i < 4; i++) {
    try {
      await messaging.send({ token: 'token-2', data: {} })
      codes.push('ok')
    } catch (err) {
      codes.push(String((err as { code?: unknown }).code))
    }
  }
  t.same(codes, ['messaging/registration-token-not-registered', 'messaging/message-rate-exceeded', 'messaging/internal-error', 'messaging/invalid-argument'])
  t.equal(await messaging.send({ token: 'token-2', data: {} }), 'projects/demo-warden/messages/fake-2', 'ok once the script is used up')
  t.same(fcm.requests.map((r) => r.outcome), ['ok', 'UNREGISTERED', 'QUOTA_EXCEEDED', 'INTERNAL', 'INVALID_ARGUMENT', 'ok'])
})

t.test('refuses a wrong access token and another project', async (t) => {
  const fcm = await startFakeFcm(t)
  const wrong = initializeApp({
    projectId: fcm.projectId, httpAgent: fcm.agent,
    credential: { getAccessToken: async () => ({ access_token: 'someone-else', expires_in: 3600 }) },
  }, `fake-fcm-${randomUUID()}`)
  const other = initializeApp({ projectId: 'other-project', credential: fcm.credential, httpAgent: fcm.agent }, `fake-fcm-${randomUUID()}`)
  t.teardown(async () => { await deleteApp(wrong); await deleteApp(other) })
  await t.rejects(getMessaging(wrong).send({ token: 'x', data: {} }), { code: 'messaging/third-party-auth-error' })
  await t.rejects(getMessaging(other).send({ token: 'x', data: {} }), { code: /^messaging\// })
  t.same(fcm.requests, [], 'neither counted as a send')
})
