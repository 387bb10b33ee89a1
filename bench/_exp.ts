// scratch: alternate experiment variants, CPU µs per request of the server process
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { cpuSeconds } from './lib/children';
const app = require('/tmp/tmp.xr5r5jivGn/app.json');
const variants = process.argv.slice(2);
async function start(patch: string) {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'bench/_exp_server.ts'], { env: { ...process.env, PATCH: patch, BENCH_DB: '/tmp/tmp.xr5r5jivGn/b.db' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const url = await new Promise<string>((r) => child.on('message', (m: any) => r(m.url)));
  return { child, url };
}
(async () => {
  const servers = await Promise.all(variants.map(async (v) => ({ v, ...(await start(v === 'base' ? '' : v)) })));
  const results: Record<string, number[]> = {};
  for (let round = 0; round < 4; round++) {
    for (const s of servers) {
      const c0 = cpuSeconds(s.child.pid!);
      const r = await autocannon({ url: s.url, connections: 20, duration: round === 0 ? 2 : 4, requests: [{ method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': app.publishableKey }, setupRequest: (req: any) => { req.body = JSON.stringify({ query: 'query($email:String!){checkEmail(email:$email){exists isSocial}}', variables: { email: `user${Math.floor(Math.random() * 5000)}@bench.example` } }); return req; } }] });
      const cpu = ((cpuSeconds(s.child.pid!) - c0) * 1e6) / r.requests.total;
      if (round > 0) (results[s.v] ??= []).push(cpu);
      console.log(round, s.v.padEnd(28), Math.round(r.requests.total / r.duration), 'req/s', Math.round(cpu), 'cpu µs/req', 'non2xx', r.non2xx);
    }
  }
  for (const [v, xs] of Object.entries(results)) console.log(v.padEnd(28), 'median cpu µs/req', Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]));
  for (const s of servers) s.child.kill('SIGTERM');
})();
