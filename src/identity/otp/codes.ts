import { createHmac, randomInt } from 'node:crypto';
import { badInput } from '../../errors';
import { safeEqual } from '../secrets';

/** SPEC §3: limits of one code and of one destination. */
export const OTP_LIMITS = {
  /** Wrong tries per code; the next try (even with the right code) answers TOO_MANY_ATTEMPTS. */
  maxAttempts: 5,
  /** Seconds before a new code may be asked for the same destination. */
  resendCooldownSeconds: 30,
  /** Codes sent to one destination per hour. */
  sendsPerHour: 5,
} as const;

/** Name of the server secret that keys the code HMAC (see ServerSecrets). */
export const OTP_HMAC_SECRET = 'otp-code-hmac';

/** A uniformly random numeric code of `length` digits (leading zeros kept). */
export function generateCode(length: number): string {
  return randomInt(0, 10 ** length).toString().padStart(length, '0');
}

/**
 * What is stored instead of the code: an HMAC under a server key, bound to the app and the
 * destination, so a leaked table cannot be brute-forced offline (10^6 codes) without the key
 * and a hash cannot be replayed for another address.
 */
export function hashCode(key: Buffer, appId: string, destination: string, code: string): string {
  return createHmac('sha256', key).update(`${appId}\u0000${destination}\u0000${code}`).digest('hex');
}

export function codeMatches(key: Buffer, appId: string, destination: string, code: string, stored: string): boolean {
  return safeEqual(hashCode(key, appId, destination, code), stored);
}

/** The code as typed: spaces removed, digits only, bounded (anything else is still a wrong try). */
export function readCode(value: unknown, field = 'code'): string {
  if (typeof value !== 'string') throw badInput(field, `${field} is required`);
  const code = value.replace(/\s+/g, '');
  if (code.length === 0) throw badInput(field, `${field} is required`);
  if (code.length > 16) throw badInput(field, `${field} must be the digits you received`);
  return code;
}
