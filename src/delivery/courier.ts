import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { AppSettings } from '../config/app-settings';
import { App } from '../db/entities';
import { HotStore, type NewOutboxMessage } from '../db/fast';
import { afterCommit } from '../db/transaction';
import { AppError } from '../errors';
import type { AppService } from '../identity/apps';
import type { Clock } from '../identity/clock';
import { newId } from '../identity/secrets';
import type { Logger } from '../logger';
import { renderTemplate, type DeliveryChannelName, type TemplateName, type TemplateVars } from './templates';
import type { OutboxChannel, Transport } from './transport';
import { OutboxWorker, type WorkerOptions } from './worker';

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
  /** The code (otp_challenge id) or token (single_use_token id) the message carries: dead if it cannot be delivered. */
  carrierId?: string;
  /** When that code or link expires: the message is not sent after this. */
  expiresAt?: Date;
}

export interface SendResult {
  channel: DeliveryChannelName;
  /** Which adapter will take it: `smtp`, `sms-webhook`, `outbox`. */
  via: string;
  /** Its outbox row. */
  messageId: string;
}

const LABEL: Record<DeliveryChannelName, string> = { EMAIL: 'email', SMS: 'SMS' };

/**
 * The courier (SPEC §6; Kratos's courier is the model). `send` renders the app's template and
 * writes the message to the outbox table *in the caller's transaction*, so a message exists
 * exactly when the code, token or account it belongs to does; nothing is sent in the request.
 * The worker (worker.ts) delivers it after the commit: at least once, retried with backoff,
 * marked failed after its last attempt (the code it carried then dies). The only failure a
 * request sees is the one it can know: no adapter for the channel (DELIVERY_FAILED).
 *
 *   await inTransaction(em, async () => {
 *     … write the code or token …
 *     await services.courier.send(em, { appId, channel: 'EMAIL', to, template: 'otp', vars: { code, expiresInSeconds } });
 *   });
 */
export class Courier {
  /** Called after each delivered message (metrics count codes and links sent by channel). */
  onDelivered?: (channel: OutboxChannel) => void;
  /** Called after a failed attempt that will be retried. */
  onRetry?: (channel: OutboxChannel) => void;
  /** Called when a message is marked failed for good. */
  onFailed?: (channel: OutboxChannel) => void;

  private readonly worker: OutboxWorker;

  constructor(
    private readonly transports: Partial<Record<OutboxChannel, Transport>>,
    private readonly apps: AppService,
    private readonly clock: Clock,
    logger: Logger,
    orm: MikroORM,
    options: WorkerOptions,
  ) {
    this.worker = new OutboxWorker(transports, clock, logger, orm, options, {
      delivered: (channel) => this.onDelivered?.(channel),
      retried: (channel) => this.onRetry?.(channel),
      failed: (channel) => this.onFailed?.(channel),
    });
  }

  /**
   * Queues a message: one outbox row written with `em` — inside the caller's transaction when
   * there is one (it commits or rolls back with it), at once otherwise. The worker of this
   * process is woken as soon as that row is committed.
   */
  async send(em: EntityManager, request: SendRequest): Promise<SendResult> {
    const message = await this.compose(em, request);
    await HotStore.of(em).insertOutbox(em, message);
    this.queued(em, message);
    return { channel: request.channel, via: this.transports[request.channel]!.name, messageId: message.id };
  }

  /**
   * The outbox row send() would write, rendered but not written: for a caller that writes it in
   * one prepared plan with what it carries (a one-time code: HotStore.writeOtp), then calls
   * queued(). Refuses at once when no adapter can take the channel (DELIVERY_FAILED).
   *
   * When this process's worker is delivering, the row is claimed for it already (`sending`, its
   * first attempt leased): after the commit it goes to the worker from memory, with no pass to
   * read it and no claim to write (OutboxWorker.handOff).
   */
  async compose(em: EntityManager, request: SendRequest): Promise<NewOutboxMessage> {
    if (!this.transports[request.channel]) {
      throw new AppError('DELIVERY_FAILED', `Sending by ${LABEL[request.channel]} is not available on this server`);
    }
    const settings = request.settings ?? this.apps.settingsOf(await em.findOneOrFail(App, { id: request.appId }));
    const rendered = renderTemplate(request.template, request.channel, request.vars, settings);
    const now = this.clock.now();
    return {
      id: newId(),
      appId: request.appId,
      channel: request.channel,
      to: request.to.slice(0, 254),
      template: request.template,
      subject: rendered.subject,
      body: rendered.body,
      fromName: settings.brandName,
      createdAt: now,
      nextAttemptAt: now,
      lockedUntil: this.worker.handOffLease(now),
      carrierId: request.carrierId ?? null,
      expiresAt: request.expiresAt ?? null,
    };
  }

  /**
   * A composed message was written with `em`: once its transaction has committed (at once
   * without one), the worker gets it — from memory when compose() claimed it, else woken to
   * read the outbox.
   */
  queued(em: EntityManager, message: NewOutboxMessage): void {
    if (message.lockedUntil) afterCommit(em, () => this.worker.handOff(message));
    else this.wakeAfterCommit(em);
  }

  /**
   * Wakes the worker once `em`'s transaction has committed (at once without one), for rows a
   * module writes to the outbox itself: webhook deliveries (identity/lifecycle/webhooks.ts).
   * After this turn of the event loop: the answer goes out before the worker's queries.
   */
  wakeAfterCommit(em: EntityManager): void {
    afterCommit(em, () => this.worker.wakeSoon());
  }

  /** Whether this gateway can deliver by `channel` (a WEBHOOK transport is always there in a gateway). */
  canDeliver(channel: OutboxChannel): boolean {
    return Boolean(this.transports[channel]);
  }

  /** Starts delivering (createGateway; the CLI never does). */
  start(): void {
    this.worker.start();
  }

  /** Runs the worker now and resolves once it is idle: every message due now had its attempt (tests). */
  drain(): Promise<void> {
    return this.worker.drain();
  }

  /** Resolves once the worker is idle (what it was woken for is done). */
  settled(): Promise<void> {
    return this.worker.settled();
  }

  /** Stops polling, lets deliveries in flight finish (and what this process just queued go out), closes the adapters. */
  async close(): Promise<void> {
    await this.worker.close();
    for (const transport of new Set(Object.values(this.transports))) await transport?.close?.();
  }
}
