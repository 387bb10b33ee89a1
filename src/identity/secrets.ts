import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/**
 * Random opaque secrets (API keys, refresh tokens, tickets). They carry ≥128 bits of entropy,
 * so a plain SHA-256 is a safe storage hash (no salt or stretching needed) and lets us look
 * the row up by hash with an index: the secret itself is never compared or stored.
 */
export function randomSecret(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Time-ordered ids: primary keys sort by creation, which gives stable cursors for free. */
export function newId(): string {
  return uuidv7();
}
