import type { EntityManager } from '@mikro-orm/core';
import type { DeliveryChannelName } from './templates';

/** One rendered message on its way out. */
export interface OutgoingMessage {
  appId: string;
  channel: DeliveryChannelName;
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
  /** Resolves once the provider accepted the message; throws otherwise. */
  deliver(em: EntityManager, message: OutgoingMessage): Promise<void>;
  close?(): Promise<void> | void;
}
