import type { EntityManager } from '@mikro-orm/core';

/** A security_event row as written (identity/events.ts builds it). */
export interface SecurityEventRow {
  id: string;
  appId: string;
  type: string;
  userId: string | null;
  ip: string | null;
  at: Date;
  detail: Record<string, unknown>;
}

/**
 * The one statement that records a security event outside a flush: one insert, in `em`'s
 * transaction when there is one. Login failures and lockouts (the hot path) use it; kept here,
 * beside the other storage statements, so it can become a prepared statement with them.
 */
export async function insertSecurityEvent(em: EntityManager, row: SecurityEventRow): Promise<void> {
  await em.getConnection().execute(
    'insert into security_event (id, app_id, type, user_id, ip, at, detail) values (?, ?, ?, ?, ?, ?, ?)',
    [row.id, row.appId, row.type, row.userId, row.ip, em.getPlatform().processDateProperty(row.at), JSON.stringify(row.detail)],
    'run',
    em.getTransactionContext(),
  );
}
