import argon2 from 'argon2';
import bcrypt from 'bcrypt';
import { scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

/**
 * Password hashing. Ours is argon2id (memory-hard) in PHC form, so the parameters travel with
 * each hash and can be raised later: a hash with weaker parameters (or an imported foreign
 * one) is re-hashed at the next successful login. Every hash and verify runs on libuv's
 * thread pool (argon2, bcrypt and node:crypto scrypt are all native async), never on the
 * event loop.
 */
export interface HashParams {
  memoryCost: number; // KiB
  timeCost: number;
  parallelism: number;
}

/** OWASP's minimum for argon2id: m=19 MiB, t=2, p=1 (~17 ms here). */
export const DEFAULT_HASH_PARAMS: HashParams = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export type HashScheme = 'argon2' | 'bcrypt' | 'scrypt';

/** Which foreign hash formats importUsers accepts, and how to recognise them. */
export function schemeOf(hash: string): HashScheme | null {
  if (/^\$argon2(id|i|d)\$v=\d+\$[mtp]=\d+,[mtp]=\d+,[mtp]=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(hash)) return 'argon2';
  if (/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/.test(hash)) return 'scrypt';
  return null;
}

export class PasswordHasher {
  /** Counts verifications (tests use it to show an unknown email costs the same work). */
  verifications = 0;
  private dummyHash?: Promise<string>;

  constructor(private readonly params: HashParams = DEFAULT_HASH_PARAMS) {}

  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id, ...this.params });
  }

  async verify(hash: string, password: string): Promise<boolean> {
    this.verifications++;
    switch (schemeOf(hash)) {
      case 'argon2':
        return argon2.verify(hash, password).catch(() => false);
      case 'bcrypt':
        // bcrypt's native binding works on the thread pool; $2y$ is PHP's name for $2b$.
        return bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$')).catch(() => false);
      case 'scrypt':
        return verifyScrypt(hash, password);
      default:
        return false;
    }
  }

  /**
   * The same work as a real verification, for an unknown account: login answers the same
   * error in the same time whether or not the email exists.
   */
  async verifyAgainstDummy(password: string): Promise<false> {
    await this.verify(await this.prepare(), password);
    return false;
  }

  /** Computes the dummy hash ahead of the first login (called at start-up). */
  prepare(): Promise<string> {
    this.dummyHash ??= this.hash('gatehouse-timing-equaliser');
    return this.dummyHash;
  }

  /** True when a stored hash is foreign or weaker than today's parameters. */
  needsRehash(hash: string): boolean {
    if (schemeOf(hash) !== 'argon2' || !hash.startsWith('$argon2id$')) return true;
    // Parameters may come in any order (node-argon2 writes m, p, t).
    const params = Object.fromEntries(hash.split('$')[3].split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
    return !(params.m >= this.params.memoryCost && params.t >= this.params.timeCost && params.p >= this.params.parallelism);
  }
}

/** `$scrypt$ln=14,r=8,p=1$<salt b64>$<hash b64>` (the PHC form passlib and others write). */
async function verifyScrypt(hash: string, password: string): Promise<boolean> {
  const [, , params, saltB64, keyB64] = hash.split('$');
  const values = Object.fromEntries(params.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
  const { ln, r, p } = values as { ln: number; r: number; p: number };
  if (!(ln >= 1 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  const expected = Buffer.from(keyB64, 'base64');
  if (expected.length < 16 || expected.length > 128) return false;
  const N = 2 ** ln;
  const derived = await scrypt(password, Buffer.from(saltB64, 'base64'), expected.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return timingSafeEqual(derived, expected);
}
