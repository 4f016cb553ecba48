import type { Service } from '@nats-io/services'
import { confirmTotp, describeTotp, enrollTotp, removeTotp, verifyTotp } from '@warden/contracts'
import { serve, type Log } from '@warden/contracts/nats'
import type { Metrics } from '@warden/service-kit'
import type { TotpService } from './service.js'

/**
 * The five contract endpoints of factor-totp on one NATS micro service. Handlers only call the
 * service: validation, error envelopes and tracing are serve()'s.
 */
export function serveTotp (service: Service, totp: TotpService, log: Log, metrics?: Metrics): void {
  serve(service, describeTotp, (req) => totp.describe(req), log)
  serve(service, enrollTotp, (req) => totp.enroll(req), log)
  serve(service, confirmTotp, async (req) => {
    const res = await totp.confirm(req)
    metrics?.inc('totp_confirm_total', { result: res.result === 'confirmed' ? 'confirmed' : res.reason })
    return res
  }, log)
  serve(service, verifyTotp, async (req) => {
    const res = await totp.verify(req)
    metrics?.inc('totp_verify_total', { result: res.result === 'verified' ? 'verified' : res.reason })
    return res
  }, log)
  serve(service, removeTotp, (req) => totp.remove(req), log)
}
