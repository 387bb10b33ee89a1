import type { EntityManager } from '@mikro-orm/core';
import { inTransaction } from '../db/transaction';
import { AppError, badInput, type ErrorCode } from '../errors';
import type { SecurityEvents } from './events';
import type { PasswordHasher } from './passwords/hasher';
import { schemeOf } from './passwords/hasher';
import { assertPasswordPolicy } from './passwords/policy';
import { accountLimitKey } from './login';
import type { AttemptLimiter } from './rate-limit';
import type { SessionService } from './sessions';
import type { IdentityData, Tenant, UserService } from './users';

export interface ImportRowData extends IdentityData {
  passwordHash?: string | null;
}

export interface ImportOutcome {
  imported: number;
  failed: { index: number; code: ErrorCode; message: string; field?: string }[];
}

export const MAX_IMPORT_ROWS = 1000;

/** Password changes and bulk imports with foreign hashes. */
export class CredentialService {
  /** `password.changed` (SPEC §4.10), written with the new hash. Set in app.ts. */
  events?: SecurityEvents;

  constructor(
    private readonly users: UserService,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    /** The login limiter's per-account counter (LoginLimiters.account): one budget for login and changePassword. */
    private readonly accountLimiter: AttemptLimiter,
  ) {}

  /**
   * `changePassword`: the current password is required, except for an account that has none
   * yet (a back-office contact who proved their email or phone by code). A wrong one counts
   * against the account's login limit (SPEC §3), counted before the check as in login: with a
   * stolen access token, guessing it is no cheaper than guessing at login, and past the limit
   * even the right one answers TOO_MANY_ATTEMPTS. The new password's policy is checked first,
   * so a weak one spends no try. Every other session of the user is revoked; the current one stays.
   */
  async changePassword(em: EntityManager, tenant: Tenant, userId: string, sessionId: string, current: string | null | undefined, next: string): Promise<void> {
    const user = await this.users.requireById(em, tenant, userId);
    if (user.passwordHash) {
      if (!current) throw badInput('currentPassword', 'currentPassword is required');
      assertPasswordPolicy(next, tenant.settings.passwordPolicy, 'newPassword');
      if (current.length > 1024) throw wrongCurrentPassword();
      const limitKey = accountLimitKey(tenant.app.id, user);
      await this.accountLimiter.take(limitKey);
      if (!(await this.hasher.verify(user.passwordHash, current))) throw wrongCurrentPassword();
      await this.accountLimiter.giveBack(limitKey);
    } else {
      assertPasswordPolicy(next, tenant.settings.passwordPolicy, 'newPassword');
    }
    const hash = await this.hasher.hash(next);
    const first = !user.passwordHash;
    // One commit: the new password, the other sessions ended, the event.
    await inTransaction(em, async () => {
      this.users.setPasswordHash(user, hash);
      this.events?.stage(em, tenant, { type: 'password.changed', userId: user.id, detail: { first } });
      await em.flush();
      await this.sessions.revokeAll(em, user.id, 'password_changed', sessionId);
    });
  }

  /**
   * `importUsers`: each row on its own, so one bad row never aborts the others. Foreign hashes
   * (bcrypt, argon2, scrypt) are kept as they are and verified at login, then upgraded.
   */
  async importUsers(em: EntityManager, tenant: Tenant, rows: ImportRowData[]): Promise<ImportOutcome> {
    if (rows.length > MAX_IMPORT_ROWS) throw badInput('input', `at most ${MAX_IMPORT_ROWS} rows per call`);
    const outcome: ImportOutcome = { imported: 0, failed: [] };
    for (const [index, row] of rows.entries()) {
      try {
        if (row.passwordHash != null && !schemeOf(row.passwordHash)) {
          throw badInput('passwordHash', 'passwordHash must be bcrypt ($2a$/$2b$/$2y$), argon2 or scrypt (PHC) form');
        }
        const user = this.users.build(em, tenant, row);
        user.passwordHash = row.passwordHash ?? null;
        await this.users.insert(em, user);
        outcome.imported++;
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        const field = typeof error.extensions.field === 'string' ? error.extensions.field : undefined;
        outcome.failed.push({ index, code: error.code, message: error.message, field });
      }
      em.clear();
    }
    return outcome;
  }
}

function wrongCurrentPassword(): AppError {
  return new AppError('INVALID_CREDENTIALS', 'The current password is wrong', { field: 'currentPassword' });
}
