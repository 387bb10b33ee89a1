/**
 * `npm run bench`: how fast the gateway is, against the floor and a peer (see bench/README.md).
 *
 *   npm run bench -- [--users 100000] [--duration 10] [--connections 50] [--warmup 3]
 *                    [--rounds 3] [--only checkEmail,login,hostile,…] [--profile] [--baseline FILE]
 *                    [--before-build DIR] [--no-peer] [--server-logs DIR]
 *
 * Starts the gateway, the Apollo reference, the raw floor, the hash bound and the peer
 * (better-auth, with its own hash bound) as child processes on freshly seeded SQLite files,
 * drives them with autocannon on loopback, alternating gateway and reference runs within each
 * scenario so drift on this shared 2-core machine cancels out, prints a table and issue 13's
 * targets (met / not met / not measured) and writes the same as JSON under bench/results/.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildServers, gatewayRuntime, keepServerLogs, REPO, rssMB, startServer, type Server } from './lib/children';
import { emptyRound, makeDriver, pairedRatio, pause, side, type Load, type RunFigures, type ScenarioResult, type Side } from './lib/measure';
import { getSessionLoad, otpSignInLoad, peerSessionCookies, readPeerOtps, sendOtpLoad, signInLoad } from './lib/peer-load';
import { peerVersions, seedPeer } from './lib/peer-seed';
import { summarizeProfile } from './lib/profile';
import { BENCH_PASSWORD, createSchemaAndApp, emailOf, hashBenchPassword, readOutbox, seedSessions, seedUsers, type BenchApp } from './lib/seed';
import { judgeTargets, printTargets, SIDE, type BaselineComparison } from './lib/targets';

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
    'server-logs': { type: 'string' },
    'before-build': { type: 'string' },
    'no-peer': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  console.log(readFileSync(__filename, 'utf8').split('\n').slice(1, 13).join('\n'));
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
if (flags['server-logs']) keepServerLogs(flags['server-logs']);
const HASH_CONCURRENCY = CORES * 2;
const SCENARIOS = ['checkEmail', 'user', 'me', 'refresh', 'login', 'otp', 'hostile'] as const;
type ScenarioName = (typeof SCENARIOS)[number];
const ONLY = new Set<ScenarioName>(
  (flags.only ? flags.only.split(',') : SCENARIOS).map((s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario ${s} (${SCENARIOS.join(', ')})`);
    return s as ScenarioName;
  }),
);
/** The scenarios that have a better-auth side; the peer is seeded and started only for them. */
const WITH_PEER = !flags['no-peer'] && (['me', 'refresh', 'login', 'otp'] as const).some((s) => ONLY.has(s));
/** The names of every result a full run yields (what "every scenario" means for the targets). */
const RESULT_NAMES = ['checkEmail', 'user(email)', 'me (bearer)', 'refresh', 'login', 'requestOtp', 'validateOtp'];
/** Refresh tokens are single use: enough for the gateway at an assumed ceiling of 5k refreshes/s, plus the `me` tokens. */
const REFRESH_POOL = flags['refresh-pool'] ? int('refresh-pool', flags['refresh-pool'], 100) : ONLY.has('refresh') ? 5000 * (ROUNDS * DURATION + WARMUP) * (flags['before-build'] ? 2 : 1) + 200 : 200;

// ---------------------------------------------------------------------------------------------
// measuring (bench/lib/measure.ts)

const { drive, driveHash } = makeDriver({ connections: CONNECTIONS, sampleEvery: SAMPLE_EVERY, hashConcurrency: HASH_CONCURRENCY });

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
      log(`  ${label} round ${round}/${ROUNDS} ${r.name.padEnd(24)} ${fmt(figures.rps, 0).padStart(7)} req/s  p50 ${fmt(figures.p50)} ms  p99 ${fmt(figures.p99)} ms  errors ${figures.errors}  cpu ${fmt(figures.cpuUs, 0)} µs/req  rss ${fmt(figures.rssPeakMB, 0)} MB`);
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

// ---------------------------------------------------------------------------------------------
// output

const fmt = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const log = (line: string) => console.log(line);

