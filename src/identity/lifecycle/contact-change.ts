import type { EntityManager } from '@mikro-orm/core';
import { ContactChange, OtpChallenge, SingleUseToken, User, type ContactKind } from '../../db/entities';
import { deleteHandedOverMessagesTo } from '../../db/lifecycle';
import type { Courier } from '../../delivery';
import { AppError, badInput } from '../../errors';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { SecurityEvents } from '../events';
import { invalidOtp, type ChallengeStore } from '../otp/challenges';
import { readCode } from '../otp/codes';
import { maskEmail, maskPhone } from '../otp/mask';
import type { CodeTarget } from '../otp/target';
import { newId } from '../secrets';
import { rethrowUnique, type Tenant, type UserService } from '../users';
import { normalizeEmail, normalizePhone } from '../validation';
import { inTransaction } from '../../db/transaction';

export type ContactChangeInput = { kind: 'email'; newEmail: string } | { kind: 'phone'; newPhoneNumber: string; countryCode?: string | null };

export interface ContactChangeOutcome {
  sent: boolean;
  channel: 'EMAIL' | 'SMS';
  /** Masked: j***@example.com, +357*****230. */
  destination: string;
  expiresIn: number;
  expiresAt: Date;
  resendAfter: number;
}

/**
 * A customer changes their email or phone by proving the new one (SPEC §4.10):
 *
 * request — the new address is checked (syntax, not the current one, free in the app), a code
 * goes to it through the code machinery of requestOtp (HMAC, 5 tries, 30 s between codes, 5 an
 * hour per address; purpose CONTACT_CHANGE, so it never signs anyone in), the change waits in
 * contact_change (one per user: a new request of either kind replaces it), and the old address
 * is told, masked, where the change would go.
 *
 * confirm — the code of the waiting change is checked as validateOtp checks one (wrong:
 * INVALID_OTP with tries left, expired: OTP_EXPIRED; nothing changes), then in one transaction
 * the address is set, verified, the codes and reset links sent to the old address die, and
 * `email.changed` / `phone.changed` is recorded. The unique index decides a race for the address.
 *
 * A taken address answers EMAIL_TAKEN / PHONE_TAKEN (field newEmail / newPhoneNumber) and sends
 * nothing, naming no account. That tells a signed-in customer the address has an account in
 * this app — exactly what `checkEmail` / `checkPhoneNumber` already tell any holder of the
 * app's publishable key, under the same per-IP call limits — and never whose. Answering "sent"
 * and mailing nothing would hide nothing more and leave an honest customer waiting for a code.
 */
export class ContactChangeService {
  constructor(
    private readonly clock: Clock,
    private readonly users: UserService,
    private readonly challenges: ChallengeStore,
    private readonly courier: Courier,
    private readonly events: SecurityEvents,
    private readonly logger: Logger,
  ) {}

  async request(em: EntityManager, tenant: Tenant, userId: string, input: ContactChangeInput): Promise<ContactChangeOutcome> {
    const user = await this.users.requireById(em, tenant, userId);
    const target = targetOfChange(input);
    const current = target.kind === 'email' ? user.emailKey : user.phoneNumber;
    if (current === target.key) {
      throw badInput(fieldOf(target.kind), target.kind === 'email' ? 'newEmail is already your email' : 'newPhoneNumber is already your phone number');
    }
    await this.assertFree(em, tenant, target);

    // One commit: the code and its message, the waiting change, the notice to the old address.
    const pending = await this.challenges.prepare(em, tenant, { target, purpose: 'CONTACT_CHANGE', userId: user.id, deliver: true });
    const issued = await inTransaction(em, async () => {
      const written = await this.challenges.write(em, pending);
      await em.nativeDelete(ContactChange, { user: user.id });
      await em.insert(ContactChange, {
        id: newId(),
        app: tenant.app.id,
        user: user.id,
        kind: target.kind,
        address: target.address,
        destination: target.key,
        createdAt: pending.now,
        expiresAt: written.expiresAt,
      });
      await this.notifyOldAddress(em, tenant, user, target);
      return written;
    });
    return { sent: true, channel: target.channel, destination: target.masked, ...issued };
  }

