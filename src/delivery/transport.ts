import type { DeliveryChannelName } from './templates';

/** What an outbox row goes out by: a rendered message's channel, or WEBHOOK (an app's security event, SPEC §4.10). */
export type OutboxChannel = DeliveryChannelName | 'WEBHOOK';

/** One rendered message on its way out (read from its outbox row). */
export interface OutgoingMessage {
  appId: string;
  channel: OutboxChannel;
  to: string;
  template: string;
  /** Display name for the sender (the app's brand); email only. */
  fromName: string;
  subject: string | null;
  body: string;
}

/** A delivery channel adapter: SMTP, the SMS webhook, or the development outbox. */
export interface Transport {
  /** For logs: `smtp`, `sms-webhook`, `outbox`. Never carries provider credentials. */
  readonly name: string;
  /** The development outbox keeps a delivered message's text in its row (to be read); providers do not. */
  readonly keepsBody?: boolean;
  /** Resolves once the provider accepted the message; throws otherwise (the courier retries). */
  deliver(message: OutgoingMessage): Promise<void>;
  close?(): Promise<void> | void;
}
