import type { Dialect } from '../orm';
import type { EntityColumns } from './rows';

/** The entity column lists the whole-row statements select (built from the ORM's metadata). */
export interface StatementColumns {
  app: EntityColumns; // alias a
  user: EntityColumns; // alias u
  session: EntityColumns; // alias s
  otp: EntityColumns; // alias o
  outbox: EntityColumns; // alias m
}

/**
 * Every statement of the hot path, by name: the only SQL text the prepared path runs. Written
 * once with `?` placeholders in the SQL both dialects share (double-quoted "user", `limit`,
 * `returning`); `forDialect` numbers the placeholders for PostgreSQL. Unqualified table names
 * resolve through the connection's search_path (db/orm.ts sets it per pooled connection).
 * Times are always parameters from the injected clock, never the database's now(), so the
 * tests' shifted clock and every instance agree.
 *
 * The conditional updates are the same as the ORM code they replace: each claims its row
 * with a `where … is null` (or a cap) and reports the rows it changed, so of two racing
 * requests exactly one wins.
 */
export function statementTexts(c: StatementColumns) {
  return {
    // --- credentials on every request -------------------------------------------------------
    /** A live API key and its app (apps.ts authenticateKey). */
    keyWithApp: `select k.id as k_id, k.kind as k_kind, k.revoked_at as k_revoked_at, ${c.app.select} from api_key k join app a on a.id = k.app_id where k.key_hash = ? limit 1`,
    /**
     * The bearer check's one row: session state, the user's `suspended` and the app's `updated_at`
     * only (sessions.ts authenticateBearer; the app's record is remembered until that moves: apps.ts appAsOf).
     */
    bearerSession:
      'select s.user_id as s_user_id, s.revoked_at as s_revoked_at, s.expires_at as s_expires_at, u.suspended as u_suspended, s.app_id as s_app_id, a.updated_at as a_updated_at ' +
      'from session s join "user" u on u.id = s.user_id join app a on a.id = s.app_id where s.id = ? limit 1',
    appById: `select ${c.app.select} from app a where a.id = ? limit 1`,

    // --- lookups ------------------------------------------------------------------------------
    checkEmail: 'select is_social from "user" where app_id = ? and email_key = ? limit 1',
    /** Without per-app phone uniqueness several accounts may share a number: the oldest one (users.ts findByIdentity). */
    checkPhone: 'select is_social from "user" where app_id = ? and phone_number = ? order by id limit 1',
    userById: `select ${c.user.select} from "user" u where u.id = ? and u.app_id = ? limit 1`,
    userByEmail: `select ${c.user.select} from "user" u where u.app_id = ? and u.email_key = ? limit 1`,
    userByPhone: `select ${c.user.select} from "user" u where u.app_id = ? and u.phone_number = ? order by u.id limit 1`,
    userByExternalId: `select ${c.user.select} from "user" u where u.app_id = ? and u.external_id = ? limit 1`,

    // --- sessions and refresh rotation (sessions.ts signIn / refresh) ---------------------------
    insertSession:
      'insert into session (id, app_id, user_id, scope, auth_time, registration_required, created_at, expires_at, last_used_at, revoked_at, revoked_reason, ip, user_agent) ' +
      'values (?, ?, ?, ?, ?, ?, ?, ?, ?, null, null, ?, ?)',
    /** What a proven code marks on its account (null: that column unchanged, read in the same statement). */
    markVerified:
      'update "user" set email_verified = coalesce(?, email_verified), phone_verified = coalesce(?, phone_verified), phone_numbers = coalesce(?, phone_numbers), updated_at = ? where id = ?',
    insertRefreshToken: 'insert into refresh_token (id, session_id, token_hash, created_at, expires_at, used_at) values (?, ?, ?, ?, ?, null)',
    /** The token, its session and the session's user, whole: the refresh answers with that user, so no second lookup. */
    refreshByHash:
      `select r.id as r_id, r.expires_at as r_expires_at, r.used_at as r_used_at, ${c.session.select}, ${c.user.select} ` +
      'from refresh_token r join session s on s.id = r.session_id join "user" u on u.id = s.user_id where r.token_hash = ? limit 1',
    refreshTokenState: 'select used_at, expires_at from refresh_token where token_hash = ? limit 1',
    /** Claims a rotation: of two racing refreshes of one token exactly one changes the row. */
    claimRefresh: 'update refresh_token set used_at = ? where id = ? and used_at is null',
    /** A rotation: the family lives as long as its newest token, and was used now (the sessions list's lastUsedAt). */
    extendSession: 'update session set expires_at = ?, last_used_at = ? where id = ?',
    revokeSession: 'update session set revoked_at = ?, revoked_reason = ? where id = ? and revoked_at is null',
    /** Every live session of a user (logout everywhere, password change or reset)… */
    revokeUserSessions: 'update session set revoked_at = ?, revoked_reason = ? where user_id = ? and revoked_at is null',
    /** …but the one the request is made with. */
    revokeUserSessionsBut: 'update session set revoked_at = ?, revoked_reason = ? where user_id = ? and revoked_at is null and id <> ?',

    // --- one-time codes (otp/challenges.ts) ------------------------------------------------------
    otpByDestination: `select ${c.otp.select} from otp_challenge o where o.app_id = ? and o.destination = ? limit 1`,
    otpLiveByDestination: `select ${c.otp.select} from otp_challenge o where o.app_id = ? and o.destination = ? and o.consumed_at is null limit 1`,
    otpById: `select ${c.otp.select} from otp_challenge o where o.id = ? limit 1`,
    otpInsert:
      'insert into otp_challenge (id, app_id, destination, channel, purpose, user_id, code_hash, attempts, created_at, expires_at, consumed_at, sends, sends_since) ' +
      'values (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, null, ?, ?)',
    /**
     * Replaces the previous code unless another request did so within the cooldown: of two
     * requests that read the same row, one writes, so the hourly count read with it holds.
     */
    otpReplace:
      'update otp_challenge set channel = ?, purpose = ?, user_id = ?, code_hash = ?, attempts = 0, created_at = ?, expires_at = ?, consumed_at = null, sends = ?, sends_since = ? ' +
      'where id = ? and (created_at <= ? or consumed_at is not null)',
    /** Counts a try before any comparison; the cap holds however many race. */
    otpCountTry: 'update otp_challenge set attempts = attempts + 1 where id = ? and code_hash = ? and consumed_at is null and attempts < ?',
    otpConsume: 'update otp_challenge set consumed_at = ? where id = ? and code_hash = ? and consumed_at is null',
    otpDelete: 'delete from otp_challenge where id = ? and code_hash = ?',

    // --- the courier's outbox (delivery/courier.ts send, delivery/worker.ts) ---------------------
    outboxInsert:
      'insert into outbox_message (id, app_id, channel, "to", template, subject, body, from_name, created_at, status, attempts, next_attempt_at, ' +
      "locked_until, delivered_at, via, last_error, carrier_id, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, null, null, ?, ?)",
    /** What a queued message costs, matching no row: an unknown account's code (SPEC §6, not in time). */
    outboxDecoy: 'update outbox_message set attempts = 0 where id = ?',
    /** Due: pending whose time has come, or sending whose claim's lease ran out (the outbox_message_due_idx prefix). */
    outboxDue:
      `select ${c.outbox.select} from outbox_message m ` +
      "where (m.status = 'pending' and m.next_attempt_at <= ?) or (m.status = 'sending' and m.locked_until <= ?) order by m.next_attempt_at limit ?",
    /** A claim on the state the worker read: of several workers exactly one changes the row. */
    outboxClaim: "update outbox_message set status = 'sending', attempts = ?, locked_until = ? where id = ? and status = ? and attempts = ?",
    /** Delivered, while the claim is still ours; `body`: '' once a provider has it, null to keep it (the development outbox). */
    outboxDelivered:
      "update outbox_message set status = 'delivered', delivered_at = ?, via = ?, locked_until = null, last_error = null, body = coalesce(?, body) " +
      "where id = ? and status = 'sending' and attempts = ?",

    // --- security events (identity/events.ts write: failed logins and lockouts) -----------------
    insertSecurityEvent: 'insert into security_event (id, app_id, type, user_id, ip, at, detail) values (?, ?, ?, ?, ?, ?, ?)',

    // --- single-use secrets (single-use-tokens.ts consume) ----------------------------------------
    /** Consumes a live token in one statement: unknown, expired and used tokens change no row. */
    consumeSingleUse:
      'update single_use_token set used_at = ? where token_hash = ? and purpose = ? and app_id = ? and used_at is null and expires_at > ? ' +
      'returning id, app_id, user_id, purpose, data, created_at, expires_at, used_at',
  };
}

export type StatementName = keyof ReturnType<typeof statementTexts>;
export type StatementTexts = Record<StatementName, string>;

/** The text a dialect runs: `?` placeholders become `$1, $2, …` for PostgreSQL. */
export function forDialect(texts: StatementTexts, dialect: Dialect): StatementTexts {
  if (dialect === 'sqlite') return texts;
  const out = {} as StatementTexts;
  for (const [name, sql] of Object.entries(texts) as [StatementName, string][]) {
    let n = 0;
    out[name] = sql.replace(/\?/g, () => `$${++n}`);
  }
  return out;
}
