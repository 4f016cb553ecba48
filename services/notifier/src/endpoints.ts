import type { Service } from '@nats-io/services'
import { deleteWebhook, getWebhook, listActivity, listUserEvents, putWebhook, reportNotMe } from '@warden/contracts'
import { serve, type Log } from '@warden/contracts/nats'
import type { Metrics } from '@warden/service-kit'
import type { NotifierService } from './service.js'

/**
 * The notifier's contract endpoints on its NATS micro service. Handlers only call the service:
 * validation (both ends), error envelopes, tracing and outcome counts are serve()'s.
 */
export function serveNotifier (service: Service, notifier: NotifierService, log: Log, metrics: Metrics): void {
  serve(service, listActivity, (req) => notifier.activity(req), log, metrics)
  serve(service, listUserEvents, (req) => notifier.audit(req), log, metrics)
  serve(service, putWebhook, (req) => notifier.putWebhook(req), log, metrics)
  serve(service, getWebhook, (req) => notifier.getWebhook(req), log, metrics)
  serve(service, deleteWebhook, (req) => notifier.deleteWebhook(req), log, metrics)
  serve(service, reportNotMe, (req) => notifier.reportNotMe(req), log, metrics)
}
