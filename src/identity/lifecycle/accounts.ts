import type { EntityManager } from '@mikro-orm/core';
import { ContactChange, OtpChallenge, Session, User } from '../../db/entities';
import { AppError, badInput } from '../../errors';
import { isUuid } from '../apps';
import type { Clock } from '../clock';
import type { SecurityEvents } from '../events';
import { accountLimitKey } from '../login';
import { invalidOtp, type ChallengeStore } from '../otp/challenges';
import { readCode } from '../otp/codes';
import { maskEmail, maskPhone } from '../otp/mask';
import type { PasswordHasher } from '../passwords/hasher';
import type { AttemptLimiter } from '../rate-limit';
import type { SessionService } from '../sessions';
import type { Tenant, UserService } from '../users';
import { addressesOf, type Erasure } from './erasure';
import { inTransaction } from '../../db/transaction';

export const MAX_SUSPENSION_REASON = 200;

/** Who ends a customer's account or sessions: recorded in the event, never more. */
export type Actor = { by: 'customer' | 'partner' | 'operator'; ip: string | null };

/**
 * Suspension, sessions and erasure of one customer (SPEC §4.10): what a partner (secret key),
 * an operator (`gatehouse user …`) or the customer itself (bearer) may do to an account.
 */
export class AccountLifecycle {
  constructor(
    private readonly clock: Clock,
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly hasher: PasswordHasher,
    private readonly challenges: ChallengeStore,
    /** The login limiter's per-account counter: a wrong password here counts as a failed login. */
    private readonly accountLimiter: AttemptLimiter,
    private readonly events: SecurityEvents,
    private readonly erasure: Erasure,
  ) {}

  /**
   * `suspendUser`: the flag, every session (and so every refresh token) ended, and the event,
   * in one transaction. From then on sign-ins, `refresh` and bearer requests answer
   * ACCOUNT_SUSPENDED. Suspending a suspended account changes nothing and records nothing.
   */
  async suspend(em: EntityManager, tenant: Tenant, userId: string, reason: string, actor: Actor): Promise<User> {
    const why = reason.trim();
    if (!why || why.length > MAX_SUSPENSION_REASON) throw badInput('reason', `reason must be 1 to ${MAX_SUSPENSION_REASON} characters`);
    return inTransaction(em, async () => {
      const user = await this.users.requireById(em, tenant, userId);
      await this.sessions.revokeAll(em, user.id, 'suspended');
      if (user.suspended) return user;
      user.suspended = true;
      user.updatedAt = this.clock.now();
      this.events.stage(em, tenant, { type: 'user.suspended', userId: user.id, ip: actor.ip, detail: { by: actor.by, reason: why } });
      await em.flush();
      return user;
    });
  }

  /** `reinstateUser`: sign-ins work again (the ended sessions stay ended). */
  async reinstate(em: EntityManager, tenant: Tenant, userId: string, actor: Actor): Promise<User> {
    return inTransaction(em, async () => {
      const user = await this.users.requireById(em, tenant, userId);
      if (!user.suspended) return user;
      user.suspended = false;
      user.updatedAt = this.clock.now();
      this.events.stage(em, tenant, { type: 'user.reinstated', userId: user.id, ip: actor.ip, detail: { by: actor.by } });
      await em.flush();
      return user;
    });
  }

  /** `revokeUserSessions`: every live session of the customer ends at once; the account stays as it is. */
  async revokeAllSessions(em: EntityManager, tenant: Tenant, userId: string): Promise<void> {
    const user = await this.users.requireById(em, tenant, userId);
    await this.sessions.revokeAll(em, user.id, 'revoked_by_partner');
  }

