import type { EntityManager } from '@mikro-orm/core';
import type { AppSettings } from '../config/app-settings';
import { App } from '../db/entities';
import { AppError } from '../errors';
import type { AppService } from '../identity/apps';
import type { Logger } from '../logger';
import { renderTemplate, type DeliveryChannelName, type TemplateName, type TemplateVars } from './templates';
import type { Transport } from './transport';

export interface SendRequest {
  appId: string;
  channel: DeliveryChannelName;
  /** An email address, or an E.164 phone number for SMS. */
  to: string;
  template: TemplateName;
  /** `otp`: code, expiresInSeconds. `password-reset`: link, expiresInSeconds. */
  vars: TemplateVars;
  /** The app's settings when the caller has them (saves a lookup); read from the app otherwise. */
  settings?: AppSettings;
}

export interface SendResult {
  channel: DeliveryChannelName;
  /** Which adapter took it: `smtp`, `sms-webhook`, `outbox`. */
  via: string;
}

const LABEL: Record<DeliveryChannelName, string> = { EMAIL: 'email', SMS: 'SMS' };

/**
 * The notifier (SPEC §6): renders an app's template and hands it to the channel's adapter,
 * synchronously, so the caller knows whether it went out and can undo what it prepared.
 * A failure answers DELIVERY_FAILED naming the channel; the provider's detail goes to the log
 * (never the message text, which carries codes and links).
 */
export class Courier {
  constructor(
    private readonly transports: Partial<Record<DeliveryChannelName, Transport>>,
    private readonly apps: AppService,
    private readonly logger: Logger,
  ) {}

  /** Called after each delivered message (metrics count codes and links sent by channel). */
  onDelivered?: (channel: DeliveryChannelName) => void;

  async send(em: EntityManager, request: SendRequest): Promise<SendResult> {
    const label = LABEL[request.channel];
    const transport = this.transports[request.channel];
    if (!transport) {
      throw new AppError('DELIVERY_FAILED', `Sending by ${label} is not available on this server`);
    }
    const settings = request.settings ?? this.apps.settingsOf(await em.fork().findOneOrFail(App, { id: request.appId }));
    const rendered = renderTemplate(request.template, request.channel, request.vars, settings);
    const meta = { appId: request.appId, channel: request.channel, via: transport.name, template: request.template };
    try {
      await transport.deliver(em, { ...rendered, appId: request.appId, channel: request.channel, to: request.to, template: request.template, fromName: settings.brandName });
    } catch (error) {
      this.logger.warn({ ...meta, cause: describe(error) }, 'message delivery failed');
      throw new AppError('DELIVERY_FAILED', `The ${label} could not be sent; try again later`);
    }
    this.logger.info(meta, 'message delivered');
    this.onDelivered?.(request.channel);
    return { channel: request.channel, via: transport.name };
  }

  async close(): Promise<void> {
    for (const transport of new Set(Object.values(this.transports))) await transport?.close?.();
  }
}

/** The provider's reason, for the log: a message and a code, never a stack or a message body. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300);
  const code = (error as { code?: unknown; responseCode?: unknown }).responseCode ?? (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `; ${error.cause.message}` : '';
  return `${code ? `${String(code)} ` : ''}${error.message}${cause}`.slice(0, 300);
}
