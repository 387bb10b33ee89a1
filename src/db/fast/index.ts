import { DriverException, type EntityManager } from '@mikro-orm/core';
import type { ApiKeyKind, SingleUseTokenPurpose } from '../entities';
import { PostgresExecutor, SqliteExecutor, all, get, run, values, type Executor, type Plan } from './executors';
import {
  entityColumns,
  nullableDate,
  postgresDecoder,
  sqliteDecoder,
  type AppRecord,
  type BearerSessionRecord,
  type Decoder,
  type KeyRecord,
  type NewRefreshToken,
  type NewOutboxMessage,
  type NewSession,
  type OtpWrite,
  type OutboxClaim,
  type OutboxRecord,
  type OtpRecord,
  type RefreshRecord,
  type Row,
  type SessionRecord,
  type SingleUseRecord,
  type UserRecord,
  type VerifiedIdentity,
} from './rows';
import { forDialect, statementTexts, type StatementColumns } from './statements';

export type * from './rows';

/** What a refresh-token rotation decided (SessionService.refresh's three outcomes). */
export type RotationOutcome =
  /** Unknown token, another app's, revoked or expired family, expired token. */
  | { kind: 'invalid' }
  /** A new child (or, within the grace interval, the same child again); the user is not suspended. */
  | { kind: 'rotated'; session: SessionRecord; user: UserRecord; expiresAt: Date; childIssued: boolean }
  /** The session's user is suspended (checked before the family's own state: the suspension ended it). */
  | { kind: 'suspended' }
  /** A rotated token presented again after the grace interval: the family is now revoked (unless `revokeOnReuse` is false: the caller revokes it). */
  | { kind: 'reused'; sessionId: string; userId: string };

export interface RotationRequest {
  appId: string;
  presentedHash: string;
  /** The derived child's hash and, should this call rotate, the row to write for it. */
  child: NewRefreshToken;
  now: Date;
  graceMs: number;
  /** Default true. False: a reuse is only reported, the caller revokes the family (with its security event, in one commit). */
  revokeOnReuse?: boolean;
}

/** A security_event row for a prepared insert (`detail` as JSON text). */
export interface HotSecurityEvent {
  id: string;
  appId: string;
  type: string;
  userId: string | null;
  ip: string | null;
  at: Date;
  detail: string;
}

/**
 * The second door to storage (issue 13): the hot path — credential checks, lookups by key,
 * the login lookup, session creation, refresh rotation, one-time codes, single-use secrets —
 * as prepared statements kept for the life of the process, one set per ORM, per dialect.
 * MikroORM keeps the schema, the migrations and the editing of whole records.
 *
 * Every method takes the request's EntityManager only to learn which transaction it is in:
 * inside `em.transactional` the statements run in that transaction on its connection, so the
 * ORM and this store see each other's writes; outside, each method is its own statement (or
 * its own transaction when it writes several rows). Results are plain records, never entities.
 * Times are the caller's (the injected clock), never the database's.
 */
export class HotStore {
  private static readonly byDriver = new WeakMap<object, HotStore>();

  /** The store of `em`'s ORM, built on first use (statements are prepared lazily, once per connection). */
  static of(em: EntityManager): HotStore {
    const driver = em.getDriver();
    let store = HotStore.byDriver.get(driver);
    if (!store) {
      store = new HotStore(em);
      HotStore.byDriver.set(driver, store);
    }
    return store;
  }

  private readonly exec: Executor;
  private readonly decode: Decoder;
  private readonly columns: StatementColumns;

