import type { EntityManager } from '@mikro-orm/core';
import { OutboxMessage, type OutboxStatus } from '../db/entities';
import { badInput } from '../errors';
import { isUuid } from '../identity/apps';
import type { OutgoingMessage, Transport } from './transport';

/**
 * The development outbox (SPEC §6): with no provider configured for a channel, "delivering" a
 * message prints it to stdout — not to the JSON log, which never carries a code — and its row
 * stays readable with `gatehouse outbox`. Never used in production (see assertDeliveryConfigured).
 */
export class OutboxTransport implements Transport {
  readonly name = 'outbox';
  /** Its rows keep their text: reading them is the point. */
  readonly keepsBody = true;

  constructor(private readonly print: (text: string) => void = (text) => process.stdout.write(text)) {}

  async deliver(message: OutgoingMessage): Promise<void> {
    const head = `[gatehouse outbox] ${message.channel} to ${message.to} (app ${message.appId}, ${message.template})`;
    this.print(`\n${head}\n${message.subject ? `Subject: ${message.subject}\n` : ''}${message.body.trimEnd()}\n\n`);
  }
}

export interface OutboxFilter {
  appId?: string;
  to?: string;
  /** Only messages in this state (`--failed`: failed). */
  status?: OutboxStatus;
  limit?: number;
}

export interface OutboxEntry {
  id: string;
  appId: string;
  channel: OutboxMessage['channel'];
  to: string;
  template: string;
  subject: string | null;
  /** Empty once a real provider took the message or it failed (codes do not stay in the database). */
  body: string;
  createdAt: string;
  status: OutboxStatus;
  attempts: number;
  via: string | null;
  deliveredAt: string | null;
  lastError: string | null;
}

/** `gatehouse outbox`: the newest messages (oldest first), by app, recipient (email in any case) and state. */
export async function listOutbox(em: EntityManager, filter: OutboxFilter = {}): Promise<OutboxEntry[]> {
  const limit = filter.limit ?? 50;
  if (filter.appId !== undefined && !isUuid(filter.appId)) throw badInput('app', 'the app id must be a UUID such as the one `gatehouse app create` printed');
  const where: Record<string, unknown> = {};
  if (filter.appId) where.app = filter.appId;
  if (filter.status) where.status = filter.status;
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
      status: row.status,
      attempts: row.attempts,
      via: row.via ?? null,
      deliveredAt: row.deliveredAt?.toISOString() ?? null,
      lastError: row.lastError ?? null,
    }));
}

export function formatOutbox(entries: OutboxEntry[], empty = 'The outbox is empty.'): string {
  if (!entries.length) return empty;
  return entries
    .map((e) => {
      const state = e.status === 'delivered' ? `delivered via ${e.via}` : e.status === 'failed' ? `FAILED after ${e.attempts} attempt(s): ${e.lastError ?? 'unknown'}` : `${e.status}, ${e.attempts} attempt(s)${e.lastError ? `, last: ${e.lastError}` : ''}`;
      return [`── ${e.createdAt}  ${e.channel} to ${e.to}  (app ${e.appId}, ${e.template}; ${state})`, e.subject ? `Subject: ${e.subject}` : null, e.body.trimEnd() || null]
        .filter(Boolean)
        .join('\n');
    })
    .join('\n\n');
}
