import type { EntityManager } from '@mikro-orm/core';
import { UserTombstone, type User } from '../../db/entities';
import type { Clock } from '../clock';
import type { SecurityEvents } from '../events';
import type { Tenant } from '../users';
import { deleteEveryRowOf, type ErasureSubject } from '../../db/lifecycle';
import { inTransaction } from '../../db/transaction';

export { ERASURE_STEPS, type ErasureSubject } from '../../db/lifecycle';

/** The addresses of a user (and of the change it waits for), as erasure matches them. */
export function addressesOf(user: User, pending: { address: string; destination: string } | null): string[] {
  const all = [user.email, user.emailKey, user.phoneNumber, user.phoneKey, ...user.phoneNumbers.map((p) => p.phoneNumber), pending?.address, pending?.destination];
  return [...new Set(all.filter((a): a is string => Boolean(a)).map((a) => a.toLowerCase()))];
}

/**
 * Erasure (`deleteUser`, `deleteAccount`, `gatehouse user delete`): every step of
 * ERASURE_STEPS (src/db/lifecycle.ts), the tombstone and the `user.deleted` event in one transaction. The email and
 * phone are free for a new sign-up the moment it commits.
 */
export class Erasure {
  constructor(
    private readonly clock: Clock,
    private readonly events: SecurityEvents,
  ) {}

  async erase(em: EntityManager, tenant: Tenant, subject: ErasureSubject, detail: { by: 'customer' | 'partner' | 'operator' }, ip: string | null): Promise<void> {
    await inTransaction(em, async () => {
      await deleteEveryRowOf(em, subject);
      await em.insert(UserTombstone, { id: subject.userId, deletedAt: this.clock.now() });
      await this.events.write(em, tenant, { type: 'user.deleted', userId: subject.userId, ip, detail });
    });
    // Nothing of the erased user may linger in this request's identity map.
    em.clear();
  }
}
