import type { IncomingMessage, ServerResponse } from 'node:http';
import { App } from '../db/entities';
import type { Services } from '../services';
import type { RequestInfo } from './http-util';

/**
 * CORS for /graphql (SPEC §7): a browser page may call the gateway only from an origin that
 * at least one app lists in its `allowedOrigins` setting. Which app's key the page then uses
 * is the shield's business, not CORS's: CORS only decides whether the browser lets the page
 * read the answer. A foreign origin gets no CORS headers at all, so its browser blocks it.
 *
 * Requests without an Origin header (servers, curl) and same-origin requests (the playground)
 * skip all of this and cost nothing.
 */

/**
 * The request headers a preflight allows when it does not name any (or names them in a form
 * that is not a header list): content type, credentials, request id, and the two that pass
 * Apollo Server's CSRF check on GET queries. A preflight that names its headers gets exactly
 * those back: browser clients send tracing (`traceparent`, `tracestate`, `baggage`), Apollo's
 * `apollographql-client-name`/`-version` and more, and an origin an app trusts may send them.
 * (No `*`: it would not cover `authorization`.)
 */
export const ALLOWED_HEADERS = 'content-type, x-api-key, authorization, x-request-id, apollo-require-preflight, x-apollo-operation-name';
/** `Access-Control-Request-Headers` as browsers send it: header names (RFC 9110 tokens), comma-separated. */
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;
const MAX_HEADER_LIST = 2_000;
export const ALLOWED_METHODS = 'GET, POST, OPTIONS';
/** Browsers may reuse a preflight this long; short, so a removed origin stops working soon. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** How long the set of allowed origins is trusted before it is read again. */
const TTL_MS = 30_000;
/**
 * An origin not in the set triggers a re-read (an app may have just been given it, by the
 * CLI in another process), but at most this often: a flood of made-up origins costs at most
 * one small query per interval.
 */
const MISS_REFRESH_MS = 1_000;

export class CorsPolicy {
  private origins = new Set<string>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;

  constructor(private readonly services: Services) {}

  /** Whether some app allows this origin. Reads the apps' settings only when the cache is stale. */
  async isAllowed(origin: string): Promise<boolean> {
    const age = this.services.clock.now().getTime() - this.loadedAt;
    if (age > TTL_MS || (age > MISS_REFRESH_MS && !this.origins.has(origin))) await this.refresh();
    return this.origins.has(origin);
  }

  /** One query for all apps' settings; concurrent callers share it. */
  private refresh(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const em = this.services.orm.em.fork();
        const apps = await em.find(App, {});
        const origins = new Set<string>();
        for (const app of apps) for (const origin of this.services.apps.settingsOf(app).allowedOrigins) origins.add(origin);
        this.origins = origins;
      } catch (error) {
        // Keep the last known set; a broken database must not turn CORS into 500s.
        this.services.logger.warn({ err: error }, 'could not read allowed origins; keeping the previous set');
      } finally {
        this.loadedAt = this.services.clock.now().getTime();
        this.loading = null;
      }
    })();
    return this.loading;
  }

  /**
   * Applies CORS to a /graphql request. Answers a preflight (OPTIONS) itself and returns
   * true; for any other request it only adds headers and returns false.
   */
  async handle(req: IncomingMessage, res: ServerResponse, info: RequestInfo): Promise<boolean> {
    const origin = info.origin;
    const crossOrigin = origin !== null && !isSameOrigin(origin, req.headers.host);
    const allowed = crossOrigin && (await this.isAllowed(origin));
    if (req.method === 'OPTIONS') {
      const headers: Record<string, string | number> = { allow: ALLOWED_METHODS, vary: 'origin, access-control-request-headers', 'content-length': 0 };
      if (allowed) {
        const requested = req.headers['access-control-request-headers']?.trim();
        headers['access-control-allow-origin'] = origin;
        headers['access-control-allow-methods'] = ALLOWED_METHODS;
        headers['access-control-allow-headers'] = requested && requested.length <= MAX_HEADER_LIST && HEADER_LIST.test(requested) ? requested : ALLOWED_HEADERS;
        headers['access-control-max-age'] = PREFLIGHT_MAX_AGE_SECONDS;
      }
      res.writeHead(204, headers);
      res.end();
      return true;
    }
    // The answer depends on the Origin either way: a shared cache must not serve one to another.
    res.setHeader('vary', 'origin');
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', 'x-request-id');
    }
    return false;
  }
}

/** `Origin: http://host:port` against `Host: host:port`; scheme is ignored (a TLS proxy may sit in front). */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  const start = origin.indexOf('//');
  return start !== -1 && origin.slice(start + 2) === host;
}

export function createCors(services: Services): CorsPolicy {
  return new CorsPolicy(services);
}
