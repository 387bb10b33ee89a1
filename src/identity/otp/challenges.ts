import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { OtpPurpose } from '../../db/entities';
import { HotStore, type OtpFields, type OtpRecord } from '../../db/fast';
import type { Courier } from '../../delivery';
import { AppError } from '../../errors';
import type { Clock } from '../clock';
import { tooManyAttempts } from '../rate-limit';
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

/** A code drawn (cooldown and hourly count checked) but not yet written: see prepare(). */
export interface PendingCode {
  request: IssueRequest;
  appId: string;
  settings: Tenant['settings'];
  code: string;
  codeHash: string;
  /** The destination's row (one per destination, replaced in place), if it has one. */
  existingId: string | null;
  now: Date;
  /** The hourly count this code makes, and when its hour began (written with the code). */
  sends: number;
  sendsSince: Date;
}

/**
 * One-time codes in the database, in the safe order (Kratos):
 * - issue: cooldown and hourly count from the stored row (the database is what every instance
 *   shares, and the injected clock drives both), then — in one transaction — the new code
 *   claimed with a conditional write that carries the count, and its message queued in the
 *   outbox (the courier delivers it after the commit). Nothing is counted for a code that is
 *   not written, and of two requests that read the same row only one writes.
 * - check, then consume: the try is counted in its own conditional UPDATE *before* comparing (so neither
 *   concurrent requests nor aliased fields exceed the cap), compared in constant time, then
 *   consumed with `UPDATE … WHERE consumed_at IS NULL` (0 rows: someone else used it). The
 *   count commits on its own, whatever happens next; the consumption may join the transaction
 *   of what the code is for (the account it creates, the session it opens).
 */
export class ChallengeStore {
  constructor(
    private readonly clock: Clock,
    private readonly secrets: ServerSecrets,
    private readonly courier: Courier,
  ) {}

  /**
   * A new code for `request.target`, written with its message in one commit (joining the
   * caller's transaction, if any). The code's statements are the prepared path's (db/fast), run
   * with `em`: inside its transaction (pass that transaction's em, never an outer one); outside
   * one, the plan is its own transaction, with no ORM transaction around it.
   */
  async issue(em: EntityManager, tenant: Tenant, request: IssueRequest): Promise<IssuedCode> {
    return this.write(em, await this.prepare(em, tenant, request));
  }

  /**
   * The checks and reads that come before any write, outside a transaction: the cooldown, the
   * hourly count, the HMAC key, a fresh code. Follow with write() in a transaction; nothing is
   * counted until it commits.
   */
  async prepare(em: EntityManager, tenant: Tenant, request: IssueRequest): Promise<PendingCode> {
    const { target } = request;
    const appId = tenant.app.id;
    const now = this.clock.now();
    const existing = await HotStore.of(em).otpChallenge(em, appId, target.key);
    if (existing && !existing.consumedAt) assertCooldownOver(existing, now);
    const { sends, sendsSince } = hourlyCount(existing, now);

    const code = generateCode(tenant.settings.otpLength);
    const codeHash = hashCode(await this.secrets.get(em, OTP_HMAC_SECRET), appId, target.key, code);
    return { request, appId, settings: tenant.settings, code, codeHash, existingId: existing?.id ?? null, now, sends, sendsSince };
  }

