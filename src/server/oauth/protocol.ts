import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../../errors';
import { readBody, sendJson } from '../http-util';

/**
 * The OAuth 2.0 wire format shared by the endpoints: request parameters (form or JSON bodies),
 * RFC 6749 §5.2 error bodies, and the one mapping from our AppError codes to OAuth errors.
 */

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'slow_down'
  | 'server_error';

/** An OAuth error answer: status, `error`, `error_description`, extra headers. */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
    /** Our own error code (SPEC §5) when the answer comes from an AppError, for clients that switch on it. */
    readonly code?: string,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

/** Token, introspection and userinfo answers hold credentials or personal data: never cached (RFC 6749 §5.1). */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

export function sendOAuthJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, body, { ...NO_STORE, ...headers });
}

export function sendOAuthError(res: ServerResponse, error: OAuthError): void {
  const body: Record<string, unknown> = { error: error.error, error_description: error.description };
  if (error.code) body.code = error.code;
  sendOAuthJson(res, error.status, body, error.headers);
}

/**
 * RFC 6749 §5.2 allows only printable ASCII without `"` and `\` in error_description; our
 * messages are English sentences, so this only ever replaces typographic quotes.
 */
export function describeSafely(text: string): string {
  return text.replace(/[’‘]/g, "'").replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ' ').slice(0, 300);
}

/**
 * An AppError from the domain as the OAuth error a client library understands. Failed logins,
 * suspended accounts, bad, expired or reused refresh tokens are all `invalid_grant` (RFC 6749
 * §5.2: "the provided authorization grant … or refresh token is invalid, expired, revoked");
 * a login lockout is `invalid_grant` too, with `Retry-After`, because the grant is what is
 * refused (per-IP call limits, which refuse the caller, answer 429 `slow_down`: see
 * callLimitError). Our code rides along as `code`.
 */
export function fromAppError(error: AppError): OAuthError {
  const description = describeSafely(error.message);
  switch (error.code) {
    case 'INVALID_CREDENTIALS':
    case 'ACCOUNT_SUSPENDED':
    case 'INVALID_REFRESH_TOKEN':
    case 'REFRESH_TOKEN_REUSED':
      return new OAuthError('invalid_grant', description, 400, {}, error.code);
    case 'TOO_MANY_ATTEMPTS':
      return new OAuthError('invalid_grant', description, 400, retryAfter(error), error.code);
    case 'BAD_USER_INPUT':
      return error.extensions.field === 'scope'
        ? new OAuthError('invalid_scope', description, 400, {}, error.code)
        : new OAuthError('invalid_request', description, 400, {}, error.code);
    case 'METHOD_DISABLED':
      return new OAuthError('unauthorized_client', description, 400, {}, error.code);
    case 'INVALID_DOMAIN':
      return new OAuthError('invalid_client', description, 401, {}, error.code);
    default:
      return new OAuthError('invalid_request', description, 400, {}, error.code);
  }
}

/** A per-IP call limit (the same CallLimiter budget as the GraphQL operation): 429 `slow_down`. */
export function callLimitError(error: AppError): OAuthError {
  return new OAuthError('slow_down', describeSafely(error.message), 429, retryAfter(error), error.code);
}

function retryAfter(error: AppError): Record<string, string> {
  const seconds = error.extensions.retryAfter;
  return typeof seconds === 'number' ? { 'retry-after': String(seconds) } : {};
}

export type Params = Map<string, string>;

/**
 * The request parameters of a POST: `application/x-www-form-urlencoded` (RFC 6749's format)
 * or a JSON object of strings (what the SessionM reference sends). A parameter given twice is
 * refused (RFC 6749 §3.2); so are non-string JSON values and other media types.
 */
export async function readParams(req: IncomingMessage, limit: number): Promise<Params> {
  const text = await readBody(req, limit);
  const params: Params = new Map();
  if (text.trim().length === 0) return params;
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    for (const [key, value] of new URLSearchParams(text)) {
      if (params.has(key)) throw new OAuthError('invalid_request', `parameter ${describeSafely(key)} is given more than once`);
      params.set(key, value);
    }
    return params;
  }
  if (type === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OAuthError('invalid_request', 'the request body is not valid JSON');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new OAuthError('invalid_request', 'the JSON body must be an object');
    for (const [key, value] of Object.entries(body)) {
      if (value === null || value === undefined) continue;
      if (typeof value !== 'string') throw new OAuthError('invalid_request', `parameter ${describeSafely(key)} must be a string`);
      params.set(key, value);
    }
    return params;
  }
  throw new OAuthError('invalid_request', 'send the parameters as application/x-www-form-urlencoded or application/json');
}

/** A parameter that must be there and not empty. */
export function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === undefined || value.length === 0) throw new OAuthError('invalid_request', `${name} is required`);
  return value;
}
