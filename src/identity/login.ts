import type { EntityManager } from '@mikro-orm/core';
import { AppError, badInput } from '../errors';
import type { PasswordHasher } from './passwords/hasher';
import type { AttemptLimiter } from './rate-limit';
import { grantScope, type AuthResult, type SessionService, type SignInMeta } from './sessions';
import type { Tenant, UserService } from './users';
import { identityOf } from './validation';

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
 * `login` (SPEC §4.4). Read top to bottom:
 * 1. find who is meant (email or phone), 2. count the attempt against the account and the
 * client IP *before* checking (so concurrent guesses cannot exceed the limit), 3. verify the
 * password — against a dummy hash when there is no such account, so an unknown email costs
 * the same time and answers the same INVALID_CREDENTIALS, 4. give the attempt back on success,
 * 5. upgrade a weaker or imported hash, 6. start a session.
 */
export class LoginService {
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

    const accountLimitKey = `${tenant.app.id}:${identity.key}`;
    const ipLimitKey = `${tenant.app.id}:${meta.ip}`;
    await this.limiters.ip.take(ipLimitKey);
    try {
      await this.limiters.account.take(accountLimitKey);
    } catch (error) {
      await this.limiters.ip.giveBack(ipLimitKey);
      throw error;
    }

    const user = await this.users.findByIdentity(em, tenant, identity);
    const ok = user?.passwordHash
      ? await this.hasher.verify(user.passwordHash, input.password)
      : await this.hasher.verifyAgainstDummy(input.password);
    if (!ok || !user) throw new AppError('INVALID_CREDENTIALS');

    await Promise.all([this.limiters.account.giveBack(accountLimitKey), this.limiters.ip.giveBack(ipLimitKey)]);
    if (user.suspended) throw new AppError('ACCOUNT_SUSPENDED');
    if (this.hasher.needsRehash(user.passwordHash!)) {
      this.users.setPasswordHash(user, await this.hasher.hash(input.password));
    }
    return this.sessions.signIn(em, tenant, user, meta);
  }
}