  async confirm(em: EntityManager, tenant: Tenant, userId: string, code: string, ip: string | null): Promise<User> {
    const typed = readCode(code);
    const pending = await this.waiting(em, userId);
    if (!pending) throw invalidOtp(0);
    if (pending.expiresAt <= this.clock.now()) throw new AppError('OTP_EXPIRED');
    const target = asTarget(pending.kind, pending.destination, pending.address);
    const challenge = await this.challenges.check(em, tenant, target, typed, ['CONTACT_CHANGE']);
    // A code for this address asked by someone else (another account's change) is not this change's.
    if (challenge.userId !== userId) throw invalidOtp(0);

    try {
      return await inTransaction(em, async () => {
        await this.challenges.consume(em, challenge);
        const user = await this.users.requireById(em, tenant, userId);
        const old = this.apply(user, tenant, pending.kind, pending.address, pending.destination, true);
        await this.retireOldAddress(em, tenant, user, pending.kind, old);
        await em.nativeDelete(ContactChange, { user: userId });
        this.events.stage(em, tenant, { type: pending.kind === 'email' ? 'email.changed' : 'phone.changed', userId, ip, detail: { by: 'customer', verified: true } });
        await em.flush();
        return user;
      });
    } catch (error) {
      try {
        rethrowUnique(em, error);
      } catch (mapped) {
        // Taken meanwhile (a sign-up won the race): the change cannot happen, so it no longer waits.
        if (mapped instanceof AppError && (mapped.code === 'EMAIL_TAKEN' || mapped.code === 'PHONE_TAKEN')) {
          await em.nativeDelete(ContactChange, { user: userId });
        }
        throw mapped;
      }
    }
  }

  /**
   * `setUserContact` (secret key): a back-office correction of the email and/or phone,
   * verified or not as the partner says, no code, no notice. The customer's waiting change of
   * that kind is dropped; codes and reset links sent to a replaced address die.
   */
  async setByPartner(em: EntityManager, tenant: Tenant, userId: string, input: { email?: string | null; phoneNumber?: string | null; countryCode?: string | null; verified: boolean }, ip: string | null): Promise<User> {
    const email = input.email != null ? normalizeEmail(input.email, 'input.email') : null;
    const phone = input.phoneNumber != null ? normalizePhone(input.phoneNumber, input.countryCode, 'input.phoneNumber', 'input.countryCode') : null;
    if (!email && !phone) throw badInput('input.email', 'give email, phoneNumber or both');
    if (typeof input.verified !== 'boolean') throw badInput('input.verified', 'verified must be true or false');
    try {
      return await inTransaction(em, async () => {
        const user = await this.users.requireById(em, tenant, userId);
        // An event only for what changes (the address, or whether it counts as verified).
        if (email) {
          const same = user.emailKey === email.key && user.emailVerified === input.verified;
          const old = this.apply(user, tenant, 'email', email.email, email.key, input.verified);
          await this.retireOldAddress(em, tenant, user, 'email', old);
          if (!same) this.events.stage(em, tenant, { type: 'email.changed', userId, ip, detail: { by: 'partner', verified: input.verified } });
        }
        if (phone) {
          const same = user.phoneNumber === phone && user.phoneVerified === input.verified;
          const old = this.apply(user, tenant, 'phone', phone, phone, input.verified);
          await this.retireOldAddress(em, tenant, user, 'phone', old);
          if (!same) this.events.stage(em, tenant, { type: 'phone.changed', userId, ip, detail: { by: 'partner', verified: input.verified } });
        }
        const kinds: ContactKind[] = [...(email ? (['email'] as const) : []), ...(phone ? (['phone'] as const) : [])];
        await em.nativeDelete(ContactChange, { user: userId, kind: { $in: kinds } });
        await em.flush();
        return user;
      });
    } catch (error) {
      rethrowUnique(em, error);
    }
  }

  /** The live waiting change of a user, or null (an expired one counts as none). */
  async pending(em: EntityManager, userId: string): Promise<ContactChange | null> {
    const row = await this.waiting(em, userId);
    return row && row.expiresAt > this.clock.now() ? row : null;
  }

  /**
   * The waiting change, expired or not. Read in a fork: its `user` reference must not sit in
   * the request's identity map, where the raw-SQL user lookup would take it for the loaded user.
   */
  private waiting(em: EntityManager, userId: string): Promise<ContactChange | null> {
    return em.fork().findOne(ContactChange, { user: userId });
  }