  /** `sessions`: the customer's live sessions, newest first. */
  async liveSessions(em: EntityManager, userId: string): Promise<Session[]> {
    return em.find(Session, { user: userId, revokedAt: null, expiresAt: { $gt: this.clock.now() } }, { orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  /** `revokeSession(id)`: one of the customer's own live sessions (the current one too: that is a logout). */
  async revokeSession(em: EntityManager, userId: string, sessionId: string): Promise<void> {
    if (!isUuid(sessionId)) throw badInput('id', 'no live session of yours has this id');
    const ended = await em.nativeUpdate(Session, { id: sessionId, user: userId, revokedAt: null }, { revokedAt: this.clock.now(), revokedReason: 'revoked_by_user' });
    if (ended !== 1) throw badInput('id', 'no live session of yours has this id');
  }

  /** `deleteUser` (secret key) and `gatehouse user delete`: erasure. */
  async delete(em: EntityManager, tenant: Tenant, userId: string, actor: Actor): Promise<void> {
    const user = await this.users.requireById(em, tenant, userId);
    const pending = await em.fork().findOne(ContactChange, { user: user.id });
    await this.erasure.erase(em, tenant, { appId: tenant.app.id, userId: user.id, addresses: addressesOf(user, pending) }, { by: actor.by }, actor.ip);
  }

  /**
   * `deleteAccount(password | code)`: the customer erases its own account after proving again
   * who it is — the password (a wrong one counts against the account's login limit, as in
   * changePassword), or a code it just asked for its email or phone with requestOtp (LOGIN or
   * VERIFY), checked with that code's tries and expiry. Its own address is not written to the
   * deletion event.
   */
  async deleteOwn(em: EntityManager, tenant: Tenant, userId: string, proof: { password?: string | null; code?: string | null }): Promise<void> {
    const user = await this.users.requireById(em, tenant, userId);
    const hasPassword = proof.password != null;
    if (hasPassword === (proof.code != null)) throw badInput(hasPassword ? 'code' : 'password', 'give either password or code');
    if (hasPassword) await this.checkPassword(tenant, user, proof.password!);
    else await this.checkCode(em, tenant, user, proof.code!);
    await this.delete(em, tenant, user.id, { by: 'customer', ip: null });
  }

  private async checkPassword(tenant: Tenant, user: User, password: string): Promise<void> {
    if (!user.passwordHash) throw badInput('password', 'this account has no password: confirm with a code (requestOtp, purpose VERIFY)');
    if (password.length === 0) throw badInput('password', 'password is required');
    const key = accountLimitKey(tenant.app.id, user);
    await this.accountLimiter.take(key);
    const ok = password.length <= 1024 && (await this.hasher.verify(user.passwordHash, password));
    if (!ok) throw new AppError('INVALID_CREDENTIALS', 'The password is wrong', { field: 'password' });
    await this.accountLimiter.giveBack(key);
  }

  /** The code must be the live LOGIN / VERIFY code of one of this account's own addresses. */
  private async checkCode(em: EntityManager, tenant: Tenant, user: User, code: string): Promise<void> {
    const typed = readCode(code);
    const own = [
      user.emailKey && user.email ? { kind: 'email' as const, key: user.emailKey, address: user.email, channel: 'EMAIL' as const, masked: maskEmail(user.email) } : null,
      user.phoneNumber ? { kind: 'phone' as const, key: user.phoneNumber, address: user.phoneNumber, channel: 'SMS' as const, masked: maskPhone(user.phoneNumber) } : null,
    ].filter((t) => t !== null);
    const live = await em.find(
      OtpChallenge,
      { app: tenant.app.id, destination: { $in: own.map((t) => t.key) }, userId: user.id, purpose: { $in: ['LOGIN', 'VERIFY'] }, consumedAt: null },
      { orderBy: { createdAt: 'desc' }, limit: 1 },
    );
    const target = own.find((t) => t.key === live[0]?.destination);
    if (!target) throw invalidOtp(0);
    // Checked (the try counted); not consumed: erasure deletes the code with everything else.
    const challenge = await this.challenges.check(em, tenant, target, typed, ['LOGIN', 'VERIFY']);
    if (challenge.userId !== user.id) throw invalidOtp(0);
  }
}
