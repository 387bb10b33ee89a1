import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * Real delivery peers for end-to-end tests (SPEC §6): an SMTP server (smtp-server) the
 * gateway's nodemailer talks to, and an HTTP receiver for the SMS webhook that checks the
 * signature itself. Both keep what they received; `fail` makes them refuse.
 */

export interface ReceivedMail {
  from: string;
  to: string[];
  headers: Record<string, string>;
  subject: string;
  text: string;
  raw: string;
}

export interface SmtpPeer {
  url: string;
  messages: ReceivedMail[];
  /** Refuse recipients with 550 while true. */
  fail: boolean;
  /** Wait this long before accepting each message's data (a slow mail server). */
  delayMs: number;
  /** Messages whose data is being received or held back by delayMs right now. */
  receiving: number;
  to(address: string): ReceivedMail[];
  /** The code of the newest mail to `address`. */
  codeFor(address: string): string;
  close(): Promise<void>;
}

export async function startSmtpPeer(options: { delayMs?: number } = {}): Promise<SmtpPeer> {
  const peer: SmtpPeer = {
    url: '',
    messages: [],
    fail: false,
    delayMs: options.delayMs ?? 0,
    receiving: 0,
    to: (address) => peer.messages.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase())),
    codeFor(address) {
      const mails = peer.to(address);
      const code = /code is (\d{4,8})/.exec(mails.at(-1)?.text ?? '')?.[1];
      if (!code) throw new Error(`no code mailed to ${address} (${mails.length} mails)`);
      return code;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (!peer.fail) return callback();
      const error = new Error('Requested action not taken: mailbox unavailable') as Error & { responseCode: number };
      error.responseCode = 550;
      callback(error);
    },
    onData(stream, session, callback) {
      peer.receiving++;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const accept = () => {
          peer.receiving--;
          peer.messages.push({
            ...parseMail(raw),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
          });
          callback();
        };
        if (peer.delayMs > 0) setTimeout(accept, peer.delayMs);
        else accept();
      });
    },
  });
  // smtp-server re-emits a client connection's errors on the server: a gateway killed mid-session
  // (the crash tests' kill -9) resets its connection, which a mail server shrugs off, not a test failure.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = (server as unknown as { server: Server }).server.address() as AddressInfo;
  peer.url = `smtp://127.0.0.1:${port}`;
  return peer;
}

/** Just enough RFC 5322 / MIME for our single-part text mails. */
function parseMail(raw: string): { headers: Record<string, string>; subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (encoding === 'quoted-printable') {
    body = Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
  } else if (encoding === 'base64') {
    body = Buffer.from(body, 'base64').toString('utf8');
  }
  return { headers, subject: headers.subject ?? '', text: body.replace(/\r\n/g, '\n') };
}

export interface ReceivedSms {
  to: string;
  body: string;
  appId: string;
  timestamp: string;
}

export interface SmsPeer {
  url: string;
  messages: ReceivedSms[];
  /** Requests refused for a bad or missing signature. */
  badSignatures: number;
  /** Answer 503 while true. */
  fail: boolean;
  to(phone: string): ReceivedSms[];
  codeFor(phone: string): string;
  close(): Promise<void>;
}

/** The receiver side of the SMS webhook contract, written from the README, not from our code. */
export async function startSmsPeer(secret: string): Promise<SmsPeer> {
  const peer: SmsPeer = {
    url: '',
    messages: [],
    badSignatures: 0,
    fail: false,
    to: (phone) => peer.messages.filter((m) => m.to === phone),
    codeFor(phone) {
      const sms = peer.to(phone);
      const code = /^(\d{4,8}) is your/.exec(sms.at(-1)?.body ?? '')?.[1];
      if (!code) throw new Error(`no code texted to ${phone} (${sms.length} messages)`);
      return code;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-gatehouse-timestamp'] ?? '');
      const given = Buffer.from(String(req.headers['x-gatehouse-signature'] ?? ''));
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`);
      const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
      if (req.method !== 'POST' || !fresh || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        peer.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      if (peer.fail) {
        res.writeHead(503).end('provider down');
        return;
      }
      const { to, body, appId } = JSON.parse(raw);
      peer.messages.push({ to, body, appId, timestamp });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
  return peer;
}

export interface ReceivedWebhook {
  id: string;
  type: string;
  appId: string;
  userId: string | null;
  at: string;
  data: Record<string, unknown>;
  /** The x-gatehouse-event-id header. */
  eventIdHeader: string;
}

export interface WebhookPeer {
  url: string;
  /** The app's signing secret (set once `gatehouse app webhook-secret` or the service made it). */
  secret: string;
  events: ReceivedWebhook[];
  /** Requests refused for a bad, missing or stale signature. */
  badSignatures: number;
  /** Every request that reached the receiver, signed or not. */
  requests: number;
  /** Answer 503 while true. */
  fail: boolean;
  close(): Promise<void>;
}

/**
 * A partner's webhook receiver, written from the README's contract (not from our code): it
 * checks `x-gatehouse-signature` = sha256=HMAC(secret, timestamp + "." + raw body) in constant
 * time, refuses timestamps older than 5 minutes, and keeps each event by its id.
 */
export async function startWebhookPeer(secret = ''): Promise<WebhookPeer> {
  const peer: WebhookPeer = {
    url: '',
    secret,
    events: [],
    badSignatures: 0,
    requests: 0,
    fail: false,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      peer.requests++;
      const raw = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-gatehouse-timestamp'] ?? '');
      const given = Buffer.from(String(req.headers['x-gatehouse-signature'] ?? ''));
      const expected = Buffer.from(`sha256=${createHmac('sha256', peer.secret).update(`${timestamp}.${raw}`).digest('hex')}`);
      const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
      if (req.method !== 'POST' || !peer.secret || !fresh || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        peer.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      if (peer.fail) {
        res.writeHead(503).end('down');
        return;
      }
      const event = JSON.parse(raw);
      peer.events.push({ ...event, eventIdHeader: String(req.headers['x-gatehouse-event-id'] ?? '') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/gatehouse`;
  return peer;
}
