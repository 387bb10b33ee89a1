import type { EntityManager } from '@mikro-orm/core';
import { App, OutboxMessage } from '../../db/entities';
import type { SecurityEventRow } from '../../db/security-events';
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
 * Puts each event of an app with a webhookUrl on the outbox, in the event's own transaction
 * (staged with it, or inserted beside it), so an event never exists without its delivery and
 * a crash after the commit loses nothing: the sender (webhook-sender.ts) takes it from there.
 */
export class WebhookOutbox implements EventSink {
  /** Called when a delivery was queued (the sender looks at the outbox soon after). */
  onQueued?: () => void;

  stage(em: EntityManager, tenant: Tenant, event: SecurityEventRow): void {
    em.persist(em.create(OutboxMessage, { ...this.row(tenant, event), app: em.getReference(App, event.appId) }));
    this.onQueued?.();
  }

  async insert(em: EntityManager, tenant: Tenant, event: SecurityEventRow): Promise<void> {
    await em.insert(OutboxMessage, { ...this.row(tenant, event), app: event.appId });
    this.onQueued?.();
  }

  private row(tenant: Tenant, event: SecurityEventRow) {
    return {
      id: event.id,
      channel: 'WEBHOOK' as const,
      to: tenant.settings.webhookUrl!,
      template: WEBHOOK_TEMPLATE,
      subject: null,
      body: webhookPayload(event),
      createdAt: event.at,
    };
  }
}
