import type { EntityManager } from '@mikro-orm/core';
import type { SocialProviderSettings } from '../../config/social-providers';
import { User } from '../../db/entities';
import { deleteIdentity, findLinkedUser, identitiesOf, insertIdentity, touchIdentity } from '../../db/social';
import { AppError, badInput } from '../../errors';
import type { Clock } from '../clock';
import type { SecurityEvents } from '../events';
import type { ProfileData } from '../profile';
import { newId } from '../secrets';
import type { Tenant, UserService } from '../users';
import { normalizeEmail, normalizePhone } from '../validation';
import type { ProviderProfile } from './profile';

/** What a first sign-up may carry besides the provider's claims (Apple sends the name only once, outside the token). */
export type NewAccountData = Pick<ProfileData, 'firstName' | 'lastName' | 'title' | 'gender' | 'dob' | 'locale' | 'country' | 'optedIn' | 'optInEmail' | 'optInSms' | 'optInPush'>;

/** What a sign-in ends in: a session (native), a login ticket (web redirect). Runs in the transaction that created the account, if one did. */
export type Finish<T> = (em: EntityManager, user: User) => Promise<T>;

/** A concurrent first sign-in of the same provider account linked it first; ours is rolled back. */
class LostRace extends Error {}

/**
 * Which account a provider account signs in to — SPEC §4.9's linking order:
 * 1. an identity `(app, issuer, subject)` already linked: that account;
 * 2. else, the provider's email trusted (`trustEmail`) and verified (its `emailVerifiedClaim`)
 *    and a local account has that email verified: link it;
 * 3. else, a local account has that email or phone (unverified on either side): LINK_REQUIRED —
 *    the customer signs in the usual way and calls linkIdentity. Nothing is linked, nothing of
 *    that account changes: a password set by whoever registered the address first never ends
 *    up in the provider user's account;
 * 4. else create the account, `isSocial`, with the email only when trusted and verified (an
 *    untrusted address stays on the identity row, so it can neither squat nor later be
 *    "recovered" into an account its provider user can still enter).
 */
export class SocialAccounts {
  /** Security events (SPEC §4.10): `identity.linked` / `identity.unlinked`, and `user.signed_up` for an account a provider created. Set in app.ts. */
  events?: SecurityEvents;

  constructor(
    private readonly clock: Clock,
    private readonly users: UserService,
  ) {}

  async signIn<T>(em: EntityManager, tenant: Tenant, provider: SocialProviderSettings, profile: ProviderProfile, extra: NewAccountData, finish: Finish<T>): Promise<T> {
    const linked = await findLinkedUser(em, tenant.app.id, provider.issuer, profile.subject);
    if (linked) {
      await touchIdentity(em, linked.identityId, { email: profile.email, emailVerified: profile.emailVerified, at: this.clock.now() });
      return finish(em, linked.user);
    }
    const trusted = trustedEmail(provider, profile);
    const emailKey = profile.email ? keyOf(profile.email) : null;
    const byEmail = emailKey ? await this.users.findByIdentity(em, tenant, { kind: 'email', key: emailKey }) : null;
    if (byEmail) {
      if (!(trusted && byEmail.emailVerified)) throw linkRequired(provider);
      const conflict = await insertIdentity(em, this.identityRow(tenant, byEmail.id, provider, profile));
      if (conflict === 'subject_taken') return this.signInWinner(em, tenant, provider, profile, finish);
      if (conflict === 'provider_taken') throw linkRequired(provider);
      await this.events?.write(em, tenant, { type: 'identity.linked', userId: byEmail.id, detail: { provider: provider.id, by: 'verified_email' } });
      return finish(em, byEmail);
    }
    const phone = profile.phoneNumber ? phoneOf(profile.phoneNumber) : null;
    if (phone && (await this.users.findByIdentity(em, tenant, { kind: 'phone', key: phone }))) throw linkRequired(provider);
    if (!provider.allowSignUp) {
      throw new AppError('METHOD_DISABLED', `Sign-up with ${provider.id} is turned off for this app; sign in to an existing account and link ${provider.id} to it`);
    }
    try {
      return await em.transactional(async (tx) => {
        const user = this.users.build(tx, tenant, {
          ...extra,
          firstName: extra.firstName ?? clip(profile.givenName),
          lastName: extra.lastName ?? clip(profile.familyName),
          email: trusted ? profile.email : null,
        });
        user.emailVerified = trusted;
        user.isSocial = true;
        this.events?.stage(tx, tenant, { type: 'user.signed_up', userId: user.id, detail: { method: 'social', provider: provider.id } });
        await this.users.insert(tx, user);
        const conflict = await insertIdentity(tx, this.identityRow(tenant, user.id, provider, profile));
        if (conflict) throw new LostRace();
        return finish(tx, user);
      });
    } catch (error) {
      // Since we looked, a concurrent first sign-in of this provider account created the account
      // (then sign in there), or a registration took the email or phone (step 3: LINK_REQUIRED).
      if (error instanceof LostRace) return this.signInWinner(em, tenant, provider, profile, finish);
      if (error instanceof AppError && (error.code === 'EMAIL_TAKEN' || error.code === 'PHONE_TAKEN')) return this.signInWinner(em, tenant, provider, profile, finish);
      throw error;
    }
  }

