/**
 * The peer under load: better-auth mounted with `toNodeHandler` (better-auth/node) on a plain
 * node:http server, on its own SQLite file seeded by bench/lib/peer-seed.ts. It listens
 * first, so its baseURL (and its one trusted origin) is the real address.
 * Endpoints driven: GET get-session (session cookie), POST sign-in/email,
 * POST email-otp/send-verification-otp, POST sign-in/email-otp — all under /api/auth.
 */
import { toNodeHandler } from 'better-auth/node';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fail, onStop, ready, required } from '../lib/child';
import { createPeerAuth, PEER_BASE_PATH } from '../lib/peer-auth';
import { openPeerDatabase } from '../lib/peer-seed';

async function main(): Promise<void> {
  const db = openPeerDatabase(required('BENCH_PEER_DB'));
  let handler: RequestListener = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auth = createPeerAuth(db, origin);
  await auth.$context; // initialised before the first request is timed
  handler = toNodeHandler(auth);
  onStop(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    db.close();
  });
  ready({ url: `${origin}${PEER_BASE_PATH}` });
}

main().catch(fail);
