import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RequestInfo {
  requestId: string;
  ip: string;
  origin: string | null;
  search: string;
  path: string;
}

export class BodyTooLarge extends Error {}

/**
 * Reads the body, refusing past `limit` bytes without buffering or reading the rest: a body
 * declared larger is refused before a byte of it is read, and a chunked one as soon as it
 * crosses the limit. The caller answers 413 with `Connection: close` (see refuseBody), so the
 * unread rest dies with the connection.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      // onData stays attached to req for the request's life: it must not keep the chunks too.
      chunks.length = 0;
      resolve(text);
    });
    req.on('error', reject);
  });
}

export class BadJson extends Error {}

/**
 * The body as JSON (undefined when empty). The text lives only in this function: once its
 * value is parsed, nothing holds the text while the request goes on.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const text = await readBody(req, limit);
  if (!text.length) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadJson();
  }
}

/**
 * Answers 413 and hangs up. With `Connection: close`, node:http ends the socket as soon as
 * the answer is flushed (and destroys it then) instead of reading the rest of the body to
 * keep the connection alive: a client declaring 1 GB gets its answer and no more of its
 * bytes are read.
 */
export function refuseBody(res: ServerResponse, limit: number): void {
  sendRequestError(res, 413, 'BAD_USER_INPUT', `The request body is larger than ${limit} bytes`, {}, { connection: 'close' });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A GraphQL-shaped error answer for failures before GraphQL runs (bad JSON, too large). */
export function sendRequestError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { errors: [{ message, extensions: { ...extra, code } }] }, headers);
}

/** CORS for documents anyone may read (JWKS, discovery): no credentials are involved, so any origin. */
export const PUBLIC_CORS = { 'access-control-allow-origin': '*' } as const;
