/**
 * `npm run bench`: how fast the gateway is, against the floor and a peer (see bench/README.md).
 *
 *   npm run bench -- [--users 100000] [--duration 10] [--connections 50] [--warmup 3]
 *                    [--rounds 3] [--only checkEmail,login,hostile,…] [--profile] [--baseline FILE]
 *                    [--before-build DIR]
 *
 * Starts the gateway, the Apollo reference, the raw floor and the hash bound as child processes
 * on one freshly seeded SQLite file, drives them with autocannon on loopback, alternating
 * gateway and reference runs within each scenario so drift on this shared 2-core machine
 * cancels out, prints a table and writes the same as JSON under bench/results/.
 */
import autocannon from 'autocannon';
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildServers, cpuSeconds, REPO, rssMB, sampleRss, startServer, type Server } from './lib/children';
import { summarizeProfile } from './lib/profile';
import { BENCH_PASSWORD, createSchemaAndApp, emailOf, hashBenchPassword, readOutbox, seedSessions, seedUsers, type BenchApp } from './lib/seed';

// ---------------------------------------------------------------------------------------------
// options

const { values: flags } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    'refresh-pool': { type: 'string' },
    'sample-every': { type: 'string', default: '1' },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'before-build': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  console.log(readFileSync(__filename, 'utf8').split('\n').slice(1, 12).join('\n'));
  process.exit(0);
}

function int(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
  return n;
}

