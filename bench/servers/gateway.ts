/**
 * The gateway under test: `createGateway(config)`, exactly as `gatehouse serve` builds it, on
 * the bench's SQLite file and a free loopback port, with serve's memory budget (MEMORY_BUDGET_MB
 * passes through, as BENCH_GATEWAY_ENV sets it). Logs go where the parent points stdout
 * (/dev/null by default): the per-request log line is still written, as in production.
 */
import { createGateway } from '../../src/app';
import { loadConfig } from '../../src/config';
import { startMemoryBudget } from '../../src/server/memory-budget';
import { fail, onStop, ready, required } from '../lib/child';

async function main(): Promise<void> {
  const config = loadConfig({ MEMORY_BUDGET_MB: process.env.MEMORY_BUDGET_MB }, {
    host: '127.0.0.1',
    port: 0,
    databaseUrl: `sqlite:${required('BENCH_DB')}`,
    logLevel: process.env.BENCH_LOG_LEVEL || 'info',
  });
  const gateway = await createGateway(config);
  const url = await gateway.listen();
  const budget = startMemoryBudget({ budgetMb: config.memoryBudgetMb, logger: gateway.services.logger });
  onStop(() => {
    budget.stop();
    return gateway.close();
  });
  ready({ url: `${url}/graphql` });
}

main().catch(fail);
