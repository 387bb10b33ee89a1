import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { OtpPurpose } from '../../db/entities';
import { HotStore, type OtpFields, type OtpRecord } from '../../db/fast';
import type { Courier } from '../../delivery';
import { AppError } from '../../errors';
import type { Clock } from '../clock';
import { createLimiter, type AttemptLimiter, type LimiterFactory } from '../rate-limit';
import { newId } from '../secrets';
import type { ServerSecrets } from '../server-secrets';
import type { Tenant } from '../users';
import { OTP_HMAC_SECRET, OTP_LIMITS, codeMatches, generateCode, hashCode } from './codes';
import type { CodeTarget } from './target';

export interface IssueRequest {
  target: CodeTarget;
  purpose: OtpPurpose;
  /** The account the code will sign into (null: REGISTER, or an unknown identity). */
  userId: string | null;
  /** False for an unknown identity at LOGIN/VERIFY: the challenge exists (same answers later), nothing is sent. */
  deliver: boolean;
}

export interface IssuedCode {
  expiresAt: Date;
  expiresIn: number;
  resendAfter: number;
}

/**
 * One-time codes in the database, in the safe order (Kratos):
 * - issue: cooldown from the stored row (the database is what every instance shares, and the
 *   injected clock drives it), hourly sends on the limiter, the new code claimed with a
 *   conditional write, then delivered; a failed delivery deletes the code it just wrote.
 * - verify: the try is counted in its own conditional UPDATE *before* comparing (so neither
 *   concurrent requests nor aliased fields exceed the cap), compared in constant time, then
 *   consumed with `UPDATE … WHERE consumed_at IS NULL` (0 rows: someone else used it).
 */
export class ChallengeStore {
  private readonly sends: AttemptLimiter;

  constructor(
    private readonly clock: Clock,
    private readonly secrets: ServerSecrets,
    private readonly courier: Courier,
    limiterFactory: LimiterFactory,
  ) {
    this.sends = createLimiter(limiterFactory, { name: 'otp-sends', points: OTP_LIMITS.sendsPerHour, durationSeconds: 3600 });
  }

  /**
   * A new code for `request.target`, on the prepared path (db/fast). Its statements run with
   * `em`: inside its transaction when it has one (pass that transaction's em, never an outer one).
   */
  async issue(em: EntityManager, tenant: Tenant, request: IssueRequest): Promise<IssuedCode> {
    const { target } = request;
    const appId = tenant.app.id;
    const store = HotStore.of(em);
    const now = this.clock.now();
    const existing = await store.otpChallenge(em, appId, target.key);
    if (existing && !existing.consumedAt) assertCooldownOver(existing, now);

    const limitKey = `${appId}:${target.key}`;
    await this.sends.take(limitKey);

    const ttl = tenant.settings.otpTtlSeconds;
    const code = generateCode(tenant.settings.otpLength);
    const codeHash = hashCode(await this.secrets.get(em, OTP_HMAC_SECRET), appId, target.key, code);
    const fields: OtpFields = {
      channel: target.channel,
      purpose: request.purpose,
      userId: request.userId,
      codeHash,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttl * 1000),
    };
    let id: string;
    try {
      if (existing) {
        // Replaces the previous code, unless another request did so within the cooldown.
        const cooldownEdge = new Date(now.getTime() - OTP_LIMITS.resendCooldownSeconds * 1000);
        if (!(await store.replaceOtp(em, existing.id, cooldownEdge, fields))) throw cooldownError(OTP_LIMITS.resendCooldownSeconds);
        id = existing.id;
      } else {
        id = newId();
        await store.insertOtp(em, id, appId, target.key, fields);
      }
    } catch (error) {
      await this.sends.giveBack(limitKey);
      if (error instanceof UniqueConstraintViolationException) throw cooldownError(OTP_LIMITS.resendCooldownSeconds);
      throw error;
    }