const USERS = int('users', flags.users, 1000);
const DURATION = int('duration', flags.duration, 1);
const CONNECTIONS = int('connections', flags.connections, 1);
const WARMUP = int('warmup', flags.warmup, 0);
const ROUNDS = int('rounds', flags.rounds, 1);
const SAMPLE_EVERY = int('sample-every', flags['sample-every'], 1);
const CORES = cpus().length;
const HASH_CONCURRENCY = CORES * 2;
const SCENARIOS = ['checkEmail', 'user', 'me', 'refresh', 'login', 'otp', 'hostile'] as const;
type ScenarioName = (typeof SCENARIOS)[number];
const ONLY = new Set<ScenarioName>(
  (flags.only ? flags.only.split(',') : SCENARIOS).map((s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario ${s} (${SCENARIOS.join(', ')})`);
    return s as ScenarioName;
  }),
);
/** Refresh tokens are single use: enough for the gateway at an assumed ceiling of 5k refreshes/s, plus the `me` tokens. */
const REFRESH_POOL = flags['refresh-pool'] ? int('refresh-pool', flags['refresh-pool'], 100) : ONLY.has('refresh') ? 5000 * (ROUNDS * DURATION + WARMUP) * (flags['before-build'] ? 2 : 1) + 200 : 200;

// ---------------------------------------------------------------------------------------------
// measuring

interface RunFigures {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  /** non-2xx answers + socket errors/timeouts + GraphQL `errors` (sampled, scaled up). */
  errors: number;
  errorDetail: Record<string, number>;
  rssPeakMB: number;
  /** Server CPU time (user + system) per answered request, in µs. */
  cpuUs: number;
}

interface Counter {
  seen: number;
  graphqlErrors: number;
  codes: Record<string, number>;
}

/** onResponse: every SAMPLE_EVERY-th 2xx body is checked for GraphQL `errors`. */
function errorSampler(counter: Counter) {
  let n = 0;
  return (status: number, body: string) => {
    if (status < 200 || status >= 300) return; // counted by autocannon as non2xx
    if (++n % SAMPLE_EVERY !== 0) return;
    counter.seen++;
    const text = typeof body === 'string' ? body : String(body);
    if (!text.includes('"errors"')) return;
    counter.graphqlErrors++;
    let code = 'unparsed';
    try {
      code = String(JSON.parse(text).errors?.[0]?.extensions?.code ?? 'no code');
    } catch {
      /* keep 'unparsed' */
    }
    counter.codes[code] = (counter.codes[code] ?? 0) + 1;
  };
}

interface Load {
  /** Builds the body (and headers) of the next request. */
  next(): { body: string; headers?: Record<string, string> };
  headers: Record<string, string>;
  /** Stop after this many requests (single-use inputs). */
  amount?: number;
}

async function drive(server: Server, load: Load, seconds: number, measure = true): Promise<RunFigures> {
  const counter: Counter = { seen: 0, graphqlErrors: 0, codes: {} };
  const onResponse = errorSampler(counter);
  const rss = sampleRss(server.pid);
  const cpuBefore = cpuSeconds(server.pid);
  const baseHeaders = { 'content-type': 'application/json', ...load.headers };
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: seconds,
    amount: load.amount,
    pipelining: 1,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        setupRequest(request) {
          const { body, headers } = load.next();
          request.body = body;
          request.headers = headers ? { ...baseHeaders, ...headers } : baseHeaders;
          return request;
        },
        onResponse,
      },
    ],
  });
  const rssPeakMB = rss.stop();
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  const errorDetail: Record<string, number> = {};
  if (result.non2xx) errorDetail.non2xx = result.non2xx;
  if (result.errors) errorDetail.socket = result.errors;
  if (result.timeouts) errorDetail.timeouts = result.timeouts;
  const scale = counter.seen ? result['2xx'] / counter.seen : 0;
  for (const [code, count] of Object.entries(counter.codes)) errorDetail[code] = Math.round(count * scale);
  const graphqlErrors = Math.round(counter.graphqlErrors * scale);
  if (measure) await pause(1000); // abandoned in-flight requests finish before the next run
  return {
    rps: result.requests.total / result.duration,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts + graphqlErrors,
    errorDetail,
    rssPeakMB,
    cpuUs: (cpu * 1e6) / Math.max(1, result.requests.total),
  };
}

/** The hash bound: argon2id verifications/s on all cores, in its own process. */
async function driveHash(server: Server, seconds: number): Promise<RunFigures> {
  const rss = sampleRss(server.pid);
  const cpuBefore = cpuSeconds(server.pid);
  const result = await new Promise<{ count: number; seconds: number; p50: number; p99: number; failures: number }>((resolve) => {
    const onMessage = (message: { type?: string }) => {
      if (message?.type !== 'result') return;
      server.child.off('message', onMessage);
      resolve(message as never);
    };
    server.child.on('message', onMessage);
    server.child.send({ type: 'run', ms: seconds * 1000, concurrency: HASH_CONCURRENCY });
  });
  const rssPeakMB = rss.stop();
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  await pause(500);
  return {
    rps: result.count / result.seconds,
    total: result.count,
    p50: result.p50,
    p99: result.p99,
    errors: result.failures,
    errorDetail: result.failures ? { failedVerifications: result.failures } : {},
    rssPeakMB,
    cpuUs: (cpu * 1e6) / Math.max(1, result.count),
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// request shapes

const gql = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });
const randomUser = () => Math.floor(Math.random() * USERS);

const CHECK_EMAIL = 'query CheckEmail($email: String!) { checkEmail(email: $email) { exists isSocial } }';
const FIND_USER = 'query FindUser($email: String!) { user(email: $email) { id email firstName lastName createdAt } }';
const ME = 'query Me { me { id email firstName lastName } }';
const REFRESH = 'mutation Refresh($token: String!) { refresh(refreshToken: $token) { accessToken refreshToken expiresIn } }';
const LOGIN = 'mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn } }';
const REQUEST_OTP = 'mutation RequestOtp($input: RequestOtpInput!) { requestOtp(input: $input) { sent expiresIn } }';
const VALIDATE_OTP = 'mutation ValidateOtp($input: ValidateOtpInput!) { validateOtp(input: $input) { accessToken refreshToken } }';

function checkEmailLoad(app: BenchApp): Load {
  return { headers: { 'x-api-key': app.publishableKey }, next: () => ({ body: gql(CHECK_EMAIL, { email: emailOf(randomUser()) }) }) };
}

// ---------------------------------------------------------------------------------------------
// scenarios

interface Side {
  server: string;
  rounds: RunFigures[];
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  errorDetail: Record<string, number>;
  rssPeakMB: number;
  /** Median server CPU µs per request. */
  cpuUs: number;
  /** (max − min) / median of requests/s over the rounds. */
  spread: number;
}

interface ScenarioResult {
  name: string;
  status: 'ran' | 'skipped';
  note?: string;
  gateway?: Side;
  references?: Side[];
  /** Median over rounds of gateway/reference requests/s, each round paired with its neighbour. */
  ratio?: number;
  ratioTo?: string;
  /** Reference CPU µs per request / gateway CPU µs per request: the same ratio from cost, robust to a busy machine. */
  cpuRatio?: number;
  target?: string;
  met?: boolean | null;
  extra?: Record<string, unknown>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function side(server: string, rounds: RunFigures[]): Side {
  const rps = median(rounds.map((r) => r.rps));
  const errorDetail: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.errorDetail)) errorDetail[k] = (errorDetail[k] ?? 0) + v;
  return {
    server,
    rounds,
    rps,
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    errorDetail,
    rssPeakMB: Math.max(...rounds.map((r) => r.rssPeakMB)),
    cpuUs: median(rounds.map((r) => r.cpuUs)),
    spread: rps ? (Math.max(...rounds.map((r) => r.rps)) - Math.min(...rounds.map((r) => r.rps))) / rps : 0,
  };
}

type Runner = (seconds: number, measure: boolean) => Promise<RunFigures>;

/** Warm each runner up, then ROUNDS × (gateway, reference 1, reference 2…). */
async function alternate(label: string, runners: { name: string; run: Runner }[]): Promise<Side[]> {
  if (WARMUP > 0) {
    for (const r of runners) {
      log(`  warm-up ${r.name} ${WARMUP}s`);
      await r.run(WARMUP, false);
    }
    await pause(1000);
  }
  const rounds: RunFigures[][] = runners.map(() => []);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, r] of runners.entries()) {
      const figures = await r.run(DURATION, true);
      rounds[i].push(figures);
      log(`  ${label} round ${round}/${ROUNDS} ${r.name.padEnd(16)} ${fmt(figures.rps, 0).padStart(7)} req/s  p50 ${fmt(figures.p50)} ms  p99 ${fmt(figures.p99)} ms  errors ${figures.errors}  cpu ${fmt(figures.cpuUs, 0)} µs/req  rss ${fmt(figures.rssPeakMB, 0)} MB`);
    }
  }
  return runners.map((r, i) => side(r.name, rounds[i]));
}

/** The scenario's runners, plus the --before-build gateway (same load) when there is one; its side comes back apart. */
async function scenario(label: string, runners: { name: string; run: Runner }[], load: Load | undefined, before: Server | undefined) {
  const all = before && load ? [...runners, { name: 'gateway-before', run: (s: number, m: boolean) => drive(before, load, s, m) }] : runners;
  const sides = await alternate(label, all);
  const beforeSide = before && load ? sides.pop() : undefined;
  return { sides, beforeSide };
}

function withBefore(result: ScenarioResult, beforeSide: Side | undefined): ScenarioResult {
  if (!beforeSide || !result.gateway) return result;
  result.references = [...(result.references ?? []), beforeSide];
  result.extra = {
    ...result.extra,
    beforeAfter: `gateway ${fmt(pairedRatio(result.gateway, beforeSide), 2)}× the --before-build gateway in req/s; CPU µs/req ${fmt(beforeSide.cpuUs, 0)} → ${fmt(result.gateway.cpuUs, 0)}`,
  };
  return result;
}

function pairedRatio(gateway: Side, reference: Side): number {
  return median(gateway.rounds.map((g, i) => g.rps / reference.rounds[i].rps));
}

// ---------------------------------------------------------------------------------------------
// output

const fmt = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const log = (line: string) => console.log(line);

function printTable(results: ScenarioResult[], gatewayRss: number): void {
  const rows: string[][] = [['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/req', 'RSS MB', 'spread', 'ratio', 'target', 'met']];
  for (const r of results) {
    if (r.status === 'skipped') {
      rows.push([r.name, `skipped: ${r.note ?? ''}`]);
      continue;
    }
    const g = r.gateway!;
    rows.push([r.name, g.server, fmt(g.rps, 0), fmt(g.p50), fmt(g.p99), String(g.errors), fmt(g.cpuUs, 0), fmt(g.rssPeakMB, 0), `±${fmt(g.spread * 50, 0)}%`,
      r.ratio === undefined ? '' : `${fmt(r.ratio, 2)}× ${r.ratioTo} (cpu ${fmt(r.cpuRatio, 2)}×)`, r.target ?? '', r.met === undefined || r.met === null ? '' : r.met ? 'yes' : 'NO']);
    for (const ref of r.references ?? []) {
      rows.push(['', ref.server, fmt(ref.rps, 0), fmt(ref.p50), fmt(ref.p99), String(ref.errors), fmt(ref.cpuUs, 0), fmt(ref.rssPeakMB, 0), `±${fmt(ref.spread * 50, 0)}%`, '', '', '']);
    }
    for (const [k, v] of Object.entries(r.extra ?? {})) if (typeof v === 'string') rows.push(['', `  ${k}: ${v}`]);
  }
  rows.push(['RSS', 'gateway peak', '', '', '', '', '', fmt(gatewayRss, 0), '', '', '< 250 MB', gatewayRss < 250 ? 'yes' : 'NO']);
  const widths = rows[0].map((_, c) => Math.max(...rows.filter((row) => !row[1]?.startsWith('skipped') && !row[1]?.startsWith('  ')).map((row) => (row[c] ?? '').length)));
  console.log('');
  for (const [i, row] of rows.entries()) {
    if (row[1]?.startsWith('skipped') || row[1]?.startsWith('  ')) console.log(`${row[0].padEnd(widths[0])}  ${row[1]}`);
    else console.log(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  console.log('');
}

// ---------------------------------------------------------------------------------------------
// main

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const file = join(dir, 'bench.db');
  const servers: Server[] = [];
  const stopAll = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));

  try {
    log(`gatehouse bench: ${USERS} users, ${CONNECTIONS} connections, ${DURATION}s × ${ROUNDS} rounds per server and scenario (warm-up ${WARMUP}s), ${CORES} cores, node ${process.version}`);
    log('building the server processes (tsc → node_modules/.cache/gatehouse-bench)…');
    buildServers();

    log(`seeding ${file}…`);
    let t = Date.now();
    const app = await createSchemaAndApp(file);
    const passwordHash = await hashBenchPassword();
    let lastShown = 0;
    await seedUsers(file, app.appId, USERS, passwordHash, (done) => {
      if (done - lastShown >= 200_000 || done === USERS) {
        lastShown = done;
        log(`  users: ${done}`);
      }
    });
    const userSeconds = (Date.now() - t) / 1000;
    t = Date.now();
    const refreshTokens = await seedSessions(file, app.appId, USERS, 0, REFRESH_POOL);
    log(`  ${USERS} users in ${fmt(userSeconds)} s (${fmt(USERS / userSeconds, 0)} rows/s); ${REFRESH_POOL} sessions with refresh tokens in ${fmt((Date.now() - t) / 1000)} s`);

    const env = { BENCH_DB: file, BENCH_APP_ID: app.appId, BENCH_LOG_LEVEL: flags['log-level']!, BENCH_HASH: passwordHash, BENCH_PASSWORD };
    const profileFile = join(tmpdir(), `gatehouse-gateway-${Date.now()}.cpuprofile`);
    const gateway = await startServer('gateway', flags.profile ? { ...env, BENCH_PROFILE: profileFile } : env);
    servers.push(gateway);
    // --before-build DIR: another build of the gateway (bench/tsconfig.json compiled from an older
    // tree, see bench/README.md) run as a third side of every gateway scenario: before/after figures.
    const before = flags['before-build'] ? await startServer('gateway-before', env, [], flags['before-build']) : undefined;
    if (before) servers.push(before);
    const apollo = await startServer('apollo-reference', env);
    servers.push(apollo);
    const floor = await startServer('raw-floor', env);
    servers.push(floor);
    const hash = await startServer('hash-bound', env);
    servers.push(hash);
    const idleRss = { gateway: rssMB(gateway.pid), apollo: rssMB(apollo.pid), floor: rssMB(floor.pid) };
    log(`servers up: gateway ${gateway.url} (pid ${gateway.pid}, ${fmt(idleRss.gateway, 0)} MB), apollo reference ${apollo.url}, raw floor ${floor.url}, hash bound (pid ${hash.pid})`);

    const results: ScenarioResult[] = [];
    const onApollo: Runner = (s, m) => drive(apollo, checkEmailLoad(app), s, m);
    const nameApollo = 'apollo-reference';

    // checkEmail: gateway vs the Apollo reference vs the raw floor
    if (ONLY.has('checkEmail')) {
      log('\ncheckEmail (publishable key)');
      const { sides: [g, a, f], beforeSide } = await scenario('checkEmail', [
        { name: 'gateway', run: (s, m) => drive(gateway, checkEmailLoad(app), s, m) },
        { name: nameApollo, run: onApollo },
        { name: 'raw-floor', run: (s, m) => drive(floor, checkEmailLoad(app), s, m) },
      ], checkEmailLoad(app), before);
      const ratio = pairedRatio(g, a);
      results.push(withBefore({
        name: 'checkEmail', status: 'ran', gateway: g, references: [a, f], ratio, ratioTo: 'apollo',
        target: '≥0.7×, p99<15ms', met: ratio >= 0.7 && g.p99 < 15,
        extra: { vsFloor: `gateway ${fmt(pairedRatio(g, f), 2)}× raw floor; apollo reference ${fmt(pairedRatio(a, f), 2)}× raw floor` },
      }, beforeSide));
    }

    // user(email): secret key
    if (ONLY.has('user')) {
      log('\nuser(email) (secret key)');
      const load: Load = { headers: { 'x-api-key': app.secretKey }, next: () => ({ body: gql(FIND_USER, { email: emailOf(randomUser()) }) }) };
      const { sides: [g, a], beforeSide } = await scenario('user', [{ name: 'gateway', run: (s, m) => drive(gateway, load, s, m) }, { name: nameApollo, run: onApollo }], load, before);
      results.push(withBefore({ name: 'user(email)', status: 'ran', gateway: g, references: [a], ratio: pairedRatio(g, a), ratioTo: 'apollo', target: '(none)', met: null }, beforeSide));
    }

    let nextRefresh = 0;
    const takeRefreshToken = () => (nextRefresh < refreshTokens.length ? refreshTokens[nextRefresh++] : 'rt_pool-exhausted-raise---refresh-pool');

    // bearer me: access tokens minted through refresh (no password hashing needed)
    if (ONLY.has('me')) {
      log('\nme (bearer)');
      // Access tokens name their issuer (each server's own URL), so each gateway gets its own.
      const meLoad = async (server: Server): Promise<Load> => {
        const tokens: string[] = [];
        for (let i = 0; i < 64; i++) {
          const response = await fetch(server.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': app.publishableKey },
            body: gql(REFRESH, { token: takeRefreshToken() }),
          });
          const json = (await response.json()) as { data?: { refresh?: { accessToken: string } }; errors?: unknown };
          if (!json.data?.refresh) throw new Error(`could not mint an access token: ${JSON.stringify(json.errors)}`);
          tokens.push(json.data.refresh.accessToken);
        }
        let k = 0;
        const body = gql(ME, {});
        return { headers: {}, next: () => ({ body, headers: { authorization: `Bearer ${tokens[k++ % tokens.length]}` } }) };
      };
      const load = await meLoad(gateway);
      const beforeLoad = before ? await meLoad(before) : undefined;
      const { sides: [g, a], beforeSide } = await scenario('me', [{ name: 'gateway', run: (s, m) => drive(gateway, load, s, m) }, { name: nameApollo, run: onApollo }], beforeLoad, before);
      const ratio = pairedRatio(g, a);
      results.push(withBefore({ name: 'me (bearer)', status: 'ran', gateway: g, references: [a], ratio, ratioTo: 'apollo', target: '≥0.4×', met: ratio >= 0.4 }, beforeSide));
    }

    // refresh: every request a distinct, never-used refresh token from the pre-minted pool
    if (ONLY.has('refresh')) {
      log('\nrefresh (each request a fresh refresh token)');
      const load: Load = { headers: { 'x-api-key': app.publishableKey }, next: () => ({ body: gql(REFRESH, { token: takeRefreshToken() }) }) };
      const { sides: [g, a], beforeSide } = await scenario('refresh', [{ name: 'gateway', run: (s, m) => drive(gateway, load, s, m) }, { name: nameApollo, run: onApollo }], load, before);
      const ratio = pairedRatio(g, a);
      results.push(withBefore({
        name: 'refresh', status: 'ran', gateway: g, references: [a], ratio, ratioTo: 'apollo', target: '≥0.15×', met: ratio >= 0.15,
        extra: { pool: `${nextRefresh} of ${refreshTokens.length} pre-minted refresh tokens used${nextRefresh >= refreshTokens.length ? ' — EXHAUSTED, raise --refresh-pool' : ''}` },
      }, beforeSide));
    }

    // login: distinct users in sequence (per-account limits never meet), vs the hash bound
    if (ONLY.has('login')) {
      log(`\nlogin (vs the hash bound: argon2id verify, concurrency ${HASH_CONCURRENCY})`);
      let nextUser = 0;
      const load: Load = {
        headers: { 'x-api-key': app.publishableKey },
        next: () => ({ body: gql(LOGIN, { input: { email: emailOf(nextUser++ % Math.floor(USERS / 2)), password: BENCH_PASSWORD } }) }),
      };
      const { sides: [g, h], beforeSide } = await scenario('login', [{ name: 'gateway', run: (s, m) => drive(gateway, load, s, m) }, { name: 'hash-bound', run: (s) => driveHash(hash, s) }], load, before);
      const ratio = pairedRatio(g, h);
      results.push(withBefore({ name: 'login', status: 'ran', gateway: g, references: [h], ratio, ratioTo: 'hash', target: '≥0.9×', met: ratio >= 0.9 }, beforeSide));
    }

    // requestOtp + validateOtp pairs, when the schema has them
    if (ONLY.has('otp')) results.push(await otpScenario(gateway, app, file));

    // hostile documents with no key: CPU per refusal against CPU per normal checkEmail
    if (ONLY.has('hostile')) results.push(...(await hostileScenario(gateway, app, before)));

    for (const r of results) if (r.gateway && r.references?.[0] && r.ratio !== undefined) r.cpuRatio = r.references[0].cpuUs / r.gateway.cpuUs;
    // The gateway under test (its OTP sides included; not the --before-build one).
    const gatewayRss = Math.max(
      idleRss.gateway,
      ...results.flatMap((r) => [r.gateway, ...(r.references ?? [])].filter((s) => s && (s.server === 'gateway' || s.server.startsWith('gateway '))).map((s) => s!.rssPeakMB)),
    );
    printTable(results, gatewayRss);

    const baseline = flags.baseline ? compareBaseline(flags.baseline, results) : undefined;

    const commit = (() => {
      try {
        return execSync('git rev-parse --short HEAD', { cwd: REPO, encoding: 'utf8' }).trim() + (execSync('git status --porcelain src', { cwd: REPO, encoding: 'utf8' }).trim() ? '+dirty' : '');
      } catch {
        return 'unknown';
      }
    })();
    const report = {
      when: new Date().toISOString(),
      commit,
      machine: { cores: CORES, cpu: cpus()[0]?.model, node: process.version, loadavg: readLoadavg() },
      options: { users: USERS, duration: DURATION, connections: CONNECTIONS, warmup: WARMUP, rounds: ROUNDS, hashConcurrency: HASH_CONCURRENCY, sampleEvery: SAMPLE_EVERY, logLevel: flags['log-level'] },
      seeding: { userRowsPerSecond: USERS / userSeconds },
      idleRssMB: idleRss,
      gatewayPeakRssMB: gatewayRss,
      scenarios: results,
      baseline,
      seconds: (Date.now() - started) / 1000,
    };
    const resultsDir = join(REPO, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const out = join(resultsDir, `bench-${USERS}-${report.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    log(`written ${out} (${fmt(report.seconds, 0)} s in all)`);

    if (flags.profile) {
      await gateway.stop();
      log(`\ngateway CPU profile (from ready to stop; open in Chrome DevTools or \`npx tsx bench/lib/profile.ts FILE\`): ${profileFile}`);
      log(summarizeProfile(JSON.parse(readFileSync(profileFile, 'utf8'))));
    }
  } finally {
    await stopAll();
  }
}

function readLoadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').trim();
  } catch {
    return '';
  }
}

