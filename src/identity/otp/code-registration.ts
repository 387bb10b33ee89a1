import type { EntityManager } from '@mikro-orm/core';
import { OtpChallenge, User } from '../../db/entities';
import { AppError, badInput } from '../../errors';
import type { PasswordHasher } from '../passwords/hasher';
import { assertPasswordPolicy } from '../passwords/policy';
import type { CodeRegistration, RegisterInputData, RegistrationOutcome } from '../registration';
import type { SessionService, SignInMeta } from '../sessions';
import type { Tenant, UserService } from '../users';
import type { SecurityEvents } from '../events';
import type { ChallengeStore } from './challenges';
import { readCode } from './codes';
import type { OtpService } from './otp-service';
import { codeMethodEnabled, markVerified, requireCodeMethod, targetOf, type CodeTarget } from './target';

/**
 * The sign-up paths of SPEC §4.2 that use a code (plugged into RegistrationService):
 * - Menu.app: `otpCode` from requestOtp(REGISTER) proves the email or phone; the account is
 *   created verified and signed in.
 * - CRM.COM: neither password nor code; the account is created unverified and a code is sent
 *   (`verification` says where); validateOtp then signs in. If the code cannot be sent, the
 *   account is removed again: nothing half-made stays behind.
 */
export class OtpCodeRegistration implements CodeRegistration {
  /** `user.signed_up` (SPEC §4.10). Set in app.ts. */
  events?: SecurityEvents;

  constructor(
    private readonly users: UserService,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly challenges: ChallengeStore,
    private readonly otp: OtpService,
  ) {}

  async registerWithCode(em: EntityManager, tenant: Tenant, input: RegisterInputData, meta: SignInMeta): Promise<RegistrationOutcome> {
    const code = readCode(input.otpCode, 'otpCode');
    // Everything checkable is checked before the code is tried, so a typo elsewhere does not spend it.
    const user = this.users.build(em, tenant, input);
    const targets = identitiesOf(user);
    if (!targets.length) throw badInput('email', 'give the email or phone number the code was sent to');
    const target = await this.provenTarget(em, tenant, targets);
    requireCodeMethod(tenant.settings, target);
    if (input.password != null) assertPasswordPolicy(input.password, tenant.settings.passwordPolicy);
    for (const identity of targets) await this.otp.assertFree(em, tenant, identity);

    await this.challenges.verify(em, tenant, target, code, ['REGISTER']);
    // Hashed only once the code is right: a wrong guess must not cost a memory-hard hash.
    if (input.password != null) user.passwordHash = await this.hasher.hash(input.password);
    markVerified(user, target);
    this.events?.stage(em, tenant, { type: 'user.signed_up', userId: user.id, ip: meta.ip, detail: { method: 'code' } });
    await this.users.insert(em, user);
    const auth = await this.sessions.signIn(em, tenant, user, meta);
    return { user, auth, verification: null };
  }

  async registerUnverified(em: EntityManager, tenant: Tenant, input: RegisterInputData, meta: SignInMeta): Promise<RegistrationOutcome> {
    const user = this.users.build(em, tenant, input);
    // CRM.COM registers by phone: with both, the phone gets the code when the app allows it.
    const candidates = identitiesOf(user).reverse();
    if (!candidates.length) throw badInput('password', 'give a password, an otpCode, or an email or phone number to receive a code');
    const target = candidates.find((t) => codeMethodEnabled(tenant.settings, t));
    if (!target) throw new AppError('METHOD_DISABLED', 'Sign-up without a password is turned off for this app');

    await this.users.insert(em, user);
    try {
      const issued = await this.challenges.issue(em, tenant, { target, purpose: 'VERIFY', userId: user.id, deliver: true });
      // Recorded once the code went out: before that the account may still be taken back. (With the
      // durable courier, account, code and message commit together and this joins that transaction.)
      if (this.events) await this.events.write(em, tenant, { type: 'user.signed_up', userId: user.id, ip: meta.ip, detail: { method: 'unverified' } });
      return { user, auth: null, verification: { channel: target.channel, destination: target.masked, expiresIn: issued.expiresIn, expiresAt: issued.expiresAt } };
    } catch (error) {
      // The account exists only to receive this code: without it, it must not remain.
      await em.fork().nativeDelete(User, { id: user.id });
      em.getUnitOfWork().unsetIdentity(user);
      throw error;
    }
  }

  /** Which identity the code was sent to: the one (email or phone) holding a live REGISTER code, newest first. */
  private async provenTarget(em: EntityManager, tenant: Tenant, targets: CodeTarget[]): Promise<CodeTarget> {
    if (targets.length === 1) return targets[0];
    const live = await em.fork().find(
      OtpChallenge,
      { app: tenant.app.id, destination: { $in: targets.map((t) => t.key) }, purpose: 'REGISTER', consumedAt: null },
      { orderBy: { createdAt: 'desc' }, limit: 1 },
    );
    return targets.find((t) => t.key === live[0]?.destination) ?? targets[0];
  }
}

/** The identities a new account would have: email first, then phone. */
function identitiesOf(user: User): CodeTarget[] {
  const targets: CodeTarget[] = [];
  if (user.email) targets.push(targetOf({ email: user.email }));
  if (user.phoneNumber) targets.push(targetOf({ phoneNumber: user.phoneNumber }));
  return targets;
}
