import type { ApolloServerPlugin } from '@apollo/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestContext } from '../graphql/context';
import type { Services } from '../services';

/**
 * Prometheus metrics (SPEC §7, `GET /metrics`). Each gateway owns its Registry, so several
 * gateways in one process (the tests) never share or double-register a metric.
 *
 * Other modules count business events through the counters here, e.g.
 *   services.metrics?.signups.inc();
 *   services.metrics?.logins.inc({ result: 'success' });   // or 'failure', 'locked', …
 *   services.metrics?.codesSent.inc({ channel: 'email' });  // or 'sms'
 */
export interface Metrics {
  registry: Registry;
  /** GraphQL requests by operation name (see operationLabel for how names are bounded). */
  requests: Counter<'operation'>;
  /** Time from Apollo receiving a request to the answer being ready, by operation name. */
  duration: Histogram<'operation'>;
  /** Errors in GraphQL answers by `extensions.code` (SPEC §5). */
  errors: Counter<'code'>;
  signups: Counter<never>;
  logins: Counter<'result'>;
  codesSent: Counter<'channel'>;
  /**
   * Counter calls answered by the per-instance fallback because Redis failed, by limit
   * (login-account, login-ip, calls). Zero without REDIS_URL.
   */
  rateLimitFallbacks: Counter<'limit'>;
  /** Bounds operation names used as label values (see below). */
  operationLabel(name: string | null | undefined): string;
}

/**
 * Operation names are chosen by clients, and every distinct label value is a time series
 * kept forever: a client sending random names would grow memory without bound. So a name is
 * used as-is only if it is a plain GraphQL name and one of the first MAX_OPERATION_NAMES
 * seen; anything else is counted under a fixed label.
 */
const MAX_OPERATION_NAMES = 200;
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

export interface MetricsOptions {
  /**
   * Whether the shared counters reach Redis, read at each scrape as `gatehouse_redis_up`
   * (1 or 0). Only with REDIS_URL: without it there is no Redis to be up or down.
   */
  redisUp?: () => boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  // Process metrics (CPU, memory, event-loop lag, GC) under our prefix.
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  const registers = [registry];
  const seen = new Set<string>();
  const { redisUp } = options;
  if (redisUp) {
    new Gauge({
      name: 'gatehouse_redis_up',
      help: '1 while rate-limit counters are shared in Redis, 0 while they fall back to this instance',
      registers,
      collect() {
        this.set(redisUp() ? 1 : 0);
      },
    });
  }

  return {
    registry,
    requests: new Counter({
      name: 'gatehouse_graphql_requests_total',
      help: 'GraphQL requests by operation name',
      labelNames: ['operation'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'gatehouse_graphql_request_duration_seconds',
      help: 'GraphQL request latency by operation name',
      labelNames: ['operation'] as const,
      // From a cached lookup (~1 ms) to password hashing under load (hundreds of ms).
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    errors: new Counter({
      name: 'gatehouse_graphql_errors_total',
      help: 'Errors in GraphQL responses by extensions.code',
      labelNames: ['code'] as const,
      registers,
    }),
    signups: new Counter({ name: 'gatehouse_signups_total', help: 'Accounts created by sign-up', registers }),
    logins: new Counter({
      name: 'gatehouse_logins_total',
      help: 'Sign-in attempts by result',
      labelNames: ['result'] as const,
      registers,
    }),
    codesSent: new Counter({
      name: 'gatehouse_codes_sent_total',
      help: 'One-time codes and links sent by channel',
      labelNames: ['channel'] as const,
      registers,
    }),
    rateLimitFallbacks: new Counter({
      name: 'gatehouse_rate_limit_fallback_total',
      help: 'Rate-limit counter calls answered per instance because Redis failed, by limit',
      labelNames: ['limit'] as const,
      registers,
    }),
    operationLabel(name) {
      if (!name) return '(anonymous)';
      if (seen.has(name)) return name;
      if (!NAME.test(name) || seen.size >= MAX_OPERATION_NAMES) return '(other)';
      seen.add(name);
      return name;
    },
  };
}

/**
 * Counts every GraphQL request Apollo handles. Requests refused before GraphQL runs (bad
 * JSON, body too large, batches) are answered by the HTTP front and not counted here.
 */
export const metricsPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart({ contextValue, request }) {
    const metrics = contextValue.services.metrics;
    if (!metrics) return;
    const started = process.hrtime.bigint();
    return {
      async willSendResponse({ response, operationName, document }) {
        // A document that did not parse has no operation: count it apart from named ones.
        const operation = document ? metrics.operationLabel(operationName ?? request.operationName) : '(invalid)';
        metrics.requests.inc({ operation });
        metrics.duration.observe({ operation }, Number(process.hrtime.bigint() - started) / 1e9);
        if (response.body.kind !== 'single') return;
        for (const error of response.body.singleResult.errors ?? []) {
          const code = error.extensions?.code;
          metrics.errors.inc({ code: typeof code === 'string' ? code : 'UNKNOWN' });
        }
      },
    };
  },
};

/** `GET /metrics`: the Prometheus text exposition of this gateway's registry. */
export function metricsRoute(services: Services) {
  return async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const metrics = services.metrics;
    if (!metrics) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('metrics are not enabled\n');
      return;
    }
    const text = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
}
