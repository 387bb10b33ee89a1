/**
 * Issue 13's targets, judged from one run's results: each `met`, `not met`, or `not measured`
 * (its scenario or its reference did not run, e.g. under --only or --no-peer), with the
 * figures it was judged on. Throughput ratios are the median of per-round paired ratios
 * (each gateway round against the reference round run next to it); the CPU ratio (reference
 * CPU µs per request / the gateway's) is shown beside, as it is less disturbed by a busy machine.
 */
import { emptyRound, pairedRatio, type ScenarioResult, type Side } from './measure';

export type Verdict = 'met' | 'not met' | 'not measured';

export interface Target {
  target: string;
  verdict: Verdict;
  figures: string;
}

/** The server names bench/run.ts gives its sides. */
export const SIDE = {
  gateway: 'gateway',
  gatewayBefore: 'gateway-before',
  apollo: 'apollo-reference',
  hash: 'hash-bound',
  peerSession: 'better-auth get-session',
  peerSignIn: 'better-auth sign-in',
  peerHash: 'hash-bound better-auth',
  peerOtpSend: 'better-auth otp-send',
  peerOtpSignIn: 'better-auth otp-sign-in',
} as const;

export interface BaselineComparison {
  file?: string;
  users: number;
  p99: Record<string, { p99: number; baselineP99: number; ratio: number; met: boolean }>;
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

function sideOf(results: ScenarioResult[], scenario: string, server: string): Side | undefined {
  const r = results.find((x) => x.name === scenario && x.status === 'ran');
  if (!r) return undefined;
  return [r.gateway, ...(r.references ?? [])].find((s) => s?.server === server);
}

const notMeasured = (target: string, why: string): Target => ({ target, verdict: 'not measured', figures: why });

/** Sides of which a round answered no request: their ratio is 0/0 or x/0, not a figure. */
function emptySides(...sides: Side[]): string | undefined {
  const empty = sides.filter(emptyRound).map((s) => s.server);
  return empty.length ? `no request completed in a round of ${empty.join(', ')} (runs shorter than their latency: raise --duration or lower --connections)` : undefined;
}

/** gateway / reference in req/s (paired) in one scenario, against `min`. */
function ratioTarget(results: ScenarioResult[], target: string, scenario: string, reference: string, min: number): Target {
  const g = sideOf(results, scenario, SIDE.gateway);
  const ref = sideOf(results, scenario, reference);
  if (!g || !ref) return notMeasured(target, g ? `${reference} did not run` : `${scenario} did not run`);
  const empty = emptySides(g, ref);
  if (empty) return notMeasured(target, empty);
  const ratio = pairedRatio(g, ref);
  return {
    target,
    verdict: ratio >= min ? 'met' : 'not met',
    figures: `${fmt(ratio)}× (gateway ${fmt(g.rps, 0)} req/s vs ${ref.server} ${fmt(ref.rps, 0)}; CPU µs/req ${fmt(g.cpuUs, 0)} vs ${fmt(ref.cpuUs, 0)}, cpu ratio ${fmt(ref.cpuUs / g.cpuUs)}×)`,
  };
}

function p99Target(results: ScenarioResult[], target: string, scenario: string, max: number): Target {
  const g = sideOf(results, scenario, SIDE.gateway);
  const ref = sideOf(results, scenario, SIDE.apollo);
  if (!g || !ref) return notMeasured(target, `${scenario} did not run`);
  const empty = emptySides(g, ref);
  if (empty) return notMeasured(target, empty);
  const ratio = g.p99 / ref.p99;
  return { target, verdict: ratio <= max ? 'met' : 'not met', figures: `${fmt(ratio)}× (p99 ${fmt(g.p99, 1)} ms vs ${fmt(ref.p99, 1)} ms)` };
}

function loginTarget(results: ScenarioResult[]): Target {
  const target = 'login ≥ 0.9× the hash bound';
  const g = sideOf(results, 'login', SIDE.gateway);
  const hash = sideOf(results, 'login', SIDE.hash);
  if (!g || !hash) return notMeasured(target, 'login did not run');
  const empty = emptySides(g, hash);
  if (empty) return notMeasured(target, empty);
  const ratio = pairedRatio(g, hash);
  let figures = `${fmt(ratio)}× (gateway ${fmt(g.rps, 0)} logins/s vs argon2id bound ${fmt(hash.rps, 0)}/s)`;
  const peer = sideOf(results, 'login', SIDE.peerSignIn);
  const peerHash = sideOf(results, 'login', SIDE.peerHash);
  if (peer && peerHash && !emptyRound(peer) && !emptyRound(peerHash)) {
    figures += `; peer: better-auth sign-in ${fmt(peer.rps, 0)}/s = ${fmt(pairedRatio(peer, peerHash))}× its scrypt bound ${fmt(peerHash.rps, 0)}/s; raw gateway/peer ${fmt(pairedRatio(g, peer))}×`;
  }
  return { target, verdict: ratio >= 0.9 ? 'met' : 'not met', figures };
}

/** The gateway's own peak RSS in each scenario that ran. */
function rssTarget(results: ScenarioResult[], all: string[]): Target {
  const target = 'RSS < 250 MB at peak in every scenario';
  const peaks = results.filter((r) => r.status === 'ran' && r.gateway).map((r) => ({ name: r.name, mb: r.gateway!.rssPeakMB }));
  if (peaks.length === 0) return notMeasured(target, 'no scenario ran');
  const missing = all.filter((name) => !peaks.some((p) => p.name === name));
  const worst = Math.max(...peaks.map((p) => p.mb));
  const figures = peaks.map((p) => `${p.name} ${fmt(p.mb, 0)}`).join(', ') + ' MB' + (missing.length ? `; not measured: ${missing.join(', ')}` : '');
  if (worst >= 250) return { target, verdict: 'not met', figures };
  return { target, verdict: missing.length ? 'not measured' : 'met', figures: missing.length ? `below 250 MB where measured: ${figures}` : figures };
}

function scaleTarget(baseline: BaselineComparison | undefined, users: number): Target {
  const target = '--users 1000000: lookup and login p99 within 1.2× of 100k';
  if (!baseline) return notMeasured(target, 'needs --users 1000000 --baseline <a 100k result>');
  if (users < 1_000_000 || baseline.users > 100_000) return notMeasured(target, `this run has ${users} users against a ${baseline.users}-user baseline`);
  const rows = Object.entries(baseline.p99);
  if (rows.length === 0) return notMeasured(target, 'no lookup or login in both runs');
  const figures = rows.map(([name, r]) => `${name} ${fmt(r.ratio)}× (${fmt(r.p99, 1)} vs ${fmt(r.baselineP99, 1)} ms)`).join(', ');
  return { target, verdict: rows.every(([, r]) => r.met) ? 'met' : 'not met', figures };
}

/** Every run of every side: the gateway's, and the references' (a reference with errors makes its ratio meaningless). */
function errorsTarget(results: ScenarioResult[]): Target {
  const target = '0 errors in every run';
  const sides = results.filter((r) => r.status === 'ran').flatMap((r) => [r.gateway, ...(r.references ?? [])].filter((s): s is Side => !!s).map((s) => ({ scenario: r.name, s })));
  if (sides.length === 0) return notMeasured(target, 'no scenario ran');
  // A hostile document's answer is QUERY_TOO_COMPLEX by design: those refusals are the result,
  // not errors, from the gateway and from the --before-build gateway alike.
  const refusedByDesign = (scenario: string, s: Side) =>
    scenario.startsWith('hostile') && (s.server === SIDE.gateway || s.server === SIDE.gatewayBefore) && Object.keys(s.errorDetail ?? {}).every((code) => code === 'QUERY_TOO_COMPLEX');
  const bad = sides.filter(({ scenario, s }) => s.errors > 0 && !refusedByDesign(scenario, s));
  if (bad.length === 0) return { target, verdict: 'met', figures: `0 in ${sides.reduce((n, { s }) => n + s.rounds.length, 0)} runs` };
  return { target, verdict: 'not met', figures: bad.map(({ scenario, s }) => `${scenario}/${s.server} ${s.errors} ${JSON.stringify(s.errorDetail)}`).join('; ') };
}

export function judgeTargets(results: ScenarioResult[], scenarios: string[], users: number, baseline?: BaselineComparison): Target[] {
  return [
    ratioTarget(results, 'checkEmail ≥ 0.7× the Apollo reference', 'checkEmail', SIDE.apollo, 0.7),
    ratioTarget(results, 'user(email) ≥ 0.5× the Apollo reference', 'user(email)', SIDE.apollo, 0.5),
    p99Target(results, 'checkEmail p99 ≤ 1.5× the reference’s', 'checkEmail', 1.5),
    p99Target(results, 'user(email) p99 ≤ 1.5× the reference’s', 'user(email)', 1.5),
    ratioTarget(results, 'me ≥ 0.5× the Apollo reference', 'me (bearer)', SIDE.apollo, 0.5),
    ratioTarget(results, 'me ≥ 3× better-auth get-session', 'me (bearer)', SIDE.peerSession, 3),
    ratioTarget(results, 'refresh ≥ 0.15× the Apollo reference', 'refresh', SIDE.apollo, 0.15),
    ratioTarget(results, 'refresh ≥ 1× better-auth get-session', 'refresh', SIDE.peerSession, 1),
    loginTarget(results),
    ratioTarget(results, 'requestOtp ≥ 1.5× better-auth OTP send', 'requestOtp', SIDE.peerOtpSend, 1.5),
    ratioTarget(results, 'validateOtp ≥ 1× better-auth OTP sign-in', 'validateOtp', SIDE.peerOtpSignIn, 1),
    rssTarget(results, scenarios),
    scaleTarget(baseline, users),
    errorsTarget(results),
  ];
}

export function printTargets(targets: Target[], node: string, log: (line: string) => void): void {
  log(`targets (issue 13; node ${node}):`);
  const width = Math.max(...targets.map((t) => t.target.length));
  for (const t of targets) log(`  ${t.target.padEnd(width)}  ${t.verdict.padEnd(12)}  ${t.figures}`);
}
