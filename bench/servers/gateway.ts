/**
 * The gateway under test: `createGateway(config)`, exactly as `gatehouse serve` builds it, on
 * the bench's SQLite file and a free loopback port. Logs go where the parent points stdout
 * (/dev/null by default): the per-request log line is still written, as in production.
 */
import { createGateway } from '../../src/app';
import { loadConfig } from '../../src/config';
import { fail, onStop, ready, required } from '../lib/child';

async function main(): Promise<void> {
  const config = loadConfig({}, {
    host: '127.0.0.1',
    port: 0,
    databaseUrl: `sqlite:${required('BENCH_DB')}`,
    logLevel: process.env.BENCH_LOG_LEVEL || 'info',
  });
  const gateway = await createGateway(config);
  const url = await gateway.listen();
  onStop(() => gateway.close());
  ready({ url: `${url}/graphql` });
}

main().catch(fail);