  private constructor(em: EntityManager) {
    const knexClient = (em.getConnection() as unknown as { getKnex(): { client: KnexClientInfo } }).getKnex().client;
    const meta = em.getMetadata();
    this.columns = {
      app: entityColumns(meta.find('App')!, 'a'),
      user: entityColumns(meta.find('User')!, 'u'),
      session: entityColumns(meta.find('Session')!, 's'),
      otp: entityColumns(meta.find('OtpChallenge')!, 'o'),
      outbox: entityColumns(meta.find('OutboxMessage')!, 'm'),
    };
    const texts = statementTexts(this.columns);
    const driver = em.getDriver();
    const convert = (error: unknown) =>
      error instanceof Error && !(error instanceof DriverException) && typeof (error as { code?: unknown }).code === 'string' ? driver.convertException(error) : error;
    if (knexClient.driverName === 'better-sqlite3') {
      this.exec = new SqliteExecutor(knexClient, forDialect(texts, 'sqlite'), convert);
      this.decode = sqliteDecoder;
    } else if (knexClient.driverName === 'pg') {
      this.exec = new PostgresExecutor(knexClient, forDialect(texts, 'postgresql'), knexClient.driver.types, convert);
      this.decode = postgresDecoder;
    } else {
      throw new Error(`the prepared hot path supports better-sqlite3 and pg, not ${knexClient.driverName}`);
    }
  }

  private one<T>(em: EntityManager, plan: Plan<T>): Promise<T> {
    return this.exec.execute(em, plan, false);
  }

  private atomic<T>(em: EntityManager, plan: Plan<T>): Promise<T> {
    return this.exec.execute(em, plan, true);
  }

  // --- credentials ----------------------------------------------------------------------------

  /** A live (unrevoked) API key by the SHA-256 of the presented key, with its app. */
  keyWithApp(em: EntityManager, keyHash: string): Promise<KeyRecord | undefined> {
    const self = this;
    return this.one(em, (function* () {
      // k.id, k.kind, k.revoked_at, then the app's columns.
      const row = (yield values('keyWithApp', keyHash)) as unknown[] | undefined;
      if (!row) return undefined;
      return { keyId: row[0] as string, kind: row[1] as ApiKeyKind, revoked: row[2] != null, app: self.app(row, 3) };
    })());
  }

  /** The session an access token names, whatever its state (the caller decides), with its user's `suspended` and its app's id and `updatedAt`. */
  bearerSession(em: EntityManager, sessionId: string): Promise<BearerSessionRecord | undefined> {
    const self = this;
    return this.one(em, (function* () {
      const row = (yield get('bearerSession', sessionId)) as Row | undefined;
      if (!row) return undefined;
      return {
        sessionId,
        userId: row.s_user_id as string,
        revokedAt: nullableDate(self.decode, row.s_revoked_at),
        expiresAt: self.decode.date(row.s_expires_at),
        userSuspended: self.decode.bool(row.u_suspended),
        appId: row.s_app_id as string,
        appUpdatedAt: self.decode.date(row.a_updated_at),
      };
    })());
  }

  /** An app's whole row (settings parsed), as keyWithApp reads it. */
  appById(em: EntityManager, appId: string): Promise<AppRecord | undefined> {
    const self = this;
    return this.one(em, (function* () {
      const row = (yield values('appById', appId)) as unknown[] | undefined;
      return row && self.app(row, 0);
    })());
  }

  // --- lookups ----------------------------------------------------------------------------------

  /** `checkEmail`: by the normalised email key; one column, no row mapped. */
  checkEmail(em: EntityManager, appId: string, emailKey: string): Promise<{ exists: boolean; isSocial: boolean }> {
    return this.one(em, this.exists('checkEmail', appId, emailKey));
  }

  /** `checkPhoneNumber`: by the E.164 number; the oldest account when several share it. */
  checkPhoneNumber(em: EntityManager, appId: string, phoneNumber: string): Promise<{ exists: boolean; isSocial: boolean }> {
    return this.one(em, this.exists('checkPhone', appId, phoneNumber));
  }

  userById(em: EntityManager, appId: string, id: string): Promise<UserRecord | undefined> {
    return this.one(em, this.user(values('userById', id, appId)));
  }

  userByEmail(em: EntityManager, appId: string, emailKey: string): Promise<UserRecord | undefined> {
    return this.one(em, this.user(values('userByEmail', appId, emailKey)));
  }

  /** By phone number; the oldest account when several share it (no per-app phone uniqueness). */
  userByPhone(em: EntityManager, appId: string, phoneNumber: string): Promise<UserRecord | undefined> {
    return this.one(em, this.user(values('userByPhone', appId, phoneNumber)));
  }

  userByExternalId(em: EntityManager, appId: string, externalId: string): Promise<UserRecord | undefined> {
    return this.one(em, this.user(values('userByExternalId', appId, externalId)));
  }

