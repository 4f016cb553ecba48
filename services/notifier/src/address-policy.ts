import { BlockList, isIP } from 'node:net'

/**
 * Where webhooks may go (SSRF guard). Pure: the sender applies it to the addresses a name
 * resolves to, the service to URLs as they are configured.
 */
export interface AddressPolicy {
  /** Production mode: https only. */
  readonly requireHttps: boolean
  /** Demo mode: loopback receivers (a local test server) are fine. */
  readonly allowLoopback: boolean
  /** Networks allowed although private (e.g. an internal SIEM), from config. */
  readonly allowed: BlockList
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

// Not on the public internet: private, shared, link-local (cloud metadata at 169.254.169.254),
// unspecified, documentation, benchmarking, multicast and reserved ranges.
const NOT_PUBLIC = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['::', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(net, bits, 'ipv6')

/** Parses `10.0.0.0/8, fd00::/8` (addresses without a prefix length are single hosts). */
export function parseNetworks (spec: string): BlockList {
  const list = new BlockList()
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [address = '', bits] = part.split('/')
    const family = isIP(address)
    if (family === 0) throw new Error(`allowed networks: ${JSON.stringify(part)} is not an address or CIDR`)
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (bits === undefined) { list.addAddress(address, type); continue }
    const prefix = Number(bits)
    if (!/^[0-9]{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`allowed networks: ${JSON.stringify(part)} has a bad prefix length`)
    list.addSubnet(address, prefix, type)
  }
  return list
}

export function addressPolicy (opts: { demoMode: boolean, allowedNetworks?: string }): AddressPolicy {
  return { requireHttps: !opts.demoMode, allowLoopback: opts.demoMode, allowed: parseNetworks(opts.allowedNetworks ?? '') }
}

/** `::ffff:127.0.0.1` and `::ffff:7f00:1` are IPv4 addresses in disguise: judge them as such. */
function unmapped (address: string): { address: string, type: 'ipv4' | 'ipv6' } {
  const lower = address.toLowerCase()
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:([0-9.]+)$/.exec(lower)
  if (dotted?.[1] !== undefined && isIP(dotted[1]) === 4) return { address: dotted[1], type: 'ipv4' }
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
  if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const hi = parseInt(hex[1], 16)
    const lo = parseInt(hex[2], 16)
    return { address: [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.'), type: 'ipv4' }
  }
  return { address, type: isIP(address) === 4 ? 'ipv4' : 'ipv6' }
}

/** Why a webhook may not be sent to `address` (an IP literal), or undefined if it may. */
export function refuseAddress (address: string, policy: AddressPolicy): string | undefined {
  if (isIP(address) === 0) return 'not an IP address'
  const a = unmapped(address)
  if (policy.allowed.check(a.address, a.type)) return undefined
  if (LOOPBACK.check(a.address, a.type)) return policy.allowLoopback ? undefined : 'loopback address refused'
  if (NOT_PUBLIC.check(a.address, a.type)) return 'private, link-local or reserved address refused'
  return undefined
}

/** Why `url` may not be a webhook URL, or undefined if it may (the sender checks names again once resolved). */
export function refuseUrl (url: string, policy: AddressPolicy): string | undefined {
  let u: URL
  try { u = new URL(url) } catch { return 'not an absolute URL' }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'only http(s) URLs'
  if (policy.requireHttps && u.protocol !== 'https:') return 'https is required'
  if (u.username !== '' || u.password !== '') return 'credentials in the URL are not allowed'
  if (u.hash !== '') return 'a fragment is not allowed'
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  if (host === '') return 'no host'
  if (isIP(host) !== 0) return refuseAddress(host, policy)
  if (host === 'localhost' || host.endsWith('.localhost')) return refuseAddress('127.0.0.1', policy)
  return undefined
}
