import type { MikroORM } from '@mikro-orm/core';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger';
import { dialectOf } from './orm';

/** How often the checkpointer copies the WAL back into the database file. */
const INTERVAL_MS = 250;
/** SQLite's own default, restored on the serving connection if the checkpointer stops working. */
const AUTOCHECKPOINT_PAGES = 1000;

/**
 * The checkpointer's thread: its own connection to the same file, a PASSIVE checkpoint every
 * `intervalMs` (it never waits for or blocks the writer), and a last one when told to stop.
 * Plain JavaScript, evaluated as a worker, so it runs the same from src/ (tests) and the build.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let failed = false;
const pass = () => {
  try {
    checkpoint.get();
  } catch (error) {
    if (!failed) parentPort.postMessage({ error: String(error && error.message || error).slice(0, 300) });
    failed = true;
  }
};
const timer = setInterval(pass, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  pass();
  db.close();
  parentPort.close();
});
parentPort.postMessage({ ready: true });
`;

/**
 * WAL checkpoints off the event loop (issue 13, bench/README.md "requestOtp: the courier on
 * the prepared path, checkpoints off the event loop"). With SQLite's default, the commit that takes the WAL past 1000 pages copies them into
 * the database file and fsyncs both, inside that request: ~40 µs of blocking per commit on
 * average here, at three commits per requestOtp. A serving gateway instead turns the automatic
 * checkpoint off on its connection and runs the checkpoints on a thread of their own.
 *
 * Durability is unchanged (WAL, synchronous=NORMAL: a commit is in the WAL before it is
 * acknowledged; a crash leaves a longer WAL that the next open replays). Should the thread
 * fail, the serving connection goes back to automatic checkpoints, so the WAL never grows
 * without bound. The CLI never starts one: its commits are few and its process short.
 */
export class SqliteCheckpointer {
  private stopped = false;

  private constructor(
    private readonly worker: Worker,
    private readonly restoreAutocheckpoint: () => Promise<void>,
  ) {}

  /** Starts one for `orm`, opened on `databaseUrl`, when that is SQLite (null on PostgreSQL). */
  static async start(orm: MikroORM, databaseUrl: string, logger: Logger): Promise<SqliteCheckpointer | null> {
    if (dialectOf(databaseUrl) !== 'sqlite') return null;
    const file = orm.config.get('dbName');
    const connection = orm.em.getConnection();
    const setAutocheckpoint = (pages: number) => connection.execute(`PRAGMA wal_autocheckpoint = ${pages}`);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver: require.resolve('better-sqlite3'), file, intervalMs: INTERVAL_MS } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    worker.unref();
    const restore = async () => {
      await setAutocheckpoint(AUTOCHECKPOINT_PAGES).catch(() => undefined);
    };
    const checkpointer = new SqliteCheckpointer(worker, restore);
    const giveUp = (reason: string) => {
      if (checkpointer.stopped) return;
      checkpointer.stopped = true;
      logger.error({ cause: reason }, 'sqlite checkpointer stopped; automatic checkpoints are back on');
      void restore();
    };
    worker.on('message', (message: { error?: string }) => message.error && giveUp(message.error));
    worker.on('error', (error) => giveUp(error.message));
    worker.on('exit', (code) => giveUp(`its thread exited (${code})`));
    await setAutocheckpoint(0);
    return checkpointer;
  }

  /** A last checkpoint, then the thread ends (gateway close, before the ORM closes). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.restoreAutocheckpoint();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    await exited;
  }
}
