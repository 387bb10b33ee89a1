import type { EntityMetadata } from '@mikro-orm/core';
import type { ApiKeyKind, App, OtpChallenge, OutboxMessage, PhoneNumberEntry, SingleUseTokenPurpose, User } from '../entities';

/**
 * What the prepared path returns: plain objects with the entities' property names and
 * JavaScript types (Date, boolean, parsed JSON), never ORM entities — nothing is registered
 * in an identity map or tracked for flush. A relation becomes its id (`app` → `appId`).
 */
export type UserRecord = Omit<User, 'app'> & { appId: string };
export type AppRecord = App;

export interface KeyRecord {
  keyId: string;
  kind: ApiKeyKind;
  /** Revoked keys are read too, so that UNAUTHENTICATED can say `revoked_key`. */
  revoked: boolean;
  app: AppRecord;
}

/** The bearer check's one row: the session's state, its user's `suspended`, and which app as of when. */
export interface BearerSessionRecord {
  sessionId: string;
  userId: string;
  revokedAt: Date | null;
  expiresAt: Date;
  userSuspended: boolean;
  appId: string;
  /** The app row's `updated_at`: whether a remembered app record is still current. */
  appUpdatedAt: Date;
}

/** A refresh token with its session (the family) and the session's user. */
export interface RefreshRecord {
  tokenId: string;
  tokenExpiresAt: Date;
  usedAt: Date | null;
  session: SessionRecord;
  /** The session's user, whole (read in the same statement: a refresh answers with it, and checks `suspended`). */
  user: UserRecord;
}

export interface NewSession {
  id: string;
  appId: string;
  userId: string;
  scope: string;
  authTime: Date;
  registrationRequired: boolean;
  createdAt: Date;
  expiresAt: Date;
  /** The sessions list's "last used" (sign-in, then each refresh); null when not given. */
  lastUsedAt?: Date | null;
  ip: string | null;
  userAgent: string | null;
}

/** A session as stored: what was inserted, and whether and why it was revoked. */
export interface SessionRecord extends NewSession {
  revokedAt: Date | null;
  revokedReason: string | null;
}