function printTable(results: ScenarioResult[], gatewayRss: number): void {
  const rows: string[][] = [['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/req', 'RSS MB', 'spread', 'ratio']];
  for (const r of results) {
    if (r.status === 'skipped') {
      rows.push([r.name, `skipped: ${r.note ?? ''}`]);
      continue;
    }
    const g = r.gateway!;
    rows.push([r.name, g.server, fmt(g.rps, 0), fmt(g.p50), fmt(g.p99), String(g.errors), fmt(g.cpuUs, 0), fmt(g.rssPeakMB, 0), `±${fmt(g.spread * 50, 0)}%`,
      r.ratio === undefined ? '' : `${fmt(r.ratio, 2)}× ${r.ratioTo} (cpu ${fmt(r.cpuRatio, 2)}×)`]);
    for (const ref of r.references ?? []) {
      rows.push(['', ref.server, fmt(ref.rps, 0), fmt(ref.p50), fmt(ref.p99), String(ref.errors), fmt(ref.cpuUs, 0), fmt(ref.rssPeakMB, 0), `±${fmt(ref.spread * 50, 0)}%`, '']);
    }
    for (const [k, v] of Object.entries(r.extra ?? {})) if (typeof v === 'string') rows.push(['', `  ${k}: ${v}`]);
  }
  rows.push(['RSS', 'gateway peak', '', '', '', '', '', fmt(gatewayRss, 0), '', '']);
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

    // The peer: its own file (its tables are named "user" and "session" too), the same users and password.
    const peerFile = join(dir, 'peer.db');
    let peerHash = '';
    if (WITH_PEER) {
      t = Date.now();
      peerHash = await seedPeer(peerFile, USERS, emailOf, BENCH_PASSWORD);
      log(`  peer (better-auth): ${USERS} users (1 signed up, ${USERS - 1} copies of its rows) in ${fmt((Date.now() - t) / 1000)} s`);
    }

    const env = { BENCH_DB: file, BENCH_APP_ID: app.appId, BENCH_LOG_LEVEL: flags['log-level']!, BENCH_HASH: passwordHash, BENCH_PASSWORD };
    const profileFile = join(tmpdir(), `gatehouse-gateway-${Date.now()}.cpuprofile`);
    const runtime = gatewayRuntime(env);
    const gateway = await startServer('gateway', flags.profile ? { ...runtime.env, BENCH_PROFILE: profileFile } : runtime.env, runtime.nodeArgs);
    servers.push(gateway);
    // --before-build DIR: another build of the gateway (bench/tsconfig.json compiled from an older
    // tree, see bench/README.md) run as a third side of every gateway scenario: before/after figures.
    // Its environment may differ from this gateway's (BENCH_BEFORE_ENV, see gatewayRuntime).
    const before = flags['before-build'] ? await startServer('gateway-before', runtime.beforeEnv, runtime.nodeArgs, flags['before-build']) : undefined;
    if (before) servers.push(before);
    const apollo = await startServer('apollo-reference', env);
    servers.push(apollo);
    const floor = await startServer('raw-floor', env);
    servers.push(floor);
    const hash = await startServer('hash-bound', env);
    servers.push(hash);
    const peer = WITH_PEER ? await startServer('better-auth', { BENCH_PEER_DB: peerFile }) : undefined;
    if (peer) servers.push(peer);
    const peerHashBound = WITH_PEER ? await startServer('hash-bound-peer', { BENCH_HASH: peerHash, BENCH_PASSWORD, BENCH_HASH_KIND: 'better-auth' }, [], undefined, 'hash-bound') : undefined;
    if (peerHashBound) servers.push(peerHashBound);
    const idleRss = { gateway: rssMB(gateway.pid), apollo: rssMB(apollo.pid), floor: rssMB(floor.pid), ...(peer ? { peer: rssMB(peer.pid) } : {}) };
    log(`servers up: gateway ${gateway.url} (pid ${gateway.pid}, ${fmt(idleRss.gateway, 0)} MB), apollo reference ${apollo.url}, raw floor ${floor.url}, hash bound (pid ${hash.pid})` +
      (peer ? `, better-auth ${peer.url} (pid ${peer.pid}, ${fmt(idleRss.peer, 0)} MB), its hash bound (pid ${peerHashBound!.pid})` : ''));
    // get-session (the peer's `me`, and the read refresh is compared with) takes the session cookies of 64 users signed in.
    const peerSession = peer && (ONLY.has('me') || ONLY.has('refresh'))
      ? getSessionLoad(peer, await peerSessionCookies(peer, Array.from({ length: 64 }, (_, i) => emailOf(i)), BENCH_PASSWORD))
      : undefined;
    const onPeerSession = peer && peerSession ? [{ name: SIDE.peerSession, run: (s: number, m: boolean) => drive(peer, peerSession, s, m) }] : [];
    /** The "vs better-auth" line of a scenario that had a peer side. */
    const vsPeer = (g: Side, p: Side | undefined) => (p ? { vsPeer: `gateway ${fmt(pairedRatio(g, p), 2)}× ${p.server} (cpu ${fmt(p.cpuUs / g.cpuUs, 2)}×)` } : {});

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
        extra: { vsFloor: `gateway ${fmt(pairedRatio(g, f), 2)}× raw floor; apollo reference ${fmt(pairedRatio(a, f), 2)}× raw floor` },
      }, beforeSide));
    }

    // user(email): secret key
    if (ONLY.has('user')) {
      log('\nuser(email) (secret key)');
      const load: Load = { headers: { 'x-api-key': app.secretKey }, next: () => ({ body: gql(FIND_USER, { email: emailOf(randomUser()) }) }) };
      const { sides: [g, a], beforeSide } = await scenario('user', [{ name: 'gateway', run: (s, m) => drive(gateway, load, s, m) }, { name: nameApollo, run: onApollo }], load, before);
      results.push(withBefore({ name: 'user(email)', status: 'ran', gateway: g, references: [a], ratio: pairedRatio(g, a), ratioTo: 'apollo' }, beforeSide));
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
      const { sides: [g, a, p], beforeSide } = await scenario('me', [
        { name: 'gateway', run: (s, m) => drive(gateway, load, s, m) },
        { name: nameApollo, run: onApollo },
        ...onPeerSession,
      ], beforeLoad, before);
      results.push(withBefore({ name: 'me (bearer)', status: 'ran', gateway: g, references: p ? [a, p] : [a], ratio: pairedRatio(g, a), ratioTo: 'apollo', extra: vsPeer(g, p) }, beforeSide));
    }

    // refresh: every request a distinct, never-used refresh token from the pre-minted pool
    if (ONLY.has('refresh')) {
      log('\nrefresh (each request a fresh refresh token)');
      const load: Load = { headers: { 'x-api-key': app.publishableKey }, next: () => ({ body: gql(REFRESH, { token: takeRefreshToken() }) }) };
      const { sides: [g, a, p], beforeSide } = await scenario('refresh', [
        { name: 'gateway', run: (s, m) => drive(gateway, load, s, m) },
        { name: nameApollo, run: onApollo },
        ...onPeerSession,
      ], load, before);
      results.push(withBefore({
        name: 'refresh', status: 'ran', gateway: g, references: p ? [a, p] : [a], ratio: pairedRatio(g, a), ratioTo: 'apollo',
        extra: { ...vsPeer(g, p), pool: `${nextRefresh} of ${refreshTokens.length} pre-minted refresh tokens used${nextRefresh >= refreshTokens.length ? ' — EXHAUSTED, raise --refresh-pool' : ''}` },
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
      // The peer's sign-in takes the same users (its own file), against its own scrypt bound.
      let nextPeerUser = 0;
      const peerRunners = peer && peerHashBound ? [
        { name: SIDE.peerSignIn, run: (s: number, m: boolean) => drive(peer, signInLoad(peer, () => emailOf(nextPeerUser++ % Math.floor(USERS / 2)), BENCH_PASSWORD), s, m) },
        { name: SIDE.peerHash, run: (s: number) => driveHash(peerHashBound, s) },
      ] : [];
      const { sides: [g, h, p, ph], beforeSide } = await scenario('login', [
        { name: 'gateway', run: (s, m) => drive(gateway, load, s, m) },
        { name: SIDE.hash, run: (s) => driveHash(hash, s) },
        ...peerRunners,
      ], load, before);
      const perHash = p && ph && (emptyRound(p) || emptyRound(ph))
        ? `gateway ${fmt(pairedRatio(g, h), 2)}× its argon2id bound; better-auth: no sign-in completed in a round (raise --duration)`
        : p && ph && `gateway ${fmt(pairedRatio(g, h), 2)}× its argon2id bound; better-auth ${fmt(pairedRatio(p, ph), 2)}× its scrypt bound; raw gateway ${fmt(pairedRatio(g, p), 2)}× better-auth`;
      const extra = perHash ? { perHash } : {};
      results.push(withBefore({ name: 'login', status: 'ran', gateway: g, references: p && ph ? [h, p, ph] : [h], ratio: pairedRatio(g, h), ratioTo: 'hash', extra }, beforeSide));
    }

    // requestOtp + validateOtp pairs, when the schema has them
    if (ONLY.has('otp')) results.push(...(await otpScenarios(gateway, app, file, peer, peerFile, before)));

    // hostile documents with no key: CPU per refusal against CPU per normal checkEmail (issue 11, finding 5)
    if (ONLY.has('hostile')) results.push(...(await hostileScenario(gateway, app, before)));

    for (const r of results) if (r.gateway && r.references?.[0] && r.ratio !== undefined) r.cpuRatio = r.references[0].cpuUs / r.gateway.cpuUs;
    // The gateway under test (its OTP sides included; not the --before-build one).
    const gatewayRss = Math.max(
      idleRss.gateway,
      ...results.flatMap((r) => [r.gateway, ...(r.references ?? [])].filter((s) => s && (s.server === 'gateway' || s.server.startsWith('gateway '))).map((s) => s!.rssPeakMB)),
    );
    printTable(results, gatewayRss);

    const baseline = flags.baseline ? compareBaseline(flags.baseline, results) : undefined;
    const targets = judgeTargets(results, RESULT_NAMES, USERS, baseline);
    printTargets(targets, process.version, log);
    log('');

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
      peer: WITH_PEER ? { ...peerVersions(REPO), seededUsers: USERS, url: peer?.url } : null,
      idleRssMB: idleRss,
      gatewayPeakRssMB: gatewayRss,
      targets,
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
function compareBaseline(path: string, results: ScenarioResult[]): BaselineComparison {
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
      extra: {
        target: 'refusal CPU < checkEmail CPU',
        met: cpu < 1,
        answers: answers.join('; '),
        cpu: `CPU per refused document ${fmt(g.cpuUs, 0)} µs = ${fmt(cpu, 2)}× a normal checkEmail (${fmt(normal.cpuUs, 0)} µs), ${fmt(g.cpuUs / fresh.cpuUs, 2)}× one with a new document (${fmt(fresh.cpuUs, 0)} µs)${beforeSide ? `; before: ${fmt(beforeSide.cpuUs, 0)} µs = ${fmt(beforeSide.cpuUs / normal.cpuUs, 2)}×` : ''}`,
      },
    });
  }
  return results;
}

