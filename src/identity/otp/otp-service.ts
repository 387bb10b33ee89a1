import type { EntityManager } from '@mikro-orm/core';
import type { OtpChannel, OtpPurpose } from '../../db/entities';
import { HotStore, type UserRecord, type VerifiedIdentity } from '../../db/fast';
import { inTransaction } from '../../db/transaction';
import { AppError, badInput } from '../../errors';
import type { SecurityEvents } from '../events';
import type { AuthResult, SessionService, SignInMeta } from '../sessions';
import type { Tenant } from '../users';
import { invalidOtp, type ChallengeStore } from './challenges';
import { readCode } from './codes';
import { checkChannel, markVerified, requireCodeMethod, targetOf, type CodeTarget, type IdentityInput } from './target';

export interface RequestOtpData extends IdentityInput {
  channel?: OtpChannel | null;
  purpose: OtpPurpose;
}

export interface ValidateOtpData extends IdentityInput {
  code: string;
}

export interface OtpRequestOutcome {
  sent: boolean;
  channel: OtpChannel;
  /** Masked: j***@example.com, +357*****230. */
  destination: string;
  expiresIn: number;
  expiresAt: Date;
  resendAfter: number;
}

const PURPOSES: OtpPurpose[] = ['REGISTER', 'LOGIN', 'VERIFY'];

/**
 * `requestOtp` and `validateOtp` (SPEC §4.3).
 *
 * REGISTER: the app's code method must be on and the identity free; the code later goes into
 * `register(otpCode)`. LOGIN: the method must be on. VERIFY: proves an email or phone of an
 * existing account (a back-office contact that has no credential yet) and is always available.
 * For LOGIN and VERIFY on an unknown identity the answer is the same and a challenge is still
 * recorded (so resend limits and later validateOtp answers look the same), but nothing is sent.
 */
export class OtpService {
  /** Security events: a wrong code is `login.failed` (the success is the session's). Set in app.ts. */
  events?: SecurityEvents;

  constructor(
    private readonly sessions: SessionService,
    private readonly challenges: ChallengeStore,
  ) {}

  async request(em: EntityManager, tenant: Tenant, input: RequestOtpData): Promise<OtpRequestOutcome> {
    if (!PURPOSES.includes(input.purpose)) throw badInput('purpose', 'purpose must be REGISTER, LOGIN or VERIFY');
    const target = targetOf(input);
    checkChannel(input.channel, target);

    let user: UserRecord | null = null;
    if (input.purpose === 'REGISTER') {
      requireCodeMethod(tenant.settings, target);
      await this.assertFree(em, tenant, target);
    } else {
      if (input.purpose === 'LOGIN') requireCodeMethod(tenant.settings, target);
      user = await this.findUser(em, tenant, target);
    }
    const deliver = input.purpose === 'REGISTER' || user !== null;
    // An account's code goes to the address on record, not to the spelling typed in the request.
    const to = user?.email && target.kind === 'email' ? { ...target, address: user.email } : target;
    const issued = await this.challenges.issue(em, tenant, { target: to, purpose: input.purpose, userId: user?.id ?? null, deliver });
    return { sent: true, channel: target.channel, destination: target.masked, ...issued };
  }

  /** Signs in with a code from requestOtp(LOGIN | VERIFY) or from the code-sending sign-up, and marks that identity verified. */
  async validate(em: EntityManager, tenant: Tenant, input: ValidateOtpData, meta: SignInMeta): Promise<AuthResult> {
    const target = targetOf(input);
    const code = readCode(input.code);
    const store = HotStore.of(em);
    // The try is counted in a commit of its own, before anything else is written.
    const challenge = await this.challenges.check(em, tenant, target, code, ['LOGIN', 'VERIFY']).catch(async (error: unknown) => {
      // A wrong code is a failed sign-in (SPEC §4.10), known account or not; the answer is the same.
      if (this.events && error instanceof AppError && error.code === 'INVALID_OTP') {
        const owner = await store.loginLookup(em, tenant.app.id, target);
        await this.events.write(em, tenant, { type: 'login.failed', userId: owner?.id, ip: meta.ip, detail: { reason: 'invalid_code' } });
      }
      throw error;
    });
    const found = challenge.userId ? await store.userById(em, tenant.app.id, challenge.userId) : undefined;
    // A challenge recorded for an unknown identity was never sent; nobody can hold its code.
    if (!found) throw invalidOtp(0);
    // One commit: the code used, the identity verified, the session (all on the prepared path, with em in its transaction).
    const opened = await inTransaction(em, async () => {
      await this.challenges.consume(em, challenge);
      const before = JSON.stringify(found.phoneNumbers);
      const user = { ...found };
      markVerified(user, target);
      user.updatedAt = challenge.consumedAt!;
      // openSession refuses a suspended account (nothing is then committed) and writes the
      // verification with the new session (null: a column the code does not change).
      const verified: VerifiedIdentity = {
        userId: user.id,
        emailVerified: user.emailVerified && !found.emailVerified ? true : null,
        phoneVerified: user.phoneVerified && !found.phoneVerified ? true : null,
        phoneNumbers: JSON.stringify(user.phoneNumbers) !== before ? user.phoneNumbers : null,
        updatedAt: user.updatedAt,
      };
      return this.sessions.openSession(em, tenant, user, { ...meta, verified });
    });
    return opened.sign();
  }

  /** REGISTER: an identity that already has an account answers EMAIL_TAKEN / PHONE_TAKEN (as register would). */
  async assertFree(em: EntityManager, tenant: Tenant, target: CodeTarget): Promise<void> {
    if (target.kind === 'phone' && !tenant.settings.uniquePhoneNumber) return;
    if (await this.findUser(em, tenant, target)) {
      throw target.kind === 'email' ? new AppError('EMAIL_TAKEN', undefined, { field: 'email' }) : new AppError('PHONE_TAKEN', undefined, { field: 'phoneNumber' });
    }
  }

  /** The account an identity names, as the prepared path's plain record: only read here, so no entity is built. */
  private async findUser(em: EntityManager, tenant: Tenant, target: CodeTarget): Promise<UserRecord | null> {
    return (await HotStore.of(em).loginLookup(em, tenant.app.id, target)) ?? null;
  }
}
