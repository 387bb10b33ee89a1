import type { EntityManager } from '@mikro-orm/core';

/**
 * Makes a group of writes through the request's EntityManager one commit (SPEC §8), joining
 * the caller's transaction when there is one. Inside, only statements on `em` itself: on
 * SQLite the transaction holds the one connection, so a plain `em.fork()` would wait for it
 * forever (no hashing, token signing, server-secret or code-issuing calls inside).
 *
 * The courier branch brings the same helper as src/db/transaction.ts (`inTransaction`);
 * once it has landed this file goes and the lifecycle module imports that one.
 */
export async function inTransaction<T>(em: EntityManager, work: () => Promise<T>): Promise<T> {
  if (em.isInTransaction()) return work();
  await em.begin();
  try {
    const result = await work();
    await em.commit();
    return result;
  } catch (error) {
    await em.rollback();
    em.clear();
    throw error;
  }
}
