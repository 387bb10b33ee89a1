/**
 * What the bench sends the peer (better-auth, bench/servers/better-auth.ts): its session
 * cookies, and one Load per endpoint it is compared on. Every request carries the peer's own
 * origin, as a browser on its site would: Node's fetch sends `Sec-Fetch-Mode`, which makes
 * better-auth demand a trusted Origin (MISSING_OR_NULL_ORIGIN without one).
 */
import Database from 'better-sqlite3';
import type { Server } from './children';
import type { Load } from './measure';

/** better-auth's session cookie (no plugin: cookies are its way to carry a session). */
const SESSION_COOKIE = 'better-auth.session_token';

const peerOrigin = (peer: Server) => new URL(peer.url).origin;

/** A 2xx whose body lacks `marker` is an error (get-session answers 200 `null` to an unknown session). */
const expect = (marker: string, code: string) => (body: string) => (body.includes(marker) ? undefined : code);

/** Signs `emails` in through sign-in/email (its scrypt: ~60 ms each, `parallel` at a time) and returns their session cookies. */
export async function peerSessionCookies(peer: Server, emails: string[], password: string, parallel = 4): Promise<string[]> {
  const cookies: string[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < emails.length) {
      const email = emails[next++];
      const response = await fetch(`${peer.url}/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: peerOrigin(peer) },
        body: JSON.stringify({ email, password }),
      });
      const setCookie = response.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
      if (!response.ok || !setCookie) throw new Error(`peer sign-in of ${email} failed: ${response.status} ${await response.text()}`);
      cookies.push(setCookie.split(';')[0]);
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker));
  return cookies;
}

/** GET get-session with one of `cookies` per request: its `me`. */
export function getSessionLoad(peer: Server, cookies: string[]): Load {
  let k = 0;
  return {
    method: 'GET',
    path: '/get-session',
    headers: { origin: peerOrigin(peer) },
    next: () => ({ headers: { cookie: cookies[k++ % cookies.length] } }),
    check: expect('"session"', 'NO_SESSION'),
  };
}

/** POST sign-in/email for the emails `nextEmail` gives: its login. */
export function signInLoad(peer: Server, nextEmail: () => string, password: string): Load {
  return {
    path: '/sign-in/email',
    headers: { origin: peerOrigin(peer) },
    next: () => ({ body: JSON.stringify({ email: nextEmail(), password }) }),
    check: expect('"token"', 'NO_TOKEN'),
  };
}

/** POST email-otp/send-verification-otp (type sign-in): its requestOtp. */
export function sendOtpLoad(peer: Server, nextEmail: () => string): Load {
  return {
    path: '/email-otp/send-verification-otp',
    headers: { origin: peerOrigin(peer) },
    next: () => ({ body: JSON.stringify({ email: nextEmail(), type: 'sign-in' }) }),
    check: expect('"success":true', 'NOT_SENT'),
  };
}

/** POST sign-in/email-otp, each pair once: its validateOtp (a session is created). */
export function otpSignInLoad(peer: Server, pairs: { email: string; code: string }[]): Load {
  let k = 0;
  return {
    path: '/sign-in/email-otp',
    headers: { origin: peerOrigin(peer) },
    amount: pairs.length,
    next: () => {
      const pair = pairs[k++ % pairs.length];
      return { body: JSON.stringify({ email: pair.email, otp: pair.code }) };
    },
    check: expect('"token"', 'NO_TOKEN'),
  };
}

/**
 * The codes the peer stored for sign-in (its `verification` rows, `sign-in-otp-<email>` →
 * `<otp>:<attempts>`, plain as by default): its no-op sender delivers nothing to read.
 */
export function readPeerOtps(file: string): Map<string, string> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare("select identifier, value from verification where identifier like 'sign-in-otp-%' order by createdAt").all() as {
      identifier: string;
      value: string;
    }[];
    const codes = new Map<string, string>();
    for (const row of rows) codes.set(row.identifier.slice('sign-in-otp-'.length), row.value.slice(0, row.value.lastIndexOf(':')));
    return codes;
  } finally {
    db.close();
  }
}
