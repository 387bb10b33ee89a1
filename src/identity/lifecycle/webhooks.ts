import type { EntityManager } from '@mikro-orm/core';
import { App, OutboxMessage } from '../../db/entities';
import type { SecurityEventRow } from '../../db/security-events';
import type { Courier } from '../../delivery';
import type { EventSink } from '../events';
import type { Tenant } from '../users';

/** The outbox template name of a webhook delivery. */
export const WEBHOOK_TEMPLATE = 'security-event';

/**
 * The body POSTed to the app's webhookUrl (SPEC §4.10), exactly the bytes that are signed:
 * `{ id, type, appId, userId, at, data }`. `id` is the event's: a receiver that sees it twice
 * (delivery is at least once) keeps the first.
 */
export function webhookPayload(event: SecurityEventRow): string {
  return JSON.stringify({ id: event.id, type: event.type, appId: event.appId, userId: event.userId, at: event.at.toISOString(), data: event.detail });
}

/**
 * Puts each event of an app with a webhookUrl on the courier's outbox as a WEBHOOK message, in
 * the event's own transaction (staged with it, or inserted beside it): an event never exists
 * without its delivery, and a crash after the commit loses nothing. The courier's worker sends
 * it (delivery/webhook.ts), at least once, with its retries and backoff, and marks it failed
 * after the last (`gatehouse outbox --failed`, `gatehouse_outbox_failed_total{channel="webhook"}`).
 */
export class WebhookOutbox implements EventSink {
  constructor(private readonly courier: Courier) {}

  stage(em: EntityManager, tenant: Tenant, event: SecurityEventRow): void {
    em.persist(em.create(OutboxMessage, { ...this.row(tenant, event), app: em.getReference(App, event.appId) }));
    this.courier.wakeAfterCommit(em);
  }

  async insert(em: EntityManager, tenant: Tenant, event: SecurityEventRow): Promise<void> {
    await em.insert(OutboxMessage, { ...this.row(tenant, event), app: event.appId });
    this.courier.wakeAfterCommit(em);
  }

  private row(tenant: Tenant, event: SecurityEventRow) {
    return {
      id: event.id,
      channel: 'WEBHOOK' as const,
      to: tenant.settings.webhookUrl!,
      template: WEBHOOK_TEMPLATE,
      subject: null,
      body: webhookPayload(event),
      fromName: '',
      createdAt: event.at,
      status: 'pending' as const,
      attempts: 0,
      nextAttemptAt: event.at,
      carrierId: null,
      expiresAt: null,
    };
  }
}
