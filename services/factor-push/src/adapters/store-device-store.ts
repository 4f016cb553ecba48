import { BusError } from '@warden/contracts'
import { storeCalls } from '@warden/service-kit'
import type { Store } from '@warden/store'
import type { Device, DeviceStore } from '../ports.js'

/**
 * What the `factor_push` bucket holds: each device under its user, and an owner index per device
 * (app requests name only the device). The index is written first and removed last, so a device
 * record never exists without it.
 */
export type PushRecord =
  | ({ v: 1, kind: 'device' } & Device)
  | { v: 1, kind: 'owner', userId: string }

export const PUSH_BUCKET = 'factor_push'

const deviceKey = (userId: string, deviceId: string) => ['user', userId, deviceId] as const
const userPrefix = (userId: string) => ['user', userId] as const
const ownerKey = (deviceId: string) => ['owner', deviceId] as const

const { available, compareAndSet } = storeCalls('the device store')

function toDevice (r: PushRecord): Device {
  if (r.kind !== 'device') throw new Error('factor_push: a device key holds another record kind')
  const { v: _v, kind: _kind, ...device } = r
  return device
}

/** The device store on the store port (JetStream KV by default, or MongoDB). Store faults fail closed. */
export function createStoreDeviceStore (store: Store<PushRecord>): DeviceStore {
  const read = async (userId: string, deviceId: string) => available(() => store.get(deviceKey(userId, deviceId)))
  return {
    async list (userId) {
      const entries = await available(() => store.list(userPrefix(userId)))
      return entries.map((e) => toDevice(e.value))
    },
    async get (userId, deviceId) {
      const e = await read(userId, deviceId)
      return e === undefined ? undefined : toDevice(e.value)
    },
    async findOwner (deviceId) {
      const e = await available(() => store.get(ownerKey(deviceId)))
      return e?.value.kind === 'owner' ? e.value.userId : undefined
    },
    async create (device) {
      // Device ids are 128 random bits: a conflict here is a bug, not a race to win.
      await available(() => store.create(ownerKey(device.deviceId), { v: 1, kind: 'owner', userId: device.userId }))
      await available(() => store.create(deviceKey(device.userId, device.deviceId), { v: 1, kind: 'device', ...device }))
    },
    async update (userId, deviceId, change) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const e = await read(userId, deviceId)
        if (e === undefined) return undefined
        const next = change(toDevice(e.value))
        if (await compareAndSet(() => store.update(deviceKey(userId, deviceId), { v: 1, kind: 'device', ...next }, e.revision))) return next
      }
      throw new BusError('CONFLICT', 'the device changed while it was updated: try again')
    },
    async remove (userId, deviceId) {
      const e = await read(userId, deviceId)
      if (e === undefined) return undefined
      await available(() => store.delete(deviceKey(userId, deviceId)))
      await available(() => store.delete(ownerKey(deviceId)))
      return toDevice(e.value)
    },
    async removeAll (userId) {
      const entries = await available(() => store.list(userPrefix(userId)))
      const devices = entries.map((e) => toDevice(e.value))
      for (const d of devices) {
        await available(() => store.delete(deviceKey(userId, d.deviceId)))
        await available(() => store.delete(ownerKey(d.deviceId)))
      }
      return devices
    },
  }
}