  /** The login lookup: the account an already normalised email key or E.164 number names. */
  loginLookup(em: EntityManager, appId: string, identity: { kind: 'email' | 'phone'; key: string }): Promise<UserRecord | undefined> {
    return identity.kind === 'email' ? this.userByEmail(em, appId, identity.key) : this.userByPhone(em, appId, identity.key);
  }

  // --- sessions -------------------------------------------------------------------------------

  /**
   * A new session and its first refresh token, committed together (a participant session has
   * none: `refresh` null), and with them what a proven code marks on the account (`verified`).
   * Inside `em`'s transaction they commit or roll back with it.
   */
  createSession(em: EntityManager, session: NewSession, refresh: NewRefreshToken | null, verified?: VerifiedIdentity, event?: HotSecurityEvent): Promise<void> {
    const plan = (function* () {
      if (verified) {
        const phoneNumbers = verified.phoneNumbers && JSON.stringify(verified.phoneNumbers);
        yield run('markVerified', verified.emailVerified, verified.phoneVerified, phoneNumbers, verified.updatedAt, verified.userId);
      }
      yield run('insertSession', session.id, session.appId, session.userId, session.scope, session.authTime, session.registrationRequired, session.createdAt, session.expiresAt, session.lastUsedAt ?? null, session.ip, session.userAgent);
      if (refresh) yield run('insertRefreshToken', refresh.id, refresh.sessionId, refresh.tokenHash, refresh.createdAt, refresh.expiresAt);
      if (event) yield run('insertSecurityEvent', event.id, event.appId, event.type, event.userId, event.ip, event.at, event.detail);
    })();
    return refresh || verified || event ? this.atomic(em, plan) : this.one(em, plan);
  }

  /**
   * Refresh rotation, as one transaction: the presented token must be this app's, live, in a
   * live family. Unused: claimed with `used_at is null` (of two racing calls exactly one wins),
   * the child inserted, the family's expiry moved to the child's. Already used (or the claim
   * lost): the same child again when it is unused and the parent was used within `graceMs`,
   * else the family is revoked (`refresh_token_reused`).
   */
  rotateRefreshToken(em: EntityManager, request: RotationRequest): Promise<RotationOutcome> {
    const self = this;
    return this.atomic(em, (function* (): Plan<RotationOutcome> {
      const { now, child } = request;
      const found = yield* self.refreshRow(request.presentedHash);
      if (!found || found.session.appId !== request.appId) return { kind: 'invalid' };
      const { session } = found;
      if (found.user.suspended) return { kind: 'suspended' };
      if (session.revokedAt || found.tokenExpiresAt <= now || session.expiresAt <= now) return { kind: 'invalid' };

      let usedAt = found.usedAt;
      if (!usedAt) {
        const won = (yield run('claimRefresh', now, found.tokenId)) as number;
        if (won === 1) {
          yield run('insertRefreshToken', child.id, session.id, child.tokenHash, now, child.expiresAt);
          yield run('extendSession', child.expiresAt, now, session.id);
          return { kind: 'rotated', session: { ...session, expiresAt: child.expiresAt, lastUsedAt: now }, user: found.user, expiresAt: child.expiresAt, childIssued: true };
        }
        const again = yield* self.refreshRow(request.presentedHash);
        usedAt = again?.usedAt ?? now;
      }
      const issued = (yield get('refreshTokenState', child.tokenHash)) as Row | undefined;
      if (issued && issued.used_at == null && now.getTime() - usedAt.getTime() <= request.graceMs) {
        return { kind: 'rotated', session, user: found.user, expiresAt: self.decode.date(issued.expires_at), childIssued: false };
      }
      if (request.revokeOnReuse !== false) yield run('revokeSession', now, 'refresh_token_reused', session.id);
      return { kind: 'reused', sessionId: session.id, userId: session.userId };
    })());
  }

  /** Ends a live session (logout, reuse); false when it was already ended. */
  revokeSession(em: EntityManager, sessionId: string, now: Date, reason: string): Promise<boolean> {
    return this.one(em, (function* () {
      return ((yield run('revokeSession', now, reason, sessionId)) as number) === 1;
    })());
  }

