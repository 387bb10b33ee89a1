import type { MikroORM } from '@mikro-orm/core';
import { ConfigError, type Config } from '../config';
import type { AppService } from '../identity/apps';
import type { Clock } from '../identity/clock';
import type { Logger } from '../logger';
import { Courier } from './courier';
import { OutboxTransport } from './outbox';
import { SmsWebhookTransport } from './sms-webhook';
import { SmtpTransport } from './smtp';
import type { Transport } from './transport';

export { Courier, type SendRequest, type SendResult } from './courier';
export { registerCourierMetrics } from './metrics';
export { formatOutbox, listOutbox, type OutboxEntry, type OutboxFilter } from './outbox';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './sms-webhook';
export type { DeliveryChannelName, TemplateName, TemplateVars } from './templates';
export type { OutboxChannel } from './transport';
export { retryDelayMs } from './worker';

export interface CourierDeps {
  apps: AppService;
  clock: Clock;
  logger: Logger;
  orm: MikroORM;
  /** Where the development outbox prints (stdout by default). */
  print?: (text: string) => void;
  /** Security events to apps' webhookUrls (SPEC §4.10): one more channel of the outbox. */
  webhook?: Transport;
}

/**
 * Picks each channel's adapter from the configuration (SPEC §6): SMTP_URL → email over SMTP,
 * SMS_WEBHOOK_URL → SMS by webhook; a channel with no provider uses the development outbox,
 * except in production, where it is simply unavailable (sending answers DELIVERY_FAILED).
 */
export function createCourier(config: Config, deps: CourierDeps): Courier {
  const outbox = config.production ? undefined : new OutboxTransport(deps.print);
  const email: Transport | undefined = config.smtpUrl ? new SmtpTransport(config.smtpUrl, config.emailFrom) : outbox;
  const sms: Transport | undefined =
    config.smsWebhookUrl && config.smsWebhookSecret ? new SmsWebhookTransport(config.smsWebhookUrl, config.smsWebhookSecret) : outbox;
  return new Courier({ EMAIL: email, SMS: sms, WEBHOOK: deps.webhook }, deps.apps, deps.clock, deps.logger, deps.orm, {
    pollMs: config.courierPollMs,
    startDelayMs: config.courierStartDelayMs,
    maxAttempts: config.courierMaxAttempts,
    leaseMs: config.courierLeaseMs,
    channelMaxAttempts: { WEBHOOK: config.webhookMaxAttempts },
  });
}

/** NODE_ENV=production has no development outbox: without a real channel codes could never be delivered. */
export function assertDeliveryConfigured(config: Config): void {
  if (!config.production || config.smtpUrl || (config.smsWebhookUrl && config.smsWebhookSecret)) return;
  throw new ConfigError(
    'NODE_ENV=production needs a delivery channel for codes and links: set SMTP_URL (and EMAIL_FROM) ' +
      'or SMS_WEBHOOK_URL and SMS_WEBHOOK_SECRET. The development outbox is off in production.',
  );
}
