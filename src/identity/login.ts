import type { EntityManager } from '@mikro-orm/core';
import { HotStore, type UserRecord } from '../db/fast';
import { AppError, badInput } from '../errors';
import type { SecurityEvents } from './events';
import type { PasswordHasher } from './passwords/hasher';
import type { AttemptLimiter } from './rate-limit';
import { grantScope, type AuthResult, type SessionService, type SignInMeta } from './sessions';
import type { Tenant, UserService } from './users';
import { identityOf, type Identity } from './validation';

export interface LoginInputData {
  email?: string | null;
  phoneNumber?: string | null;
  countryCode?: string | null;
  password: string;
  scope?: string | null;
}

export interface LoginLimiters {
  account: AttemptLimiter;
  ip: AttemptLimiter;
}

/**
 * The key of the login-failure counter (SPEC §3: the account, not the spelling). An account
 * has one counter, whether it is named by its email or its phone number; a wrong
 * `currentPassword` in changePassword counts on the same one. An identity with no account is
 * counted under its normal form (normalised email or E.164), in a namespace of its own, so it
 * locks after as many tries as an account and answers alike.
 */
export function accountLimitKey(appId: string, user: { id: string } | null, identity?: Pick<Identity, 'kind' | 'key'>): string {
  if (user) return `${appId}:user:${user.id}`;
  if (!identity) throw new Error('accountLimitKey: an unknown account needs its identity');
  return `${appId}:${identity.kind}:${identity.key}`;
}

/**
 * `login` (SPEC §4.4). Read top to bottom:
 * 1. find who is meant (email or phone), 2. count the attempt against the client IP and the
 * account *before* checking (so concurrent guesses cannot exceed the limit), 3. verify the
 * password — against a dummy hash when there is no such account, so an unknown email costs
 * the same time and answers the same INVALID_CREDENTIALS, 4. give the attempts back on success,
 * 5. upgrade a weaker or imported hash, 6. start a session.
 *
 * What the lockout can tell an attacker: for one spelling, an account and an unknown identity
 * answer alike (5 × INVALID_CREDENTIALS, then TOO_MANY_ATTEMPTS with retryAfter, the same
 * reads and the same hash work each time). What it cannot hide is that one account's email and
 * phone share a counter: someone who knows both and fails 5 times with one sees the other
 * locked. Learning that costs locking the victim out for 15 minutes (the lockout itself), and
 * it only links two identifiers the attacker already holds; a counter per spelling, the
 * alternative, gives twice the guesses. Accepted.
 */
export class LoginService {
  /** Security events (SPEC §4.10): failures and lockouts, one insert each; the success is the new session's (SessionService). Set in app.ts. */
  events?: SecurityEvents;

  constructor(
    private readonly users: UserService,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly limiters: LoginLimiters,
  ) {}

  async login(em: EntityManager, tenant: Tenant, input: LoginInputData, meta: SignInMeta & { ip: string }): Promise<AuthResult> {
    const identity = identityOf(input);
    grantScope(tenant.settings, meta.scope); // a scope the app does not allow fails before any password work
    if (typeof input.password !== 'string' || input.password.length === 0) throw badInput('password', 'password is required');
    if (input.password.length > 1024) throw new AppError('INVALID_CREDENTIALS');

    const ipLimitKey = `${tenant.app.id}:${meta.ip}`;
    await this.limiters.ip.take(ipLimitKey);
    let accountKey: string;
    let user: UserRecord | null;
    let attemptsLeft: number;
    try {
      // The lookup is a read (one prepared statement, a plain record: no entity is built for a
      // failed attempt); the attempt is counted on the account it names before any password is checked.
      user = (await HotStore.of(em).loginLookup(em, tenant.app.id, identity)) ?? null;
      accountKey = accountLimitKey(tenant.app.id, user, identity);
      attemptsLeft = await this.limiters.account.take(accountKey);
    } catch (error) {
      await this.limiters.ip.giveBack(ipLimitKey);
      throw error;
    }

    const ok = user?.passwordHash
      ? await this.hasher.verify(user.passwordHash, input.password)
      : await this.hasher.verifyAgainstDummy(input.password);
    if (!ok || !user) {
      await this.events?.write(em, tenant, { type: 'login.failed', userId: user?.id, ip: meta.ip, detail: { reason: 'invalid_credentials' } });
      // The failure that used the account's last try locks it: recorded once, not on every refused try after.
      if (attemptsLeft === 0 && user) await this.events?.write(em, tenant, { type: 'login.locked', userId: user.id, ip: meta.ip });
      throw new AppError('INVALID_CREDENTIALS');
    }

    await Promise.all([this.limiters.account.giveBack(accountKey), this.limiters.ip.giveBack(ipLimitKey)]);
    if (user.suspended) {
      await this.events?.write(em, tenant, { type: 'login.failed', userId: user.id, ip: meta.ip, detail: { reason: 'account_suspended' } });
      throw new AppError('ACCOUNT_SUSPENDED');
    }
    if (this.hasher.needsRehash(user.passwordHash!)) {
      // Rare (an imported or weaker hash): the upgrade is an ORM edit, committed with the session by signIn.
      const entity = this.users.managed(em, user);
      this.users.setPasswordHash(entity, await this.hasher.hash(input.password));
      return this.sessions.signIn(em, tenant, entity, meta);
    }
    return this.sessions.signIn(em, tenant, user, meta);
  }
}