export interface NewRefreshToken {
  id: string;
  sessionId: string;
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * What a proven one-time code changes on its account (validateOtp), written with the session it
 * opens. A null field is left as it is.
 */
export interface VerifiedIdentity {
  userId: string;
  emailVerified: true | null;
  phoneVerified: true | null;
  phoneNumbers: PhoneNumberEntry[] | null;
  updatedAt: Date;
}

export type OtpRecord = Omit<OtpChallenge, 'app'> & { appId: string };

/** The fields a new or replacing one-time code writes (challenges.ts `fields`). */
export interface OtpFields {
  channel: OtpChallenge['channel'];
  purpose: OtpChallenge['purpose'];
  userId: string | null;
  codeHash: string;
  createdAt: Date;
  expiresAt: Date;
  /** The hourly count with this code, and when its hour began. */
  sends: number;
  sendsSince: Date;
}

/** A code's write (challenges.ts write): the row replaced in place or a destination's first, and its message or the decoy. */
export interface OtpWrite {
  /** The destination's row to replace, unless re-issued after `cooldownEdge` (null: insert `id`). */
  existingId: string | null;
  cooldownEdge: Date;
  id: string;
  appId: string;
  destination: string;
  fields: OtpFields;
  /** The code's message; null: nothing is sent (an unknown account), the decoy statement runs instead. */
  message: NewOutboxMessage | null;
}

/**
 * An outbox row as the courier queues it: pending with no attempt yet or, with `lockedUntil`,
 * already claimed by the worker of the process that writes it (written `sending`, its first
 * attempt counted, leased until then: delivered from memory after the commit, see
 * OutboxWorker.handOff).
 */
export interface NewOutboxMessage {
  id: string;
  appId: string;
  channel: OutboxMessage['channel'];
  to: string;
  template: string;
  subject: string | null;
  body: string;
  fromName: string;
  createdAt: Date;
  nextAttemptAt: Date;
  lockedUntil: Date | null;
  carrierId: string | null;
  expiresAt: Date | null;
}

export type OutboxRecord = Omit<OutboxMessage, 'app'> & { appId: string };

/** The state a worker claimed a message in; its outcome is written only while the row is still in it. */
export interface OutboxClaim {
  id: string;
  status: OutboxMessage['status'];
  attempts: number;
}

export interface SingleUseRecord {
  id: string;
  appId: string;
  userId: string;
  purpose: SingleUseTokenPurpose;
  data: Record<string, unknown>;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
}

export type Row = Record<string, unknown>;

/** How a column's raw value becomes the property's value, per dialect. */
export interface Decoder {
  date(value: unknown): Date;
  bool(value: unknown): boolean;
  json(value: unknown): unknown;
}

export const sqliteDecoder: Decoder = {
  // The ORM stores SQLite datetimes as epoch milliseconds (BaseSqlitePlatform.processDateProperty).
  date: (value) => new Date(value as number),
  bool: (value) => value === 1 || value === true,
  json: (value) => (typeof value === 'string' ? JSON.parse(value) : value),
};

export const postgresDecoder: Decoder = {
  // Our pg queries use pg's default type parsers (timestamptz → Date, jsonb → value), not the
  // ORM's (which keep timestamps as strings): see executors.ts.
  date: (value) => (value instanceof Date ? value : new Date(value as string)),
  bool: (value) => value === true,
  json: (value) => value,
};

export function nullableDate(decoder: Decoder, value: unknown): Date | null {
  return value == null ? null : decoder.date(value);
}

type Kind = 'plain' | 'date' | 'bool' | 'json';

export interface EntityColumns {
  /** The select list, `alias."col" as "alias_col", …`, in property order. */
  readonly select: string;
  /** How many columns `select` lists (the offset of what follows it in a `values` row). */
  readonly count: number;
  /** Reads a row selected with `select` (one object per row, keyed `alias_col`). */
  read(row: Row, decoder: Decoder): Record<string, unknown>;
  /** Reads the same columns from a row of values in select order, from `offset` on (a `values` statement). */
  readValues(values: unknown[], offset: number, decoder: Decoder): Record<string, unknown>;
}

/**
 * The columns of an entity as its metadata declares them, so a hot-path read of a whole row
 * follows the schema (a migration adding a column needs no edit here). Scalars keep their
 * property names, a many-to-one becomes `<name>Id`. Columns come back aliased
 * `<alias>_<column>`, so two entities can share one joined row.
 */
export function entityColumns(meta: EntityMetadata, alias: string): EntityColumns {
  const columns = meta.props
    .filter((p) => (p.kind === 'scalar' || p.kind === 'm:1') && p.persist !== false && p.fieldNames?.length === 1)
    .map((p) => {
      const kind: Kind =
        p.kind === 'm:1' ? 'plain' : p.runtimeType === 'Date' ? 'date' : p.runtimeType === 'boolean' ? 'bool' : /json/i.test(String(p.type)) ? 'json' : 'plain';
      return { field: p.fieldNames[0], key: `${alias}_${p.fieldNames[0]}`, name: p.kind === 'm:1' ? `${p.name}Id` : p.name, kind };
    });
  return {
    select: columns.map((c) => `${alias}."${c.field}" as "${c.key}"`).join(', '),
    count: columns.length,
    read: compileReader(columns, (c) => `row[${JSON.stringify(c.key)}]`, ['row', 'd']) as EntityColumns['read'],
    readValues: compileReader(columns, (_c, i) => `values[offset + ${i}]`, ['values', 'offset', 'd']) as EntityColumns['readValues'],
  };
}

/**
 * A reader made for one entity's columns, once, when the store is built: one object literal
 * with every property in the same order, rather than a loop that sets properties by computed
 * name. Measured on the user row (43 columns): 0.5 µs against 3–5 µs for the loop, and every
 * record of an entity has one shape, so the code that reads them stays monomorphic (bench/README.md,
 * "Lookups without a fork, rows by position, a pool of cores + 1"). The text is built only from the ORM's metadata (property names, quoted
 * with JSON.stringify), never from anything a request carries.
 */
function compileReader(columns: { name: string; key: string; kind: Kind }[], source: (c: { key: string }, index: number) => string, params: string[]): (...args: unknown[]) => Record<string, unknown> {
  const fields = columns.map((c, i) => {
    const raw = source(c, i);
    const value =
      c.kind === 'date' ? `${raw} == null ? null : d.date(${raw})`
      : c.kind === 'bool' ? `${raw} == null ? false : d.bool(${raw})`
      : c.kind === 'json' ? `${raw} == null ? null : d.json(${raw})`
      : `${raw} ?? null`;
    return `${JSON.stringify(c.name)}: ${value}`;
  });
  return new Function(...params, `return { ${fields.join(', ')} };`) as (...args: unknown[]) => Record<string, unknown>;
}
