import type { Log } from '@warden/service-kit'
import type { UserMessage, UserNotifier } from '../ports.js'

/** One message as the demo outbox shows it (ARCHITECTURE §5: what a person needs to finish a flow). */
export interface DemoMessage { readonly channel: 'push' | 'sms' | 'webhook', readonly to: string, readonly text: string, readonly sentAt: string }

/**
 * Until factor-push and factor-sms offer a verb that sends a notice to a user's own devices and
 * phones (their data is theirs: the notifier never holds a phone number or a push token), the
 * message goes to the log. In demo mode it is shown whole (console and demo outbox, like the
 * fake SMS provider's codes) and counts as sent by SMS; otherwise only the fact is logged, never
 * the text (its link is a credential), and nobody counts as reached.
 */
export function createConsoleUserNotifier (opts: { log: Pick<Log, 'info'>, demo: boolean, outbox?: (m: DemoMessage) => Promise<void>, now: () => Date }): UserNotifier {
  return {
    push: async () => 0,
    sms: async (message: UserMessage) => {
      if (!opts.demo) {
        opts.log.info({ userId: message.userId, eventId: message.eventId }, 'user notification: no channel to the user configured')
        return 0
      }
      opts.log.info({ userId: message.userId, eventId: message.eventId, demoText: message.text }, 'user notification (demo)')
      await opts.outbox?.({ channel: 'sms', to: message.userId, text: message.text, sentAt: opts.now().toISOString() })
      return 1
    },
  }
}
