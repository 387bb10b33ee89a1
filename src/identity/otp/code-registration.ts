import type { EntityManager } from '@mikro-orm/core';
import { OtpChallenge, type User } from '../../db/entities';
import { inTransaction } from '../../db/transaction';
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
 * - CRM.COM: neither password nor code; the account is created unverified with its code and
 *   the code's outbox message in one commit (`verification` says where); the courier delivers
 *   it, and validateOtp then signs in. No channel for the code: DELIVERY_FAILED and no account.
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

    const challenge = await this.challenges.check(em, tenant, target, code, ['REGISTER']);
    // Hashed only once the code is right: a wrong guess must not cost a memory-hard hash.
    if (input.password != null) user.passwordHash = await this.hasher.hash(input.password);
    markVerified(user, target);
    // One commit: the code used, the account, its first session — or none of them.
    const opened = await inTransaction(em, async () => {
      await this.challenges.consume(em, challenge);
      this.events?.stage(em, tenant, { type: 'user.signed_up', userId: user.id, ip: meta.ip, detail: { method: 'code' } });
      await this.users.insert(em, user);
      return this.sessions.openSession(em, tenant, user, meta);
    });
    return { user, auth: await opened.sign(), verification: null };
  }

  async registerUnverified(em: EntityManager, tenant: Tenant, input: RegisterInputData, meta: SignInMeta): Promise<RegistrationOutcome> {
    const user = this.users.build(em, tenant, input);
    // CRM.COM registers by phone: with both, the phone gets the code when the app allows it.
    const candidates = identitiesOf(user).reverse();
    if (!candidates.length) throw badInput('password', 'give a password, an otpCode, or an email or phone number to receive a code');
    const target = candidates.find((t) => codeMethodEnabled(tenant.settings, t));
    if (!target) throw new AppError('METHOD_DISABLED', 'Sign-up without a password is turned off for this app');
    // A taken email or phone says so before any code is paid for (the insert still decides races).
    for (const identity of candidates) await this.otp.assertFree(em, tenant, identity);

    const pending = await this.challenges.prepare(em, tenant, { target, purpose: 'VERIFY', userId: user.id, deliver: true });
    // One commit: the account, its code (with its hourly count) and the code's message (the courier sends it after).
    const issued = await inTransaction(em, async () => {
      this.events?.stage(em, tenant, { type: 'user.signed_up', userId: user.id, ip: meta.ip, detail: { method: 'unverified' } });
      await this.users.insert(em, user);
      return this.challenges.write(em, pending);
    });
    return { user, auth: null, verification: { channel: target.channel, destination: target.masked, expiresIn: issued.expiresIn, expiresAt: issued.expiresAt } };
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
