/**
 * The raw floor: node:http, JSON.parse of the request body, the same prepared sqlite3 lookup
 * as the Apollo reference, and a JSON answer shaped like GraphQL's. Nothing can be cheaper
 * in Node with this driver; it is the ceiling for requests/s.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fail, onStop, ready, required } from '../lib/child';
import { openLookup } from '../lib/lookup';

async function main(): Promise<void> {
  const lookup = await openLookup(required('BENCH_DB'), required('BENCH_APP_ID'));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let email: unknown;
      try {
        email = JSON.parse(Buffer.concat(chunks).toString('utf8'))?.variables?.email;
      } catch {
        email = undefined;
      }
      if (typeof email !== 'string') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"errors":[{"message":"variables.email is required"}]}');
        return;
      }
      lookup.byEmail(email).then(
        (row) => {
          const body = JSON.stringify({ data: { checkEmail: { exists: row !== undefined, isSocial: Boolean(row?.is_social) } } });
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        },
        () => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"errors":[{"message":"lookup failed"}]}');
        },
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  onStop(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await lookup.close();
  });
  ready({ url: `http://127.0.0.1:${port}/graphql` });
}

main().catch(fail);