/**
 * requestOtp then validateOtp for distinct users, ROUNDS × (gateway request, peer send, gateway
 * validate, peer sign-in): the gateway's codes read from its development outbox, the peer's
 * from its verification rows, between the two phases. Two results: requestOtp, validateOtp.
 * With --before-build, that gateway runs both phases too (after the peer), for users of the
 * lower half (login's, which leaves no codes), so no destination is asked twice within its cooldown.
 */
async function otpScenarios(gateway: Server, app: BenchApp, file: string, peer: Server | undefined, peerFile: string, before?: Server): Promise<ScenarioResult[]> {
  const skip = (note: string): ScenarioResult[] => {
    log(`\nrequestOtp+validateOtp: skipped: ${note}`);
    return [{ name: 'requestOtp', status: 'skipped', note }, { name: 'validateOtp', status: 'skipped', note }];
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

  log(`\nrequestOtp+validateOtp (distinct users; codes from the development outbox${peer ? ', the peer’s from its verification table' : ''})`);
  // Users from the upper half (login takes the lower half): a destination gets one code per 30 s.
  // Each side has its own sequence (and its own file), so both ask for the same users' codes.
  const upper = (start: number) => {
    let next = start;
    return () => {
      const email = emailOf(next++);
      if (next >= USERS) next = Math.floor(USERS / 2);
      return email;
    };
  };
  const gatewayEmail = upper(Math.floor(USERS / 2));
  const peerEmail = upper(Math.floor(USERS / 2));
  const beforeEmail = (() => {
    let next = 0;
    return () => emailOf(next++ % Math.floor(USERS / 2));
  })();
  const requestLoad = (emails: string[], nextEmail = gatewayEmail): Load => ({
    headers: { 'x-api-key': app.publishableKey },
    next: () => {
      const email = nextEmail();
      emails.push(email);
      return { body: gql(REQUEST_OTP, { input: { email, purpose: 'LOGIN' } }) };
    },
  });
  const sendLoad = (emails: string[]): Load | undefined =>
    peer &&
    sendOtpLoad(peer, () => {
      const email = peerEmail();
      emails.push(email);
      return email;
    });
  const validateLoad = (pairs: { email: string; code: string }[]): Load => {
    let k = 0;
    return {
      headers: { 'x-api-key': app.publishableKey },
      amount: pairs.length,
      next: () => {
        const pair = pairs[k++ % pairs.length];
        return { body: gql(VALIDATE_OTP, { input: { email: pair.email, code: pair.code } }) };
      },
    };
  };
  const line = (label: string, f: RunFigures) =>
    log(`  ${label.padEnd(28)} ${fmt(f.rps, 0).padStart(7)} req/s  p50 ${fmt(f.p50)} ms  p99 ${fmt(f.p99)} ms  errors ${f.errors}  cpu ${fmt(f.cpuUs, 0)} µs/req  rss ${fmt(f.rssPeakMB, 0)} MB`);

  if (WARMUP > 0) {
    await drive(gateway, requestLoad([]), WARMUP, false);
    const warm = sendLoad([]);
    if (warm && peer) await drive(peer, warm, WARMUP, false);
    if (before) await drive(before, requestLoad([], beforeEmail), WARMUP, false);
    await pause(1000);
  }
  const rounds = { request: [] as RunFigures[], validate: [] as RunFigures[], send: [] as RunFigures[], signIn: [] as RunFigures[], beforeRequest: [] as RunFigures[], beforeValidate: [] as RunFigures[] };
  for (let round = 1; round <= ROUNDS; round++) {
    const emails: string[] = [];
    const requested = await drive(gateway, requestLoad(emails), DURATION, true);
    rounds.request.push(requested);
    line(`round ${round}/${ROUNDS} gateway requestOtp`, requested);
    const peerEmails: string[] = [];
    const send = sendLoad(peerEmails);
    if (peer && send) {
      const sent = await drive(peer, send, DURATION, true);
      rounds.send.push(sent);
      line(`round ${round}/${ROUNDS} ${SIDE.peerOtpSend}`, sent);
    }
    const beforeEmails: string[] = [];
    if (before) {
      const requestedBefore = await drive(before, requestLoad(beforeEmails, beforeEmail), DURATION, true);
      rounds.beforeRequest.push(requestedBefore);
      line(`round ${round}/${ROUNDS} gateway-before requestOtp`, requestedBefore);
    }
    const outbox = await readOutbox(file, app.appId);
    if (!outbox) return skip('no outbox_message table: cannot read the codes');
    const pairs = codesFor(emails, (email) => outbox.get(email)?.match(/(?<![\d-])(\d{4,8})(?![\d-])/)?.[1]);
    if (pairs.length === 0) {
      return skip(requested.total ? 'requestOtp ran but no code could be read from the outbox' : 'no requestOtp completed in the run (raise --duration or lower --connections)');
    }
    const validated = await drive(gateway, validateLoad(pairs), DURATION * 3, true);
    rounds.validate.push(validated);
    line(`round ${round}/${ROUNDS} gateway validateOtp`, validated);
    if (peer) {
      const stored = readPeerOtps(peerFile);
      const peerPairs = codesFor(peerEmails, (email) => stored.get(email));
      if (peerPairs.length === 0) throw new Error('the peer sent codes but none is in its verification table');
      const signedIn = await drive(peer, otpSignInLoad(peer, peerPairs), DURATION * 3, true);
      rounds.signIn.push(signedIn);
      line(`round ${round}/${ROUNDS} ${SIDE.peerOtpSignIn}`, signedIn);
    }
    if (before) {
      const beforePairs = codesFor(beforeEmails, (email) => outbox.get(email)?.match(/(?<![\d-])(\d{4,8})(?![\d-])/)?.[1]);
      const validatedBefore = await drive(before, validateLoad(beforePairs), DURATION * 3, true);
      rounds.beforeValidate.push(validatedBefore);
      line(`round ${round}/${ROUNDS} gateway-before validateOtp`, validatedBefore);
    }
  }
  const result = (name: string, g: Side, p: Side | undefined): ScenarioResult => ({
    name, status: 'ran', gateway: g, references: p ? [p] : [], ...(p ? { ratio: pairedRatio(g, p), ratioTo: 'better-auth' } : {}),
  });
  const request = side(SIDE.gateway, rounds.request);
  const validate = side(SIDE.gateway, rounds.validate);
  const pairRate = 1 / (1 / request.rps + 1 / validate.rps);
  const beforeSide = (figures: RunFigures[]) => (before && figures.length ? side('gateway-before', figures) : undefined);
  return [
    withBefore({ ...result('requestOtp', request, peer ? side(SIDE.peerOtpSend, rounds.send) : undefined), extra: { pairs: `${fmt(pairRate, 0)} gateway request+validate pairs/s` } }, beforeSide(rounds.beforeRequest)),
    withBefore(result('validateOtp', validate, peer ? side(SIDE.peerOtpSignIn, rounds.signIn) : undefined), beforeSide(rounds.beforeValidate)),
  ];
}

/** The (email, code) pairs of one phase, each email once (the newest code wins). */
function codesFor(emails: string[], codeOf: (email: string) => string | undefined): { email: string; code: string }[] {
  const pairs = new Map<string, string>();
  for (const email of emails) {
    const code = codeOf(email);
    if (code) pairs.set(email, code);
  }
  return [...pairs].map(([email, code]) => ({ email, code }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
