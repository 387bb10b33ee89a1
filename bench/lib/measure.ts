/**
 * Driving one server with autocannon (or the hash bound over IPC) and what a run yields:
 * requests/s, latency, errors, the server's peak RSS and its CPU µs per request. Sides and
 * scenario results are what bench/run.ts prints and bench/lib/targets.ts judges.
 */
import autocannon from 'autocannon';
import { cpuSeconds, sampleRss, type Server } from './children';

export interface RunFigures {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  /** non-2xx answers + socket errors/timeouts + bad 2xx bodies (GraphQL `errors`, …; sampled, scaled up). */
  errors: number;
  errorDetail: Record<string, number>;
  rssPeakMB: number;
  /** Server CPU time (user + system) per answered request, in µs (NaN when none was answered). */
  cpuUs: number;
}

export interface Load {
  /** Builds the body (and headers) of the next request. */
  next(): { body?: string; headers?: Record<string, string> };
  headers: Record<string, string>;
  /** POST (the default, with a JSON body) or GET. */
  method?: 'GET' | 'POST';
  /** Appended to the server's URL (the peer's endpoints live under one base URL). */
  path?: string;
  /** Stop after this many requests (single-use inputs). */
  amount?: number;
  /** What is wrong with a 2xx body, as an error code; undefined when it is fine. Default: GraphQL `errors`. */
  check?: (body: string) => string | undefined;
}

/** A 2xx GraphQL answer is an error when it carries `errors`; the code is the first one's. */
export function graphqlCheck(body: string): string | undefined {
  if (!body.includes('"errors"')) return undefined;
  try {
    return String(JSON.parse(body).errors?.[0]?.extensions?.code ?? 'no code');
  } catch {
    return 'unparsed';
  }
}

interface Counter {
  seen: number;
  bad: number;
  codes: Record<string, number>;
}

/** onResponse: every `sampleEvery`-th 2xx body is checked. */
function errorSampler(counter: Counter, sampleEvery: number, check: (body: string) => string | undefined) {
  let n = 0;
  return (status: number, body: string) => {
    if (status < 200 || status >= 300) return; // counted by autocannon as non2xx
    if (++n % sampleEvery !== 0) return;
    counter.seen++;
    const code = check(typeof body === 'string' ? body : String(body));
    if (code === undefined) return;
    counter.bad++;
    counter.codes[code] = (counter.codes[code] ?? 0) + 1;
  };
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface DriverOptions {
  connections: number;
  sampleEvery: number;
  /** Verifications in flight in the hash bound. */
  hashConcurrency: number;
}

export function makeDriver({ connections, sampleEvery, hashConcurrency }: DriverOptions) {
  async function drive(server: Server, load: Load, seconds: number, measure = true): Promise<RunFigures> {
    const counter: Counter = { seen: 0, bad: 0, codes: {} };
    const onResponse = errorSampler(counter, sampleEvery, load.check ?? graphqlCheck);
    const rss = sampleRss(server.pid);
    const cpuBefore = cpuSeconds(server.pid);
    const method = load.method ?? 'POST';
    const baseHeaders = method === 'POST' ? { 'content-type': 'application/json', ...load.headers } : load.headers;
    const result = await autocannon({
      url: server.url + (load.path ?? ''),
      connections,
      duration: seconds,
      amount: load.amount,
      pipelining: 1,
      timeout: 30,
      requests: [
        {
          method,
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
    const badBodies = Math.round(counter.bad * scale);
    if (measure) await pause(1000); // abandoned in-flight requests finish before the next run
    return {
      rps: result.requests.total / result.duration,
      total: result.requests.total,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.non2xx + result.errors + result.timeouts + badBodies,
      errorDetail,
      rssPeakMB,
      cpuUs: result.requests.total ? (cpu * 1e6) / result.requests.total : Number.NaN,
    };
  }

  /** A hash bound: password verifications/s on all cores, in its own process. */
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
      server.child.send({ type: 'run', ms: seconds * 1000, concurrency: hashConcurrency });
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
      cpuUs: result.count ? (cpu * 1e6) / result.count : Number.NaN,
    };
  }

  return { drive, driveHash };
}

// ---------------------------------------------------------------------------------------------
// sides and results

export interface Side {
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

export interface ScenarioResult {
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
  extra?: Record<string, unknown>;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function side(server: string, rounds: RunFigures[]): Side {
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
    cpuUs: median(rounds.map((r) => r.cpuUs).filter(Number.isFinite)),
    spread: rps ? (Math.max(...rounds.map((r) => r.rps)) - Math.min(...rounds.map((r) => r.rps))) / rps : 0,
  };
}

/** True when some round of the side answered nothing (a run shorter than its latency): no ratio can be judged on it. */
export const emptyRound = (s: Side) => s.rounds.some((r) => r.total === 0);

/** Median over rounds of a/b requests/s, round i of one paired with round i of the other (run next to each other). */
export function pairedRatio(a: Side, b: Side): number {
  return median(a.rounds.map((x, i) => x.rps / b.rounds[i].rps));
}
