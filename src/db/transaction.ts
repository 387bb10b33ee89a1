import type { EntityManager, EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';

/**
 * Transaction boundaries of the domain (SPEC §8: writes that belong together commit together).
 *
 * The services receive the request's EntityManager and write through it; `inTransaction`
 * makes a group of those writes one commit on that same EntityManager (so entities it already
 * holds stay managed), and joins the caller's transaction when there is one. On SQLite the
 * transaction begins IMMEDIATE (sqlite-begin-immediate.ts).
 *
 * Inside the work, only statements on `em` itself (or `em.fork({ keepTransactionContext: true })`):
 * a plain fork runs outside the transaction, and on SQLite (one connection, held by the
 * transaction) it would wait for the transaction to end — forever. So no hashing, token
 * signing (it may reload keys), server-secret or limiter calls inside: do them before or
 * after (SessionService.openSession + sign() is the pattern).
 */
export async function inTransaction<T>(em: EntityManager, work: () => Promise<T>): Promise<T> {
  if (em.isInTransaction()) return work();
  await em.begin();
  try {
    const result = await work();
    await em.commit(); // flushes what is still pending, then COMMIT
    return result;
  } catch (error) {
    await em.rollback();
    // Entities flushed in the rolled-back transaction would claim rows that do not exist.
    em.clear();
    throw error;
  }
}

/**
 * Runs `work` in a savepoint when `em` is in a transaction, so that a statement failing inside
 * it (a unique index refusing an insert that is then retried) is undone alone: PostgreSQL
 * aborts the whole transaction at the first error otherwise. Outside a transaction, as is.
 */
export async function savepoint<T>(em: EntityManager, work: () => Promise<T>): Promise<T> {
  const outer = em.getTransactionContext();
  if (!outer) return work();
  const connection = em.getConnection();
  const inner = await connection.begin({ ctx: outer });
  em.setTransactionContext(inner);
  try {
    const result = await work();
    await connection.commit(inner);
    return result;
  } catch (error) {
    await connection.rollback(inner);
    throw error;
  } finally {
    em.setTransactionContext(outer);
  }
}

type Hook = () => void;
const hooks = new WeakMap<object, Hook[]>();

/**
 * Calls `hook` once what `em` wrote is committed: at once outside a transaction, else after the
 * COMMIT of the outermost transaction (never after a rollback). The courier uses it to wake
 * its worker right after a message row becomes visible.
 */
export function afterCommit(em: EntityManager, hook: Hook): void {
  let trx = em.getTransactionContext<{ parentTransaction?: object } & object>();
  if (!trx) return hook();
  // knex: a savepoint's transactor knows its parent; the commit event names the outermost one.
  while (trx.parentTransaction) trx = trx.parentTransaction;
  const list = hooks.get(trx);
  if (list) list.push(hook);
  else hooks.set(trx, [hook]);
}

/** Registered on the ORM (ormOptions): runs the afterCommit hooks of each committed transaction. */
export const afterCommitSubscriber: EventSubscriber = {
  afterTransactionCommit(args: TransactionEventArgs): void {
    const trx = args.transaction as object | undefined;
    const list = trx && hooks.get(trx);
    if (!list) return;
    hooks.delete(trx);
    for (const hook of list) hook();
  },
  afterTransactionRollback(args: TransactionEventArgs): void {
    if (args.transaction) hooks.delete(args.transaction as object);
  },
};