/** `--baseline FILE`: p99 of lookups and login against an earlier run (the 1M-users check: within 1.2×). */
function compareBaseline(path: string, results: ScenarioResult[]) {
  const before = JSON.parse(readFileSync(path, 'utf8')) as { options: { users: number }; scenarios: ScenarioResult[] };
  const rows: Record<string, { p99: number; baselineP99: number; ratio: number; met: boolean }> = {};
  for (const name of ['checkEmail', 'user(email)', 'login']) {
    const now = results.find((r) => r.name === name)?.gateway;
    const then = before.scenarios.find((r) => r.name === name)?.gateway;
    if (!now || !then) continue;
    const ratio = now.p99 / then.p99;
    rows[name] = { p99: now.p99, baselineP99: then.p99, ratio, met: ratio <= 1.2 };
    log(`vs baseline (${before.options.users} users): ${name} p99 ${fmt(now.p99)} ms vs ${fmt(then.p99)} ms = ${fmt(ratio, 2)}× (target ≤ 1.2×: ${ratio <= 1.2 ? 'met' : 'MISSED'})`);
  }
  return { file: path, users: before.options.users, p99: rows };
}

/**
 * Issue 11, finding 5: documents sent with no key that cost CPU before anything refuses them,
 * each request a distinct document (a counter in a comment), as an attacker defeats Apollo's
 * cache of parsed and validated documents. Each is driven like checkEmail, on the same
 * connections, alternating with a normal checkEmail load; the figure that matters is the
 * server's CPU µs per refused document against its CPU µs per checkEmail.
 */
