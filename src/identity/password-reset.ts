import type { EntityManager } from '@mikro-orm/core';
import type { User } from '../db/entities';
import { inTransaction } from '../db/transaction';
import { AppError, badInput } from '../errors';
import type { AppService } from './apps';
import type { SecurityEvents } from './events';
import type { PasswordHasher } from './passwords/hasher';
import { assertPasswordPolicy } from './passwords/policy';
import type { SessionService } from './sessions';
import type { SingleUseTokens } from './single-use-tokens';
import type { Tenant, UserService } from './users';

export interface ResetRequestData {
  email?: string | null;
  userId?: string | null;
  /** Default true; null counts as the default. */
  sendEmail?: boolean | null;
}

export interface ResetRequestOutcome {
  sent: boolean;
  verificationString: string | null;
  resetLink: string | null;
  expiresIn: number | null;
}

/** The link a reset email carries, and the token it dies with if the email cannot be delivered. */
export interface ResetMail {
  link: string;
  expiresIn: number;
  tokenId: string;
  expiresAt: Date;
}

/** Queues the reset email with `em`, in the caller's transaction (the courier's job; wired in app.ts). */
export type ResetMailer = (em: EntityManager, tenant: Tenant, user: User, mail: ResetMail) => Promise<void>;

export const RESET_TTL_SECONDS = 3600;

/**
 * Password reset (SPEC §4.5, sessionm-password-reset.txt). A secret key may ask for the
 * verification string and link (`sendEmail: false`) to send with its own email provider;
 * everyone else gets the email from us and nothing secret in the answer. With a publishable
 * key an unknown email answers exactly like a known one.
 */
export class PasswordResetService {
  /** `password.reset` (SPEC §4.10), written with the new hash. Set in app.ts. */
  events?: SecurityEvents;

  constructor(
    private readonly users: UserService,
    private readonly tokens: SingleUseTokens,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly publicUrl: () => string,
    private readonly mail: ResetMailer,
    private readonly apps: AppService,
  ) {}

  async request(em: EntityManager, tenant: Tenant, secretCaller: boolean, input: ResetRequestData): Promise<ResetRequestOutcome> {
    const hasEmail = input.email != null;
    const hasId = input.userId != null;
    if (hasEmail === hasId) throw badInput(hasEmail ? 'userId' : 'email', 'give either email or userId');
    const sendEmail = input.sendEmail ?? true;
    if (!sendEmail && !secretCaller) {
      throw new AppError('FORBIDDEN', 'Only a secret key may receive the verification string (sendEmail: false)', { field: 'sendEmail' });
    }
    const user = hasEmail
      ? await this.users.findByEmail(em, tenant, input.email!)
      : await this.users.findOne(em, tenant, { id: input.userId });
    const hidden: ResetRequestOutcome = { sent: true, verificationString: null, resetLink: null, expiresIn: null };
    if (!user) {
      if (secretCaller) throw new AppError('USER_NOT_FOUND', undefined, { field: hasEmail ? 'email' : 'userId' });
      await this.decoy(em);
      return hidden;
    }
    if (sendEmail && !user.email) {
      if (secretCaller) throw badInput('sendEmail', 'this user has no email address; use sendEmail: false');
      await this.decoy(em);
      return hidden;
    }

    // One commit: older links retired, the new token, and its email queued (the courier sends it
    // after the commit, so the answer takes the same time whether or not the account exists).
    return inTransaction(em, async () => {
      await this.tokens.retireAll(em, 'password_reset', user.id);
      const issued = await this.tokens.issue(em, 'password_reset', 'prt_', tenant.app.id, user.id, RESET_TTL_SECONDS);
      const link = resetLink(tenant.settings.resetPasswordUrl ?? `${this.publicUrl()}/reset-password`, issued.token);
      if (!sendEmail) return { sent: false, verificationString: issued.token, resetLink: link, expiresIn: RESET_TTL_SECONDS };
      await this.mail(em, tenant, user, { link, expiresIn: RESET_TTL_SECONDS, tokenId: issued.id, expiresAt: issued.expiresAt });
      return hidden;
    });
  }

  /**
   * A publishable key's request for an unknown email costs what a known one costs (SPEC §6:
   * "not in content, not in time"; as login spends a hash on an unknown account): a write
   * transaction of as many statements as the real one (retire, token, message), matching no row.
   */
  private async decoy(em: EntityManager): Promise<void> {
    await inTransaction(em, async () => {
      for (let i = 0; i < 3; i++) await this.tokens.retireAll(em, 'password_reset', NO_USER);
    });
  }

  /**
   * The app (tenant) a live reset token belongs to, or null when the token is unknown,
   * expired or used. The gateway's own reset page (server/reset-page.ts) has no API key —
   * the browser holds only the token from the mailed link — so it finds the tenant this way
   * and then calls reset() like the resetPassword mutation does: the single-use, suspension
   * and policy checks are that one method's, whichever door the token comes through.
   */
  async tenantOfToken(em: EntityManager, token: string): Promise<Tenant | null> {
    const app = await this.tokens.appOf(em, 'password_reset', token);
    return app ? { app, settings: this.apps.settingsOf(app) } : null;
  }

  /**
   * Sets the new password (policy applies), consumes the token once, ends every session. A
   * suspended account answers ACCOUNT_SUSPENDED and its token is left unused (SPEC §4.10: a
   * suspension is lifted by reinstating, and the customer's link may still be wanted then).
   */
  async reset(em: EntityManager, tenant: Tenant, token: string, password: string): Promise<void> {
    assertPasswordPolicy(password, tenant.settings.passwordPolicy);
    const live = await this.tokens.peek(em, 'password_reset', tenant.app.id, token);
    if (!live) throw new AppError('INVALID_RESET_TOKEN', undefined, { field: 'token' });
    if (live.user.suspended) throw new AppError('ACCOUNT_SUSPENDED');
    const hash = await this.hasher.hash(password);
    // One commit: the token used, the new password, every session ended.
    await inTransaction(em, async () => {
      const row = await this.tokens.consume(em, 'password_reset', tenant.app.id, token);
      if (!row) throw new AppError('INVALID_RESET_TOKEN', undefined, { field: 'token' });
      const user = await this.users.requireById(em, tenant, row.userId);
      this.users.setPasswordHash(user, hash);
      this.events?.stage(em, tenant, { type: 'password.reset', userId: user.id });
      await em.flush();
      await this.sessions.revokeAll(em, user.id, 'password_reset');
    });
  }
}

/** No user has this id: the decoy's statements match no row. */
const NO_USER = '00000000-0000-0000-0000-000000000000';

function resetLink(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set('token', token);
  return url.toString();
}