  /** Sets the address on the entity; returns the one it replaced, as key and as written (null: none, or unchanged). */
  private apply(user: User, tenant: Tenant, kind: ContactKind, address: string, key: string, verified: boolean): { key: string; address: string } | null {
    user.updatedAt = this.clock.now();
    if (kind === 'email') {
      const old = user.emailKey && user.emailKey !== key ? { key: user.emailKey, address: user.email ?? user.emailKey } : null;
      user.email = address;
      user.emailKey = key;
      user.emailVerified = verified;
      return old;
    }
    const old = user.phoneNumber && user.phoneNumber !== key ? { key: user.phoneNumber, address: user.phoneNumber } : null;
    const entries = user.phoneNumbers.filter((p) => p.phoneNumber !== key);
    const primary = entries.findIndex((p) => p.phoneNumber === user.phoneNumber);
    if (primary >= 0) entries[primary] = { ...entries[primary], phoneNumber: key, verifiedOwnership: verified };
    else entries.unshift({ phoneNumber: key, phoneType: 'mobile', preferenceFlags: entries.some((p) => p.preferenceFlags.includes('primary')) ? [] : ['primary'], verifiedOwnership: verified });
    user.phoneNumbers = entries;
    user.phoneNumber = key;
    user.phoneKey = tenant.settings.uniquePhoneNumber ? key : null;
    user.phoneVerified = verified;
    return old;
  }

  /**
   * What went to a replaced address: its codes and reset links stop working (whoever holds that
   * address now must not use them), and the messages of the outbox addressed to it go, so a
   * later erasure — which finds messages by the account's addresses then — leaves none behind.
   */
  private async retireOldAddress(em: EntityManager, tenant: Tenant, user: User, kind: ContactKind, old: { key: string; address: string } | null): Promise<void> {
    if (!old) return;
    await em.nativeDelete(OtpChallenge, { app: tenant.app.id, destination: old.key });
    if (kind === 'email') await em.nativeUpdate(SingleUseToken, { user: user.id, purpose: 'password_reset', usedAt: null }, { usedAt: this.clock.now() });
    // Only messages already handed over (or given up): one still waiting may be the notice to
    // the old address, which matters most when the change is not the owner's.
    const addresses = [...new Set([old.key, old.address].map((a) => a.toLowerCase()))];
    await deleteHandedOverMessagesTo(em, tenant.app.id, addresses);
  }

  private async assertFree(em: EntityManager, tenant: Tenant, target: CodeTarget): Promise<void> {
    if (target.kind === 'phone' && !tenant.settings.uniquePhoneNumber) return;
    if (await this.users.findByIdentity(em, tenant, target)) {
      throw target.kind === 'email'
        ? new AppError('EMAIL_TAKEN', 'This email cannot be used: it already belongs to an account of this app', { field: 'newEmail' })
        : new AppError('PHONE_TAKEN', 'This phone number cannot be used: it already belongs to an account of this app', { field: 'newPhoneNumber' });
    }
  }

  /**
   * Tells the address being replaced (else the account's other one) where the change would
   * go, masked: queued with the code, in the same transaction. Where this gateway has no
   * channel for that address (production with SMS only, say) the change still goes ahead.
   */
  private async notifyOldAddress(em: EntityManager, tenant: Tenant, user: User, target: CodeTarget): Promise<void> {
    const sameKind = target.kind === 'email' ? user.email : user.phoneNumber;
    const to = sameKind ? { channel: target.channel, address: sameKind } : user.email ? { channel: 'EMAIL' as const, address: user.email } : user.phoneNumber ? { channel: 'SMS' as const, address: user.phoneNumber } : null;
    if (!to) return;
    if (!this.courier.canDeliver(to.channel)) {
      this.logger.warn({ appId: tenant.app.id, userId: user.id, channel: to.channel }, 'contact change notice not sent: no channel for the old address');
      return;
    }
    await this.courier.send(em, {
      appId: tenant.app.id,
      settings: tenant.settings,
      channel: to.channel,
      to: to.address,
      template: 'contact-change-notice',
      vars: { what: target.kind === 'email' ? 'email address' : 'phone number', destination: target.masked },
    });
  }
}

function fieldOf(kind: ContactKind): string {
  return kind === 'email' ? 'newEmail' : 'newPhoneNumber';
}

function targetOfChange(input: ContactChangeInput): CodeTarget {
  if (input.kind === 'email') {
    const { email, key } = normalizeEmail(input.newEmail, 'newEmail');
    return asTarget('email', key, email);
  }
  const e164 = normalizePhone(input.newPhoneNumber, input.countryCode, 'newPhoneNumber', 'countryCode');
  return asTarget('phone', e164, e164);
}

function asTarget(kind: ContactKind, key: string, address: string): CodeTarget {
  return kind === 'email' ? { kind, key, address, channel: 'EMAIL', masked: maskEmail(address) } : { kind, key, address, channel: 'SMS', masked: maskPhone(address) };
}