async function hostileScenario(gateway: Server, app: BenchApp, before: Server | undefined): Promise<ScenarioResult[]> {
  let n = 0;
  const distinct = (document: string): Load => ({ headers: {}, next: () => ({ body: gql(`# ${n++}\n${document}`, { e: 'ada@example.com' }) }) });
  const copies = (count: number) => `query Copies($e: String!) { ${'checkEmail(email: $e) { exists } '.repeat(count)}}`;
  const levels = 16;
  const doubling = Array.from({ length: levels }, (_, i) =>
    i === levels - 1 ? `fragment T${i} on __Type { name }` : `fragment T${i} on __Type { ofType { ...T${i + 1} } ... on __Type { ofType { ...T${i + 1} } } }`);
  const documents = [
    { name: 'hostile: 2,756 checkEmail (91 KB)', load: distinct(copies(2_756)) },
    { name: 'hostile: 90 checkEmail (3 KB)', load: distinct(copies(90)) },
    { name: `hostile: fragment doubling ×${levels}`, load: distinct(`query Q($e: String) { __type(name: "User") { ...T0 } } ${doubling.join(' ')}`) },
  ];
  const results: ScenarioResult[] = [];
  for (const { name, load } of documents) {
    // What the refusal says, once per server (the load counts non-2xx answers as errors).
    const answers: string[] = [];
    for (const server of [gateway, ...(before ? [before] : [])]) {
      const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: load.next().body });
      const json = (await response.json().catch(() => ({}))) as { errors?: { extensions?: { code?: string } }[] };
      answers.push(`${server.name}: ${response.status} ${json.errors?.map((e) => e.extensions?.code).join(',') ?? 'no errors'}`);
    }
    log(`\n${name} (no key; ${answers.join('; ')})`);
    const runners = [
      { name: 'gateway', run: (s: number, m: boolean) => drive(gateway, load, s, m) },
      { name: 'gateway checkEmail', run: (s: number, m: boolean) => drive(gateway, checkEmailLoad(app), s, m) },
      // The same checkEmail, but a new document each time: parsed and validated on every request.
      { name: 'checkEmail, new doc', run: (s: number, m: boolean) => drive(gateway, { ...distinct('query CheckEmail($e: String!) { checkEmail(email: $e) { exists isSocial } }'), headers: { 'x-api-key': app.publishableKey } }, s, m) },
      ...(before ? [{ name: 'gateway-before', run: (s: number, m: boolean) => drive(before, load, s, m) }] : []),
    ];
    const [g, normal, fresh, beforeSide] = await alternate(name, runners);
    const cpu = g.cpuUs / normal.cpuUs;
    results.push({
      name, status: 'ran', gateway: g, references: beforeSide ? [normal, fresh, beforeSide] : [normal, fresh], ratio: pairedRatio(g, normal), ratioTo: 'checkEmail',
      target: 'refusal CPU < checkEmail CPU', met: cpu < 1,
      extra: {
        answers: answers.join('; '),
        cpu: `CPU per refused document ${fmt(g.cpuUs, 0)} µs = ${fmt(cpu, 2)}× a normal checkEmail (${fmt(normal.cpuUs, 0)} µs), ${fmt(g.cpuUs / fresh.cpuUs, 2)}× one with a new document (${fmt(fresh.cpuUs, 0)} µs)${beforeSide ? `; before: ${fmt(beforeSide.cpuUs, 0)} µs = ${fmt(beforeSide.cpuUs / normal.cpuUs, 2)}×` : ''}`,
      },
    });
  }
  return results;
}

