import type { EntityManager } from '@mikro-orm/core';
import { UserTombstone, type User } from '../../db/entities';
import type { Clock } from '../clock';
import type { SecurityEvents } from '../events';
import type { Tenant } from '../users';
import { inTransaction } from '../../db/transaction';

/** Who is erased, and every address that names them (lookup keys and as written). */
export interface ErasureSubject {
  appId: string;
  userId: string;
  /** Emails (as stored and as keys, lower-cased) and phone numbers of the account and of its pending change. */
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

function marks(values: unknown[]): string {
  return values.length ? values.map(() => '?').join(', ') : 'null';
}

/** The addresses of a user (and of the change it waits for), as erasure matches them. */
export function addressesOf(user: User, pending: { address: string; destination: string } | null): string[] {
  const all = [user.email, user.emailKey, user.phoneNumber, user.phoneKey, ...user.phoneNumbers.map((p) => p.phoneNumber), pending?.address, pending?.destination];
  return [...new Set(all.filter((a): a is string => Boolean(a)).map((a) => a.toLowerCase()))];
}

/**
 * Erasure (`deleteUser`, `deleteAccount`, `gatehouse user delete`): every step of
 * ERASURE_STEPS, the tombstone and the `user.deleted` event in one transaction. The email and
 * phone are free for a new sign-up the moment it commits.
 */
export class Erasure {
  constructor(
    private readonly clock: Clock,
    private readonly events: SecurityEvents,
  ) {}

  async erase(em: EntityManager, tenant: Tenant, subject: ErasureSubject, detail: { by: 'customer' | 'partner' | 'operator' }, ip: string | null): Promise<void> {
    const connection = em.getConnection();
    await inTransaction(em, async () => {
      for (const step of ERASURE_STEPS) {
        await connection.execute(step.sql(subject), step.params(subject), 'run', em.getTransactionContext());
      }
      await em.insert(UserTombstone, { id: subject.userId, deletedAt: this.clock.now() });
      await this.events.write(em, tenant, { type: 'user.deleted', userId: subject.userId, ip, detail });
    });
    // Nothing of the erased user may linger in this request's identity map.
    em.clear();
  }
}
