import type { EntityManager } from '@mikro-orm/core';
import { HotStore } from './fast';

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
 * The one statement that records a security event outside a flush: one prepared insert
 * (db/fast), in `em`'s transaction when there is one. Failed logins and lockouts — the hot
 * path — use it.
 */
export async function insertSecurityEvent(em: EntityManager, row: SecurityEventRow): Promise<void> {
  await HotStore.of(em).insertSecurityEvent(em, { ...row, detail: JSON.stringify(row.detail) });
}
