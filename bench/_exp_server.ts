// scratch experiment server (deleted before hand-off)
import 'reflect-metadata';
import sqlite3 from 'sqlite3';
import { createGateway } from '../src/app';
import { loadConfig } from '../src/config';
import { App, ApiKey } from '../src/db/entities';
import { sha256 } from '../src/identity/secrets';
const P = new Set((process.env.PATCH ?? '').split(',').filter(Boolean));
(async () => {
  const gw = await createGateway(loadConfig({}, { port: 0, databaseUrl: `sqlite:${process.env.BENCH_DB}`, logLevel: P.has('nolog') ? 'silent' : 'info' }));
  const s = gw.services as any;
  const appsProto = Object.getPrototypeOf(s.apps);
  if (P.has('stub')) {
    const em0 = gw.orm.em.fork();
    const key = await em0.findOne(ApiKey, { kind: 'publishable' }, { populate: ['app'] });
    s.apps.authenticateKey = async (em: any) => ({ app: em.getReference(App, key!.app.id), settings: s.apps.settingsOf(key!.app), kind: 'publishable', keyId: key!.id });
    s.users.emailExists = async () => ({ isSocial: false });
  }
  if (P.has('rawkey')) {
    s.apps.authenticateKey = async (em: any, presented: string) => {
      const kind = presented.startsWith('pk_') ? 'publishable' : presented.startsWith('sk_') ? 'secret' : null;
      if (!kind) return null;
      const rows = await em.getConnection().execute('select k.id as key_id, k.kind, a.* from "api_key" k join "app" a on a.id = k.app_id where k.key_hash = ? and k.revoked_at is null', [sha256(presented)]);
      const row = rows[0];
      if (!row || row.kind !== kind) return null;
      const { key_id, kind: _k, ...appRow } = row;
      const app = P.has('ref') ? em.getReference(App, appRow.id) : em.map(App, appRow);
      return { app, settings: P.has('ref') ? s.apps.settingsOf(em.map(App, appRow)) : s.apps.settingsOf(app), kind, keyId: key_id };
    };
  }
  if (P.has('rawemail')) {
    s.users.emailExists = async (em: any, tenant: any, email: string) => {
      const rows = await em.getConnection().execute('select id, is_social from "user" where app_id = ? and email_key = ? limit 1', [tenant.app.id, email.trim().toLowerCase()]);
      return rows[0] ? { isSocial: Boolean(rows[0].is_social) } : null;
    };
  }
  if (P.has('prepared')) {
    const db = await new Promise<sqlite3.Database>((res, rej) => { const d = new sqlite3.Database(process.env.BENCH_DB!, (e) => (e ? rej(e) : res(d))); });
    const keyStmt = db.prepare('select k.id as key_id, k.kind, a.* from "api_key" k join "app" a on a.id = k.app_id where k.key_hash = ? and k.revoked_at is null');
    const userStmt = db.prepare('select id, is_social from "user" where app_id = ? and email_key = ?');
    const get = (st: sqlite3.Statement, p: unknown[]) => new Promise<any>((res, rej) => st.get(p, (e: Error | null, r: any) => (e ? rej(e) : res(r))));
    s.apps.authenticateKey = async (em: any, presented: string) => {
      const kind = presented.startsWith('pk_') ? 'publishable' : presented.startsWith('sk_') ? 'secret' : null;
      if (!kind) return null;
      const row = await get(keyStmt, [sha256(presented)]);
      if (!row || row.kind !== kind) return null;
      const { key_id, kind: _k, ...appRow } = row;
      const app = em.map(App, appRow);
      return { app, settings: s.apps.settingsOf(app), kind, keyId: key_id };
    };
    s.users.emailExists = async (em: any, tenant: any, email: string) => {
      const row = await get(userStmt, [tenant.app.id, email.trim().toLowerCase()]);
      return row ? { isSocial: Boolean(row.is_social) } : null;
    };
  }
  const url = await gw.listen();
  process.send?.({ type: 'ready', url: url + '/graphql' });
  process.on('SIGTERM', () => process.exit(0));
})();