/** requestOtp then validateOtp for distinct users, the codes read from the development outbox in between. */
async function otpScenario(gateway: Server, app: BenchApp, file: string): Promise<ScenarioResult> {
  const name = 'requestOtp+validateOtp';
  const skip = (note: string): ScenarioResult => {
    log(`\n${name}: skipped: ${note}`);
    return { name, status: 'skipped', note };
  };
  const schema = readFileSync(join(REPO, 'schema.graphql'), 'utf8');
  if (!/\brequestOtp\(/.test(schema) || !/\bvalidateOtp\(/.test(schema)) return skip('not available yet (no requestOtp/validateOtp in schema.graphql)');
  const introspection = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __schema { mutationType { fields { name } } } }' }),
  }).then((r) => r.json() as Promise<{ data?: { __schema?: { mutationType?: { fields?: { name: string }[] } } } }>).catch(() => undefined);
  const served = new Set(introspection?.data?.__schema?.mutationType?.fields?.map((f) => f.name) ?? []);
  if (!served.has('requestOtp') || !served.has('validateOtp')) return skip('in schema.graphql but not served by this build of the gateway');

  log(`\n${name} (distinct users; codes from the development outbox)`);
  // Users from the upper half (login takes the lower half): a destination gets one code per 30 s.
  const emails: string[] = [];
  let next = Math.floor(USERS / 2);
  const request: Load = {
    headers: { 'x-api-key': app.publishableKey },
    next: () => {
      const email = emailOf(next++);
      if (next >= USERS) next = Math.floor(USERS / 2);
      emails.push(email);
      return { body: gql(REQUEST_OTP, { input: { email, purpose: 'LOGIN' } }) };
    },
  };
  if (WARMUP > 0) await drive(gateway, request, WARMUP, false);
  const requested = await drive(gateway, request, DURATION, true);
  const outbox = await readOutbox(file, app.appId);
  if (!outbox) return skip('no outbox_message table: cannot read the codes');
  const pairs: { email: string; code: string }[] = [];
  for (const email of emails) {
    const body = outbox.get(email);
    const code = body && /(?<![\d-])(\d{4,8})(?![\d-])/.exec(body)?.[1];
    if (code) pairs.push({ email, code });
    outbox.delete(email);
  }
  log(`  requestOtp ${fmt(requested.rps, 0)} req/s p50 ${fmt(requested.p50)} ms p99 ${fmt(requested.p99)} ms errors ${requested.errors}; ${pairs.length} codes found in the outbox`);
  if (pairs.length === 0) return skip('requestOtp ran but no code could be read from the outbox');
  let k = 0;
  const validate: Load = {
    headers: { 'x-api-key': app.publishableKey },
    amount: pairs.length,
    next: () => {
      const pair = pairs[k++ % pairs.length];
      return { body: gql(VALIDATE_OTP, { input: { email: pair.email, code: pair.code } }) };
    },
  };
  const validated = await drive(gateway, validate, DURATION * 3, true);
  log(`  validateOtp ${fmt(validated.rps, 0)} req/s p50 ${fmt(validated.p50)} ms p99 ${fmt(validated.p99)} ms errors ${validated.errors}`);
  const g = side('gateway requestOtp', [requested]);
  const v = side('gateway validateOtp', [validated]);
  const pairRate = 1 / (1 / requested.rps + 1 / validated.rps);
  return {
    name, status: 'ran', gateway: g, references: [v], target: '(none)', met: null,
    extra: { pairs: `${fmt(pairRate, 0)} pairs/s (requestOtp ${fmt(requested.rps, 0)}/s, validateOtp ${fmt(validated.rps, 0)}/s; one round, no reference)` },
  };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
