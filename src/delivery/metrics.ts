import type { MikroORM } from '@mikro-orm/core';
import { Counter, Gauge, type Registry } from 'prom-client';
import { OutboxMessage } from '../db/entities';
import type { Courier } from './courier';

/**
 * The courier's Prometheus metrics, on the gateway's registry:
 * - `gatehouse_outbox_failed_total{channel}`: messages this instance marked failed (retries used up, or the code expired first);
 * - `gatehouse_outbox_retries_total{channel}`: failed attempts that will be retried;
 * - `gatehouse_outbox_pending`: messages waiting or being sent, all instances (one indexed count per scrape).
 * Delivered messages count in `gatehouse_codes_sent_total{channel}`. Failed ones are listed by `gatehouse outbox --failed`.
 */
export function registerCourierMetrics(registry: Registry, courier: Courier, orm: MikroORM): void {
  const registers = [registry];
  const failed = new Counter({ name: 'gatehouse_outbox_failed_total', help: 'Messages marked failed after their last attempt, by channel', labelNames: ['channel'] as const, registers });
  const retries = new Counter({ name: 'gatehouse_outbox_retries_total', help: 'Delivery attempts that failed and will be retried, by channel', labelNames: ['channel'] as const, registers });
  new Gauge({
    name: 'gatehouse_outbox_pending',
    help: 'Outbox messages waiting for delivery or being sent (all instances)',
    registers,
    async collect() {
      try {
        this.set(await orm.em.fork().count(OutboxMessage, { status: { $in: ['pending', 'sending'] } }));
      } catch {
        // The database is away: the scrape still answers (with the last value); /readyz says why.
      }
    },
  });
  courier.onFailed = (channel) => failed.inc({ channel: channel.toLowerCase() });
  courier.onRetry = (channel) => retries.inc({ channel: channel.toLowerCase() });
}
