import type { EntityManager } from '@mikro-orm/core';

/**
 * The account-lifecycle statements that are not record edits: erasure's sweep over every table
 * that references a customer, the clean-up of what went to a replaced address, and the app
 * list the event purge reads. SQL lives here (src/db/), the flows in src/identity/lifecycle/.
 */

/** Who is erased, and every address that names them (lookup keys and as written, lower-cased). */
export interface ErasureSubject {
  appId: string;
  userId: string;
  /** Emails (as stored and as keys) and phone numbers of the account and of its pending change. */
  addresses: string[];
}

/**
 * What references a customer, table by table: the one list erasure works through (SPEC §4.10),
 * children before parents (foreign keys). A new table that holds a user's data adds its line
 * here; test/lifecycle.test.ts reads every table of the database after an erasure, so a table
 * left out fails it. (social_challenge and social_token_use hold no user: a nonce's or a
 * redirect's state, and hashes of provider tokens already used.)
 */
export const ERASURE_STEPS: { table: string; sql: (s: ErasureSubject) => string; params: (s: ErasureSubject) => unknown[] }[] = [
  { table: 'refresh_token', sql: () => 'delete from refresh_token where session_id in (select id from session where user_id = ?)', params: (s) => [s.userId] },
  { table: 'session', sql: () => 'delete from session where user_id = ?', params: (s) => [s.userId] },
  { table: 'single_use_token', sql: () => 'delete from single_use_token where user_id = ?', params: (s) => [s.userId] },
  { table: 'legal_acceptance', sql: () => 'delete from legal_acceptance where user_id = ?', params: (s) => [s.userId] },
  { table: 'contact_change', sql: () => 'delete from contact_change where user_id = ?', params: (s) => [s.userId] },
  // Linked provider accounts (social sign-in): the provider's subject and the email it last gave.
  { table: 'user_identity', sql: () => 'delete from user_identity where user_id = ?', params: (s) => [s.userId] },
  {
    table: 'otp_challenge',
    sql: (s) => `delete from otp_challenge where user_id = ? or (app_id = ? and destination in (${marks(s.addresses)}))`,
    params: (s) => [s.userId, s.appId, ...s.addresses],
  },
  {
    // Codes, links and notices the account's addresses were sent (the development outbox keeps their text).
    table: 'outbox_message',
    sql: (s) => `delete from outbox_message where app_id = ? and lower("to") in (${marks(s.addresses)})`,
    params: (s) => [s.appId, ...s.addresses],
  },
  {
    // Events stay (a partner's audit trail, by the id the tombstone keeps) without where they came from or what they said.
    table: 'security_event',
    sql: () => `update security_event set ip = null, detail = '{}' where app_id = ? and user_id = ?`,
    params: (s) => [s.appId, s.userId],
  },
  { table: 'user', sql: () => 'delete from "user" where id = ? and app_id = ?', params: (s) => [s.userId, s.appId] },
];

/** Runs every step of ERASURE_STEPS with `em` (inside the caller's transaction). */
export async function deleteEveryRowOf(em: EntityManager, subject: ErasureSubject): Promise<void> {
  const connection = em.getConnection();
  for (const step of ERASURE_STEPS) {
    await connection.execute(step.sql(subject), step.params(subject), 'run', em.getTransactionContext());
  }
}

/**
 * Outbox messages to these addresses that were already handed over or given up (webhooks
 * aside): what a replaced address was sent. One still waiting is left to go out.
 */
export async function deleteHandedOverMessagesTo(em: EntityManager, appId: string, addresses: string[]): Promise<void> {
  if (!addresses.length) return;
  await em.getConnection().execute(
    `delete from outbox_message where app_id = ? and channel <> 'WEBHOOK' and status in ('delivered', 'failed') and lower("to") in (${marks(addresses)})`,
    [appId, ...addresses],
    'run',
    em.getTransactionContext(),
  );
}

/** Every app's id and raw settings (the event purge groups apps by their retention). */
export function appSettingsRows(em: EntityManager): Promise<{ id: string; settings: unknown }[]> {
  return em.getConnection().execute<{ id: string; settings: unknown }[]>('select id, settings from app', [], 'all');
}

function marks(values: unknown[]): string {
  return values.length ? values.map(() => '?').join(', ') : 'null';
}