  /** `linkIdentity`: the signed-in customer adds a provider account (SPEC §4.9). */
  async link(em: EntityManager, tenant: Tenant, userId: string, provider: SocialProviderSettings, profile: ProviderProfile): Promise<User> {
    const user = await this.users.requireById(em, tenant, userId);
    const linked = await findLinkedUser(em, tenant.app.id, provider.issuer, profile.subject);
    if (linked) {
      if (linked.user.id === user.id) return user;
      throw new AppError('IDENTITY_TAKEN', undefined, { field: 'provider' });
    }
    const conflict = await insertIdentity(em, this.identityRow(tenant, user.id, provider, profile));
    if (conflict === 'subject_taken') throw new AppError('IDENTITY_TAKEN', undefined, { field: 'provider' });
    if (conflict === 'provider_taken') {
      throw badInput('provider', `this account already has another ${provider.id} account linked; unlink it first`);
    }
    await this.events?.write(em, tenant, { type: 'identity.linked', userId: user.id, detail: { provider: provider.id, by: 'customer' } });
    // The provider vouches for the address the account already has: that proves it too.
    const emailKey = profile.email ? keyOf(profile.email) : null;
    if (trustedEmail(provider, profile) && emailKey && emailKey === user.emailKey && !user.emailVerified) {
      user.emailVerified = true;
      user.updatedAt = this.clock.now();
      await em.flush();
    }
    return user;
  }

  /**
   * `unlinkIdentity`: refused with LAST_CREDENTIAL when nothing else could sign the customer in
   * (a password, another configured provider, a code to the account's email or phone where the
   * app has that method on). The user row is written first, so two concurrent unlinks of one
   * customer's last two identities are serialised (a row lock on PostgreSQL, the write lock on
   * SQLite) and the second sees the first one's delete.
   */
  async unlink(em: EntityManager, tenant: Tenant, userId: string, providerId: string): Promise<void> {
    await em.transactional(async (tx) => {
      await tx.nativeUpdate(User, { id: userId, app: tenant.app.id }, { updatedAt: this.clock.now() });
      const user = await this.users.requireById(tx, tenant, userId);
      const identities = await identitiesOf(tx, tenant.app.id, userId);
      const target = identities.find((i) => i.provider === providerId);
      if (!target) throw badInput('provider', `no ${providerId} account is linked to this account`);
      const configured = new Set(tenant.settings.socialProviders.map((p) => p.id));
      const others = identities.filter((i) => i !== target && configured.has(i.provider)).length;
      const methods = tenant.settings.signUpMethods;
      const codes = (user.email && methods.includes('EMAIL_OTP') ? 1 : 0) + (user.phoneNumber && methods.includes('PHONE_OTP') ? 1 : 0);
      if (!user.passwordHash && others === 0 && codes === 0) {
        throw new AppError('LAST_CREDENTIAL', `${providerId} is the last way to sign in to this account: set a password (changePassword) or link another provider first`, { field: 'provider' });
      }
      await deleteIdentity(tx, target.id);
      await this.events?.write(tx, tenant, { type: 'identity.unlinked', userId, detail: { provider: providerId } });
    });
  }

  /** Step 1 again, after losing a race: the winner's account if it linked this provider account, else LINK_REQUIRED. */
  private async signInWinner<T>(em: EntityManager, tenant: Tenant, provider: SocialProviderSettings, profile: ProviderProfile, finish: Finish<T>): Promise<T> {
    em.clear();
    const linked = await findLinkedUser(em, tenant.app.id, provider.issuer, profile.subject);
    if (!linked) throw linkRequired(provider);
    return finish(em, linked.user);
  }

  private identityRow(tenant: Tenant, userId: string, provider: SocialProviderSettings, profile: ProviderProfile) {
    return {
      id: newId(),
      appId: tenant.app.id,
      userId,
      provider: provider.id,
      issuer: provider.issuer,
      subject: profile.subject,
      email: profile.email && profile.email.length <= 254 ? profile.email : null,
      emailVerified: profile.emailVerified,
      linkedAt: this.clock.now(),
    };
  }
}

/** Never link or create a verified account on an email the provider does not vouch for, or that we do not trust it on. */
function trustedEmail(provider: SocialProviderSettings, profile: ProviderProfile): boolean {
  return Boolean(provider.trustEmail && profile.emailVerified && profile.email && keyOf(profile.email));
}

function linkRequired(provider: SocialProviderSettings): AppError {
  return new AppError('LINK_REQUIRED', undefined, { provider: provider.id });
}

/** The email's normal form, or null for an address we could not store (the provider's word is not input we refuse). */
function keyOf(email: string): string | null {
  try {
    return normalizeEmail(email, 'email').key;
  } catch {
    return null;
  }
}

function phoneOf(phone: string): string | null {
  try {
    return normalizePhone(phone, null, 'phoneNumber');
  } catch {
    return null;
  }
}

function clip(name: string | null): string | null {
  return name ? name.slice(0, 100) : null;
}
