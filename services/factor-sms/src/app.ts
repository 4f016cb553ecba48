import {
  confirmSms, describeSms, enrollSms, notifySms, removeSms, startSms, verifySms,
} from '@warden/contracts'
import { handle, runFactorService, type FactorServiceOverrides, type RunningFactorService } from '@warden/service-kit'
import { SMS_BUCKET, type SmsRecord } from './adapters/store-phone-store.js'
import { loadSmsConfig, SmsConfig } from './config.js'
import { buildSmsDeps } from './deps.js'
import { createSmsService } from './service.js'

export { loadSmsConfig, SmsConfig }

export interface SmsServiceOverrides extends FactorServiceOverrides {
  /** Waits between provider retries (tests move their clock instead of sleeping). */
  readonly sleep?: (ms: number) => Promise<void>
}

/** Starts factor-sms in this process: main.ts runs it, tests call it with a moved clock. */
export async function startSmsService (config: Readonly<SmsConfig>, overrides: SmsServiceOverrides = {}): Promise<RunningFactorService> {
  return runFactorService({
    factor: 'sms',
    description: 'Warden SMS factor: up to 3 phones, codes with a reference number, Vonage',
    configSchema: SmsConfig,
    build: async (ctx) => {
      const sms = createSmsService(buildSmsDeps({
        config: ctx.config,
        redis: ctx.redis,
        store: await ctx.stores.open<SmsRecord>(SMS_BUCKET),
        events: ctx.events,
        attemptGate: ctx.attemptGate,
        metrics: ctx.metrics,
        log: ctx.log,
        clock: ctx.clock,
        ...(overrides.sleep === undefined ? {} : { sleep: overrides.sleep }),
      }))
      return {
        endpoints: [
          handle(describeSms, (req) => sms.describe(req)),
          handle(startSms, (req) => sms.challenge(req)),
          handle(verifySms, (req) => sms.verify(req)),
          handle(enrollSms, (req) => sms.enroll(req)),
          handle(confirmSms, (req) => sms.confirm(req)),
          handle(removeSms, (req) => sms.remove(req)),
          handle(notifySms, (req) => sms.notify(req)),
        ],
        reset: (userId) => sms.reset(userId),
      }
    },
  }, config, overrides)
}
