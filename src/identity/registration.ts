import type { EntityManager } from '@mikro-orm/core';
import type { User } from '../db/entities';
import { inTransaction } from '../db/transaction';
import { AppError, badInput } from '../errors';
import type { SecurityEvents } from './events';
import type { PasswordHasher } from './passwords/hasher';
import { assertPasswordPolicy } from './passwords/policy';
import type { AuthResult, SessionService, SignInMeta } from './sessions';
import type { IdentityData, Tenant, UserService } from './users';

export interface RegisterInputData extends IdentityData {
  password?: string | null;
  otpCode?: string | null;
}

/** Where a verification code went, for the sign-up path that ends in validateOtp. */
export interface VerificationInfo {
  channel: 'EMAIL' | 'SMS';
  destination: string;
  expiresIn: number;
  expiresAt: Date;
}

export interface RegistrationOutcome {
  user: User;
  auth: AuthResult | null;
  verification: VerificationInfo | null;
}

/**
 * A sign-up path other than email + password (SPEC §4.2): `otpCode` proves the identity up
 * front (Menu.app), or neither password nor code creates an unverified account and sends a
 * code (CRM.COM). Provided by the one-time-code module.
 */
export interface CodeRegistration {
  registerWithCode(em: EntityManager, tenant: Tenant, input: RegisterInputData, meta: SignInMeta): Promise<RegistrationOutcome>;
  registerUnverified(em: EntityManager, tenant: Tenant, input: RegisterInputData, meta: SignInMeta): Promise<RegistrationOutcome>;
}

export class RegistrationService {
  codeRegistration?: CodeRegistration;
  /** `user.signed_up` (SPEC §4.10), written with the account. Set in app.ts. */
  events?: SecurityEvents;

  constructor(
    private readonly users: UserService,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
  ) {}

  async register(em: EntityManager, tenant: Tenant, input: RegisterInputData, meta: SignInMeta): Promise<RegistrationOutcome> {
    if (input.otpCode != null) {
      if (!this.codeRegistration) throw new AppError('METHOD_DISABLED', 'Sign-up with a code is not available');
      return this.codeRegistration.registerWithCode(em, tenant, input, meta);
    }
    if (input.password != null) return this.registerWithPassword(em, tenant, input, meta);
    if (!this.codeRegistration) throw badInput('password', 'password is required');
    return this.codeRegistration.registerUnverified(em, tenant, input, meta);
  }

  /**
   * Email + password: checked, hashed, then inserted and signed in in one transaction (the
   * unique index decides duplicates, so a taken email costs the same hashing time as a free one).
   */
  private async registerWithPassword(em: EntityManager, tenant: Tenant, input: RegisterInputData, meta: SignInMeta): Promise<RegistrationOutcome> {
    if (!tenant.settings.signUpMethods.includes('EMAIL_PASSWORD')) {
      throw new AppError('METHOD_DISABLED', 'Sign-up with email and password is turned off for this app');
    }
    if (input.email == null) throw badInput('email', 'email is required to sign up with a password');
    assertPasswordPolicy(input.password!, tenant.settings.passwordPolicy);
    const user = this.users.build(em, tenant, input);
    user.passwordHash = await this.hasher.hash(input.password!);
    // One commit: the account and its first session, or neither (a retry never meets EMAIL_TAKEN for an account nobody saw).
    const opened = await inTransaction(em, async () => {
      this.events?.stage(em, tenant, { type: 'user.signed_up', userId: user.id, ip: meta.ip, detail: { method: 'password' } });
      await this.users.insert(em, user);
      return this.sessions.openSession(em, tenant, user, meta);
    });
    return { user, auth: await opened.sign(), verification: null };
  }
}
