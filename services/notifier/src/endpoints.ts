import { deleteWebhook, getWebhook, listActivity, listUserEvents, putWebhook, reportNotMe } from '@warden/contracts'
import { handle, type EndpointHandler } from '@warden/service-kit'
import type { NotifierService } from './service.js'

/**
 * The notifier's contract endpoints. Handlers only call the service: validation (both ends),
 * error envelopes, tracing and outcome counts are serve()'s, which runService applies.
 */
export function notifierEndpoints (notifier: NotifierService): EndpointHandler[] {
  return [
    handle(listActivity, (req) => notifier.activity(req)),
    handle(listUserEvents, (req) => notifier.audit(req)),
    handle(putWebhook, (req) => notifier.putWebhook(req)),
    handle(getWebhook, (req) => notifier.getWebhook(req)),
    handle(deleteWebhook, (req) => notifier.deleteWebhook(req)),
    handle(reportNotMe, (req) => notifier.reportNotMe(req)),
  ]
}
