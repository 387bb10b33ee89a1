import sqlite3 from 'sqlite3';

export interface EmailLookup {
  byEmail(email: string): Promise<{ id: string; is_social: number } | undefined>;
  close(): Promise<void>;
}

/**
 * The references' one query: a prepared statement on the gateway's own table and unique index
 * (app_id, email_key), with the same connection settings as the gateway (WAL, busy timeout).
 */
export async function openLookup(file: string, appId: string): Promise<EmailLookup> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (err) => (err ? reject(err) : resolve(opened)));
  });
  await new Promise<void>((resolve, reject) =>
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;', (err) => (err ? reject(err) : resolve())),
  );
  const statement = await new Promise<sqlite3.Statement>((resolve, reject) => {
    const prepared = db.prepare('select id, is_social from "user" where app_id = ? and email_key = ?', (err) => (err ? reject(err) : resolve(prepared)));
  });
  return {
    byEmail: (email) =>
      new Promise((resolve, reject) =>
        statement.get([appId, email.trim().toLowerCase()], (err: Error | null, row?: { id: string; is_social: number }) => (err ? reject(err) : resolve(row))),
      ),
    close: () =>
      new Promise<void>((resolve) => statement.finalize(() => db.close(() => resolve()))),
  };
}
