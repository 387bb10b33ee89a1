/**
 * The peer: better-auth (the TypeScript library users pick today) configured as its docs and
 * bench/README.md describe, shared by the seeder (bench/lib/peer-seed.ts) and the server
 * (bench/servers/better-auth.ts) so both see one schema and one secret.
 *
 * Options: email + password on, the email-OTP plugin with a sender that does nothing (the
 * gateway's outbox write is its only delivery cost too), rate limit off (on by default in
 * production: it answers 429 to a load test), telemetry off. Everything else is its default:
 * sessions in the database (no cookie cache), scrypt N=16384 r=16 password hashes.
 */
import type Database from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { emailOTP } from 'better-auth/plugins';

/** A fixed secret: the bench's cookies are signed with it; nothing here is secret. */
export const PEER_SECRET = 'gatehouse-bench-peer-secret-0123456789abcdef';
/** better-auth's default mount point. */
export const PEER_BASE_PATH = '/api/auth';

export function createPeerAuth(database: Database.Database, baseURL: string) {
  return betterAuth({
    database,
    secret: PEER_SECRET,
    baseURL,
    basePath: PEER_BASE_PATH,
    trustedOrigins: [baseURL],
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    logger: { level: 'error' },
    plugins: [emailOTP({ sendVerificationOTP: async () => {} })],
  });
}

export type PeerAuth = ReturnType<typeof createPeerAuth>;
