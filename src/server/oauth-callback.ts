import type { ServerResponse } from 'node:http';
import type { Services } from '../services';
import type { RouteHandler } from './http';
import { readBody } from './http-util';

const PROVIDER_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const NO_STORE = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' };

/**
 * `GET /oauth/callback/:provider` (and `POST`, for providers that answer with
 * `response_mode=form_post`, as Apple must): the end of the social web redirect flow
 * (SPEC §4.9). It redirects to the page the flow was started for with `?lt=` (a login ticket
 * for exchangeLoginTicket) or `?error=CODE&error_description=…`; a state we never issued or
 * already used gets a plain 400 page (we do not know where to send that browser).
 */
export function oauthCallbackRoutes(services: Services): Record<string, RouteHandler> {
  const handle: RouteHandler = async (req, res, info) => {
    const providerId = info.path.slice('/oauth/callback/'.length);
    if (!PROVIDER_ID.test(providerId)) return page(res, 404, 'No such sign-in provider.');
    const method = req.method === 'POST' ? 'POST' : 'GET';
    const params = new URLSearchParams(method === 'POST' ? await readBody(req, services.config.bodyLimitBytes) : info.search.slice(1));
    const em = services.orm.em.fork();
    const outcome = await services.social.completeRedirect(em, providerId, params, method, (app) => services.apps.settingsOf(app));
    if ('failure' in outcome) return page(res, 400, outcome.failure);
    // 303: the browser follows with a GET whichever method brought it here.
    res.writeHead(303, { location: outcome.redirectTo, ...NO_STORE });
    res.end();
  };
  return { 'GET /oauth/callback/*': handle, 'POST /oauth/callback/*': handle };
}

function page(res: ServerResponse, status: number, message: string): void {
  const escaped = message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Sign-in</title></head><body><p>${escaped}</p></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    ...NO_STORE,
  });
  res.end(html);
}