  /** Ends every live session of a user, but `keep` when given; the number ended. */
  revokeUserSessions(em: EntityManager, userId: string, now: Date, reason: string, keep?: string): Promise<number> {
    return this.one(em, (function* () {
      return (yield keep ? run('revokeUserSessionsBut', now, reason, userId, keep) : run('revokeUserSessions', now, reason, userId)) as number;
    })());
  }

  // --- one-time codes -------------------------------------------------------------------------

  /** The challenge row of a destination; `live` only when not yet consumed. */
  otpChallenge(em: EntityManager, appId: string, destination: string, options: { live?: boolean } = {}): Promise<OtpRecord | undefined> {
    return this.one(em, this.otp(values(options.live ? 'otpLiveByDestination' : 'otpByDestination', appId, destination)));
  }

  otpChallengeById(em: EntityManager, id: string): Promise<OtpRecord | undefined> {
    return this.one(em, this.otp(values('otpById', id)));
  }

  /**
   * A code and its message in one commit (joining `em`'s transaction when it has one): the
   * destination's row replaced in place (unless another request re-issued it after
   * `cooldownEdge`: false, nothing written) or its first row inserted (a concurrent first code
   * fails with UniqueConstraintViolationException), then the message queued — or, for an
   * unknown account, the decoy statement in its place, so both answers cost the same.
   */
  writeOtp(em: EntityManager, write: OtpWrite): Promise<boolean> {
    const { fields: f, message } = write;
    return this.atomic(em, (function* () {
      if (write.existingId) {
        const replaced = (yield run('otpReplace', f.channel, f.purpose, f.userId, f.codeHash, f.createdAt, f.expiresAt, f.sends, f.sendsSince, write.existingId, write.cooldownEdge)) as number;
        if (replaced !== 1) return false;
      } else {
        yield run('otpInsert', write.id, write.appId, write.destination, f.channel, f.purpose, f.userId, f.codeHash, f.createdAt, f.expiresAt, f.sends, f.sendsSince);
      }
      yield message ? outboxInsert(message) : run('outboxDecoy', NO_MESSAGE);
      return true;
    })());
  }

  /** Counts one try of this very code (same hash, unconsumed) while under the cap; false when none is left or the code changed. */
  countOtpTry(em: EntityManager, id: string, codeHash: string, maxAttempts: number): Promise<boolean> {
    return this.changedOne(em, run('otpCountTry', id, codeHash, maxAttempts));
  }

  /** Consumes this very code; of two right answers racing, one gets true. */
  consumeOtp(em: EntityManager, id: string, codeHash: string, now: Date): Promise<boolean> {
    return this.changedOne(em, run('otpConsume', now, id, codeHash));
  }

  /** Deletes a code that could not be delivered (only if it is still that code). */
  deleteOtp(em: EntityManager, id: string, codeHash: string): Promise<boolean> {
    return this.changedOne(em, run('otpDelete', id, codeHash));
  }

  // --- the courier's outbox ------------------------------------------------------------------

  /** Queues a message (in `em`'s transaction when it has one: it commits or rolls back with it). */
  insertOutbox(em: EntityManager, message: NewOutboxMessage): Promise<void> {
    return this.one(em, (function* () {
      yield outboxInsert(message);
    })());
  }

  /** The worker's pass: up to `limit` messages due at `now` (pending, or sending past their lease), the longest-waiting first. */
  dueOutbox(em: EntityManager, now: Date, limit: number): Promise<OutboxRecord[]> {
    const self = this;
    return this.one(em, (function* () {
      const rows = (yield all('outboxDue', now, now, limit)) as Row[];
      return rows.map((row) => self.columns.outbox.read(row, self.decode) as unknown as OutboxRecord);
    })());
  }

  /** Claims a message in the state it was read in (`attempts` goes up with every claim); true when this call won it. */
  claimOutbox(em: EntityManager, read: OutboxClaim, lockedUntil: Date): Promise<boolean> {
    return this.changedOne(em, run('outboxClaim', read.attempts + 1, lockedUntil, read.id, read.status, read.attempts));
  }