    if (request.deliver) {
      try {
        await this.courier.send(em, {
          appId,
          settings: tenant.settings,
          channel: target.channel,
          to: target.address,
          template: 'otp',
          vars: { code, expiresInSeconds: ttl },
        });
      } catch (error) {
        // No live code without a delivered message; the cooldown and the hourly count are given back.
        await store.deleteOtp(em, id, codeHash);
        await this.sends.giveBack(limitKey);
        throw error;
      }
    }
    return { expiresAt: fields.expiresAt, expiresIn: ttl, resendAfter: OTP_LIMITS.resendCooldownSeconds };
  }

  /**
   * Checks `code` against the live challenge of `target`; returns it consumed, or throws.
   *
   * Outside any transaction: the try is counted in a statement of its own that commits at once,
   * whatever the request does next (a counted try rolled back with a failed sign-up would be a
   * free guess). Inside one it would join it, and on SQLite an outer em would wait for itself.
   */
  async verify(em: EntityManager, tenant: Tenant, target: CodeTarget, code: string, purposes: OtpPurpose[]): Promise<OtpRecord> {
    if (em.isInTransaction()) throw new Error('ChallengeStore.verify counts each try in a commit of its own: call it outside a transaction');
    const appId = tenant.app.id;
    const store = HotStore.of(em);
    const now = this.clock.now();
    const challenge = await store.otpChallenge(em, appId, target.key, { live: true });
    if (!challenge || !purposes.includes(challenge.purpose)) throw invalidOtp(0);
    if (challenge.expiresAt <= now) throw new AppError('OTP_EXPIRED');
    if (challenge.attempts >= OTP_LIMITS.maxAttempts) throw deadCode(challenge, now);

    // 1. Count the try first, in its own statement; the cap holds however many race.
    if (!(await store.countOtpTry(em, challenge.id, challenge.codeHash, OTP_LIMITS.maxAttempts))) {
      const now2 = await store.otpChallengeById(em, challenge.id);
      if (now2 && now2.codeHash === challenge.codeHash && !now2.consumedAt) throw deadCode(now2, now);
      throw invalidOtp(0); // replaced by a newer code, or used meanwhile
    }

    // 2. Compare in constant time.
    const key = await this.secrets.get(em, OTP_HMAC_SECRET);
    if (!codeMatches(key, appId, target.key, code, challenge.codeHash)) {
      const after = await store.otpChallengeById(em, challenge.id);
      const attempts = after && after.codeHash === challenge.codeHash ? after.attempts : OTP_LIMITS.maxAttempts;
      throw invalidOtp(Math.max(0, OTP_LIMITS.maxAttempts - attempts));
    }

    // 3. Consume: of two right answers racing, one wins.
    if (!(await store.consumeOtp(em, challenge.id, challenge.codeHash, now))) throw invalidOtp(0);
    return { ...challenge, attempts: challenge.attempts + 1, consumedAt: now };
  }
}

export function invalidOtp(attemptsLeft: number): AppError {
  const message = attemptsLeft > 0 ? `The code is not valid; ${attemptsLeft} ${attemptsLeft === 1 ? 'try' : 'tries'} left` : 'The code is not valid; request a new code';
  return new AppError('INVALID_OTP', message, { attemptsLeft });
}

/** Five wrong tries killed this code; a new one can be asked for once the resend cooldown is over. */
function deadCode(challenge: OtpRecord, now: Date): AppError {
  const retryAfter = Math.max(1, secondsUntilResend(challenge, now));
  return new AppError('TOO_MANY_ATTEMPTS', 'Too many wrong codes; this code no longer works, request a new one', { retryAfter });
}

function secondsUntilResend(challenge: OtpRecord, now: Date): number {
  return Math.ceil((challenge.createdAt.getTime() + OTP_LIMITS.resendCooldownSeconds * 1000 - now.getTime()) / 1000);
}

function assertCooldownOver(challenge: OtpRecord, now: Date): void {
  const wait = secondsUntilResend(challenge, now);
  if (wait > 0) throw cooldownError(wait);
}

function cooldownError(retryAfter: number): AppError {
  return new AppError('TOO_MANY_ATTEMPTS', `A new code can be requested in ${retryAfter} s`, { retryAfter });
}
