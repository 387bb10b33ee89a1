import type { EntityManager } from '@mikro-orm/core';
import { OutboxMessage } from '../db/entities';
import { badInput } from '../errors';
import { isUuid } from '../identity/apps';
import type { Clock } from '../identity/clock';
import { newId } from '../identity/secrets';
import type { OutgoingMessage, Transport } from './transport';

/**
 * The development outbox (SPEC §6): with no provider configured for a channel, messages are
 * stored in the database (read them with `gatehouse outbox`) and printed to stdout — not to the
 * JSON log, which never carries a code. Never used in production (see assertDeliveryConfigured).
 */
export class OutboxTransport implements Transport {
  readonly name = 'outbox';

  constructor(
    private readonly clock: Clock,
    private readonly print: (text: string) => void = (text) => process.stdout.write(text),
  ) {}

  async deliver(em: EntityManager, message: OutgoingMessage): Promise<void> {
    const fork = em.fork();
    fork.create(OutboxMessage, {
      id: newId(),
      app: message.appId,
      channel: message.channel,
      to: message.to.slice(0, 254),
      template: message.template,
      subject: message.subject,
      body: message.body,
      createdAt: this.clock.now(),
    });
    await fork.flush();
    const head = `[gatehouse outbox] ${message.channel} to ${message.to} (app ${message.appId}, ${message.template})`;
    this.print(`\n${head}\n${message.subject ? `Subject: ${message.subject}\n` : ''}${message.body.trimEnd()}\n\n`);
  }
}

export interface OutboxFilter {
  appId?: string;
  to?: string;
  limit?: number;
}

export interface OutboxEntry {
  id: string;
  appId: string;
  channel: OutboxMessage['channel'];
  to: string;
  template: string;
  subject: string | null;
  body: string;
  createdAt: string;
}

/** `gatehouse outbox`: the newest messages (oldest first), by app and recipient (email in any case). */
export async function listOutbox(em: EntityManager, filter: OutboxFilter = {}): Promise<OutboxEntry[]> {
  const limit = filter.limit ?? 50;
  if (filter.appId !== undefined && !isUuid(filter.appId)) throw badInput('app', 'the app id must be a UUID such as the one `gatehouse app create` printed');
  const where: Record<string, unknown> = {};
  if (filter.appId) where.app = filter.appId;
  const to = filter.to?.trim().toLowerCase();
  const rows = await em.find(OutboxMessage, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: to ? 5000 : limit });
  return rows
    .filter((row) => !to || row.to.toLowerCase() === to || row.to.replace(/[\s()-]/g, '') === to.replace(/[\s()-]/g, ''))
    .slice(0, limit)
    .reverse()
    .map((row) => ({
      id: row.id,
      appId: row.app.id,
      channel: row.channel,
      to: row.to,
      template: row.template,
      subject: row.subject ?? null,
      body: row.body,
      createdAt: row.createdAt.toISOString(),
    }));
}

export function formatOutbox(entries: OutboxEntry[]): string {
  if (!entries.length) return 'The outbox is empty.';
  return entries
    .map((e) => [`── ${e.createdAt}  ${e.channel} to ${e.to}  (app ${e.appId}, ${e.template})`, e.subject ? `Subject: ${e.subject}` : null, e.body.trimEnd()].filter(Boolean).join('\n'))
    .join('\n\n');
}
