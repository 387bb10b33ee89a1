import type { MikroORM } from '@mikro-orm/core';
import sqlite3 from 'sqlite3';
import type { Logger } from '../logger';
import { dialectOf } from './orm';

/** How often the checkpointer copies the WAL back into the database file. */
const INTERVAL_MS = 250;
/** SQLite's own default, restored on the serving connection if the checkpointer stops working. */
const AUTOCHECKPOINT_PAGES = 1000;
const CHECKPOINT = 'PRAGMA wal_checkpoint(PASSIVE)';

/**
 * WAL checkpoints off the event loop (issue 13, bench/README.md "requestOtp: the courier on
 * the prepared path, checkpoints off the event loop"). With SQLite's default, the commit that takes the WAL past 1000 pages copies them into
 * the database file and fsyncs both, inside that request: ~40 µs of blocking per commit on
 * average here, at three commits per requestOtp. A serving gateway instead turns the automatic
 * checkpoint off on its connection and runs a PASSIVE checkpoint (it never waits for or blocks
 * the writer) every 250 ms on a connection of its own.
 *
 * That connection is node-sqlite3's, whose statements run on libuv's thread pool: the
 * checkpoint's copying and fsyncs happen there, and the process holds no second JavaScript
 * isolate for it. The first version ran better-sqlite3 in a worker thread, whose isolate held
 * ~17 MB of RSS for a statement four times a second (bench/README.md, "The checkpointer without
 * an isolate"). A checkpoint takes a pool thread for a moment between two password hashes.
 *
 * Durability is unchanged (WAL, synchronous=NORMAL: a commit is in the WAL before it is
 * acknowledged; a crash leaves a longer WAL that the next open replays). Should a checkpoint
 * fail, the serving connection goes back to automatic checkpoints, so the WAL never grows
 * without bound. The CLI never starts one: its commits are few and its process short.
 */
export class SqliteCheckpointer {
  private stopped = false;
  /** The checkpoint in flight, if any: one at a time, never a queue of them. */
  private running: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly db: sqlite3.Database,
    private readonly restoreAutocheckpoint: () => Promise<void>,
    private readonly giveUp: (reason: string) => void,
  ) {
    this.timer = setInterval(() => {
      if (!this.running) void this.pass();
    }, INTERVAL_MS);
    this.timer.unref();
  }

  /** Starts one for `orm`, opened on `databaseUrl`, when that is SQLite (null on PostgreSQL). */
  static async start(orm: MikroORM, databaseUrl: string, logger: Logger): Promise<SqliteCheckpointer | null> {
    if (dialectOf(databaseUrl) !== 'sqlite') return null;
    const file = orm.config.get('dbName')!;
    const connection = orm.em.getConnection();
    const setAutocheckpoint = (pages: number) => connection.execute(`PRAGMA wal_autocheckpoint = ${pages}`);
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const opened: sqlite3.Database = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (error) => (error ? reject(error) : resolve(opened)));
    });
    db.configure('busyTimeout', 1000);
    const restore = async () => {
      await setAutocheckpoint(AUTOCHECKPOINT_PAGES).catch(() => undefined);
    };
    let checkpointer: SqliteCheckpointer | undefined;
    const giveUp = (reason: string) => {
      if (!checkpointer || checkpointer.stopped) return;
      checkpointer.stopped = true;
      clearInterval(checkpointer.timer);
      logger.error({ cause: reason.slice(0, 300) }, 'sqlite checkpointer stopped; automatic checkpoints are back on');
      db.close(() => undefined);
      void restore();
    };
    checkpointer = new SqliteCheckpointer(db, restore, giveUp);
    await setAutocheckpoint(0);
    return checkpointer;
  }

  /** One PASSIVE checkpoint on the thread pool; a failure hands checkpoints back to SQLite. */
  private pass(): Promise<void> {
    this.running = new Promise<void>((resolve) => {
      this.db.get(CHECKPOINT, (error: Error | null) => {
        this.running = null;
        if (error && !this.stopped) this.giveUp(error.message);
        resolve();
      });
    });
    return this.running;
  }

  /** A last checkpoint, then the connection closes (gateway close, before the ORM closes). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.restoreAutocheckpoint();
    await this.running;
    await this.pass();
    await new Promise<void>((resolve) => this.db.close(() => resolve()));
  }
}