  /** Records a delivery while `claim` is still the row's state; `keepBody` false empties the body (the code leaves the database). */
  markOutboxDelivered(em: EntityManager, claim: OutboxClaim, at: Date, via: string, keepBody: boolean): Promise<boolean> {
    return this.changedOne(em, run('outboxDelivered', at, via, keepBody ? null : '', claim.id, claim.attempts));
  }

  // --- security events ------------------------------------------------------------------------

  /** One security event row (`detail` as JSON text); in `em`'s transaction when it has one. */
  insertSecurityEvent(em: EntityManager, row: HotSecurityEvent): Promise<void> {
    return this.one(em, (function* () {
      yield run('insertSecurityEvent', row.id, row.appId, row.type, row.userId, row.ip, row.at, row.detail);
    })());
  }

  // --- single-use secrets ---------------------------------------------------------------------

  /** Consumes a live token of this app and purpose in one conditional update; undefined when unknown, expired or already used. */
  consumeSingleUse(em: EntityManager, purpose: SingleUseTokenPurpose, appId: string, tokenHash: string, now: Date): Promise<SingleUseRecord | undefined> {
    const self = this;
    return this.one(em, (function* () {
      const row = (yield get('consumeSingleUse', now, tokenHash, purpose, appId, now)) as Row | undefined;
      if (!row) return undefined;
      return {
        id: row.id as string,
        appId: row.app_id as string,
        userId: row.user_id as string,
        purpose: row.purpose as SingleUseTokenPurpose,
        data: (self.decode.json(row.data) ?? {}) as Record<string, unknown>,
        createdAt: self.decode.date(row.created_at),
        expiresAt: self.decode.date(row.expires_at),
        usedAt: nullableDate(self.decode, row.used_at),
      };
    })());
  }

  // --- plans shared by the methods above ------------------------------------------------------

  private app(row: unknown[], offset: number): AppRecord {
    return this.columns.app.readValues(row, offset, this.decode) as unknown as AppRecord;
  }

  private *exists(name: 'checkEmail' | 'checkPhone', appId: string, key: string): Plan<{ exists: boolean; isSocial: boolean }> {
    const row = (yield get(name, appId, key)) as Row | undefined;
    return { exists: row !== undefined, isSocial: row !== undefined && this.decode.bool(row.is_social) };
  }

  /** A whole user row read by `values` (the user's columns only, in select order). */
  private *user(op: ReturnType<typeof values>): Plan<UserRecord | undefined> {
    const row = (yield op) as unknown[] | undefined;
    return row && (this.columns.user.readValues(row, 0, this.decode) as unknown as UserRecord);
  }

  private *otp(op: ReturnType<typeof values>): Plan<OtpRecord | undefined> {
    const row = (yield op) as unknown[] | undefined;
    return row && (this.columns.otp.readValues(row, 0, this.decode) as unknown as OtpRecord);
  }

  private *refreshRow(tokenHash: string): Plan<RefreshRecord | undefined> {
    // r.id, r.expires_at, r.used_at, then the session's columns, then the user's.
    const row = (yield values('refreshByHash', tokenHash)) as unknown[] | undefined;
    if (!row) return undefined;
    const { session, user } = this.columns;
    return {
      tokenId: row[0] as string,
      tokenExpiresAt: this.decode.date(row[1]),
      usedAt: nullableDate(this.decode, row[2]),
      session: session.readValues(row, 3, this.decode) as unknown as SessionRecord,
      user: user.readValues(row, 3 + session.count, this.decode) as unknown as UserRecord,
    };
  }

  private changedOne(em: EntityManager, op: ReturnType<typeof run>): Promise<boolean> {
    return this.one(em, (function* () {
      return ((yield op) as number) === 1;
    })());
  }
}

/** No message has this id: the decoy's update matches no row. */
const NO_MESSAGE = '00000000-0000-0000-0000-000000000000';

function outboxInsert(m: NewOutboxMessage): ReturnType<typeof run> {
  return run('outboxInsert', m.id, m.appId, m.channel, m.to, m.template, m.subject, m.body, m.fromName, m.createdAt, m.lockedUntil ? 'sending' : 'pending', m.lockedUntil ? 1 : 0, m.nextAttemptAt, m.lockedUntil, m.carrierId, m.expiresAt);
}

interface KnexClientInfo {
  driverName: string;
  driver: { types: unknown };
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}