  /**
   * Writes the prepared code and queues its message in one prepared plan (its own commit, or
   * joining `em`'s transaction when there is one: pass that transaction's em).
   */
  async write(em: EntityManager, pending: PendingCode): Promise<IssuedCode> {
    const { request, appId, now } = pending;
    const { target } = request;
    const ttl = pending.settings.otpTtlSeconds;
    const fields: OtpFields = {
      channel: target.channel,
      purpose: request.purpose,
      userId: request.userId,
      codeHash: pending.codeHash,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttl * 1000),
      sends: pending.sends,
      sendsSince: pending.sendsSince,
    };
    const id = pending.existingId ?? newId();
    // No live code without its message, no message without its code; an unknown account gets
    // no message, and the plan runs a decoy statement in its place (the same time, SPEC §6).
    const message = request.deliver
      ? await this.courier.compose(em, {
          appId,
          settings: pending.settings,
          channel: target.channel,
          to: target.address,
          template: 'otp',
          vars: { code: pending.code, expiresInSeconds: ttl },
          carrierId: id,
          expiresAt: fields.expiresAt,
        })
      : null;
    // Replaces the previous code, unless another request did so within the cooldown.
    const cooldownEdge = new Date(now.getTime() - OTP_LIMITS.resendCooldownSeconds * 1000);
    let written: boolean;
    try {
      written = await HotStore.of(em).writeOtp(em, { existingId: pending.existingId, cooldownEdge, id, appId, destination: target.key, fields, message });
    } catch (error) {
      // Another request created this destination's row first: it is within its cooldown.
      if (error instanceof UniqueConstraintViolationException) throw cooldownError(OTP_LIMITS.resendCooldownSeconds);
      throw error;
    }
    if (!written) throw cooldownError(OTP_LIMITS.resendCooldownSeconds);
    if (message) this.courier.queued(em, message);
    return { expiresAt: fields.expiresAt, expiresIn: ttl, resendAfter: OTP_LIMITS.resendCooldownSeconds };
  }

  /**
   * Checks `code` against the live challenge of `target` and consumes it; returns it consumed,
   * or throws. For a code that proves nothing written with it (else check, then consume in the
   * transaction of what it proves).
   */
  async verify(em: EntityManager, tenant: Tenant, target: CodeTarget, code: string, purposes: OtpPurpose[]): Promise<OtpRecord> {
    const challenge = await this.check(em, tenant, target, code, purposes);
    await this.consume(em, challenge);
    return challenge;
  }

  /**
   * Counts a try against the live challenge of `target` and compares `code`; returns the
   * challenge (its try counted), not yet consumed, or throws. Follow with consume().
   *
   * Outside any transaction: the try is counted in a statement of its own that commits at once,
   * whatever the request does next (a counted try rolled back with a failed sign-up would be a
   * free guess). Inside one it would join it, and on SQLite an outer em would wait for itself.
   */
  async check(em: EntityManager, tenant: Tenant, target: CodeTarget, code: string, purposes: OtpPurpose[]): Promise<OtpRecord> {
    if (em.isInTransaction()) throw new Error('ChallengeStore.check counts each try in a commit of its own: call it outside a transaction');
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
    return { ...challenge, attempts: challenge.attempts + 1 };
  }

  /**
   * 3. Consumes a checked challenge with `em` (inside the transaction of what it proves, if
   * any; pass that transaction's em): of two right answers racing, one wins; a code replaced
   * meanwhile does not count.
   */
  async consume(em: EntityManager, challenge: OtpRecord): Promise<void> {
    const now = this.clock.now();
    if (!(await HotStore.of(em).consumeOtp(em, challenge.id, challenge.codeHash, now))) throw invalidOtp(0);
    challenge.consumedAt = now;
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

const HOUR_MS = 3600 * 1000;

/**
 * The hourly count a new code to this destination makes: one more within the hour that began
 * with the row's first counted send, or the first of a new hour. TOO_MANY_ATTEMPTS when the
 * hour's sends are spent, with the seconds until it ends.
 */
function hourlyCount(existing: OtpRecord | undefined, now: Date): { sends: number; sendsSince: Date } {
  const since = existing?.sendsSince;
  if (!existing || !since || now.getTime() - since.getTime() >= HOUR_MS) return { sends: 1, sendsSince: now };
  if (existing.sends >= OTP_LIMITS.sendsPerHour) {
    throw tooManyAttempts(since.getTime() + HOUR_MS - now.getTime(), `At most ${OTP_LIMITS.sendsPerHour} codes an hour go to one address`);
  }
  return { sends: existing.sends + 1, sendsSince: since };
}

function assertCooldownOver(challenge: OtpRecord, now: Date): void {
  const wait = secondsUntilResend(challenge, now);
  if (wait > 0) throw cooldownError(wait);
}

function cooldownError(retryAfter: number): AppError {
  return new AppError('TOO_MANY_ATTEMPTS', `A new code can be requested in ${retryAfter} s`, { retryAfter });
}
