import { UniqueConstraintViolationException, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import type { AppSettings } from '../config/app-settings';
import { stringColumnLengths, overlongColumn } from '../db/column-lengths';
import { App, User, UserSchema } from '../db/entities';
import { HotStore, type AppRecord, type UserRecord } from '../db/fast';
import { savepoint } from '../db/transaction';
import { AppError, badInput } from '../errors';
import type { Clock } from './clock';
import { applyProfile, nameKey, type ProfileData } from './profile';
import { referrerCode } from './referrer-code';
import { isUuid } from './apps';
import { newId } from './secrets';
import { checkDate, normalizeEmail, normalizePhone, type Identity } from './validation';

/**
 * The app a request acts for and its parsed settings. `app` is a plain record (the key cache's,
 * shared and frozen, or the bearer check's row), not an entity of the request: where the ORM
 * needs the app as a relation, pass `em.getReference(App, tenant.app.id)`.
 */
export interface Tenant {
  app: AppRecord;
  settings: AppSettings;
}

export interface IdentityData extends ProfileData {
  email?: string | null;
  phoneNumber?: string | null;
  countryCode?: string | null;
}

export interface UserLookup {
  id?: string | null;
  externalId?: string | null;
  email?: string | null;
  phoneNumber?: string | null;
  countryCode?: string | null;
}

export interface UserFilterData {
  email?: string | null;
  phoneNumber?: string | null;
  countryCode?: string | null;
  externalId?: string | null;
  dob?: string | null;
  firstName?: string | null;
  lastName?: string | null;
}

export interface UserPage {
  users: User[];
  hasNextPage: boolean;
  totalCount: number;
}

/** Customer records of one app: lookups, back-office create/update, and the one insert path. */
export class UserService {
  constructor(private readonly clock: Clock) {}

  async findByEmail(em: EntityManager, tenant: Tenant, email: string, field = 'email'): Promise<User | null> {
    return this.findByIdentity(em, tenant, { kind: 'email', key: normalizeEmail(email, field).key });
  }

  /** `checkEmail`: whether the email has an account, and a social one; one indexed read of one column, no entity built. */
  async checkEmail(em: EntityManager, tenant: Tenant, email: string): Promise<{ exists: boolean; isSocial: boolean }> {
    const { key } = normalizeEmail(email, 'email');
    return HotStore.of(em).checkEmail(em, tenant.app.id, key);
  }

  /** `checkPhoneNumber`: the same for the account findByPhone would find (the oldest one of a shared number). */
  async checkPhoneNumber(em: EntityManager, tenant: Tenant, phoneNumber: string, countryCode?: string | null): Promise<{ exists: boolean; isSocial: boolean }> {
    return HotStore.of(em).checkPhoneNumber(em, tenant.app.id, normalizePhone(phoneNumber, countryCode, 'phoneNumber'));
  }

  /**
   * A user record the prepared path read (db/fast) as the managed entity em.findOne would give:
   * the identity map's copy when this request already holds it, else the record made managed
   * (clean, so later edits flush as usual) with no query building or row mapping
   * (bench/README.md: findOne cost several times the query itself on checkEmail and me).
   */
  managed(em: EntityManager, record: UserRecord): User {
    const { appId, ...fields } = record;
    return em.getUnitOfWork().getById<User>(User.name, record.id) ?? em.create(User, { ...fields, app: appId }, { managed: true, persist: false });
  }

  private async managedOrNull(em: EntityManager, read: Promise<UserRecord | undefined>): Promise<User | null> {
    const record = await read;
    return record ? this.managed(em, record) : null;
  }

  async findByPhone(em: EntityManager, tenant: Tenant, phoneNumber: string, countryCode?: string | null, field = 'phoneNumber'): Promise<User | null> {
    return this.findByIdentity(em, tenant, { kind: 'phone', key: normalizePhone(phoneNumber, countryCode, field) });
  }

  /** The account an already normalised email or phone number names (login, codes). */
  async findByIdentity(em: EntityManager, tenant: Tenant, identity: Pick<Identity, 'kind' | 'key'>): Promise<User | null> {
    if (identity.kind === 'email') return this.managedOrNull(em, HotStore.of(em).userByEmail(em, tenant.app.id, identity.key));
    // Without per-app phone uniqueness several accounts may share a number: the oldest one.
    return this.managedOrNull(em, HotStore.of(em).userByPhone(em, tenant.app.id, identity.key));
  }

  /** `user(...)`: exactly one key; null when there is no such user in this app. */
  async findOne(em: EntityManager, tenant: Tenant, lookup: UserLookup): Promise<User | null> {
    return this.managedOrNull(em, this.lookUp(em, tenant, lookup));
  }

  /**
   * `user(...)` for an answer only (nothing edited): the prepared path's plain record, no entity
   * built (bench/README.md: making the record managed was ~11% of `me`'s CPU).
   */
  async view(em: EntityManager, tenant: Tenant, lookup: UserLookup): Promise<UserRecord | null> {
    return (await this.lookUp(em, tenant, lookup)) ?? null;
  }

  async requireById(em: EntityManager, tenant: Tenant, id: string, field = 'id'): Promise<User> {
    return this.managed(em, await this.requireRecord(em, tenant, id, field));
  }

  /** requireById for an answer only (`me`): the plain record, no entity. */
  async viewById(em: EntityManager, tenant: Tenant, id: string, field = 'id'): Promise<UserRecord> {
    return this.requireRecord(em, tenant, id, field);
  }

  private async requireRecord(em: EntityManager, tenant: Tenant, id: string, field: string): Promise<UserRecord> {
    const user = isUuid(id) ? await HotStore.of(em).userById(em, tenant.app.id, id) : undefined;
    if (!user) throw new AppError('USER_NOT_FOUND', `No user with this ${field} in this app`, { field });
    return user;
  }

  private lookUp(em: EntityManager, tenant: Tenant, lookup: UserLookup): Promise<UserRecord | undefined> {
    const given = (['id', 'externalId', 'email', 'phoneNumber'] as const).filter((k) => lookup[k] !== undefined && lookup[k] !== null);
    if (given.length !== 1) {
      throw badInput(given[1] ?? 'id', 'give exactly one of id, externalId, email or phoneNumber');
    }
    const store = HotStore.of(em);
    if (lookup.id != null) {
      return isUuid(lookup.id) ? store.userById(em, tenant.app.id, lookup.id) : Promise.resolve(undefined);
    } else if (lookup.externalId != null) {
      if (lookup.externalId.length > 255) throw badInput('externalId', 'externalId must be at most 255 characters');
      return store.userByExternalId(em, tenant.app.id, lookup.externalId.trim());
    } else if (lookup.email != null) {
      return store.userByEmail(em, tenant.app.id, normalizeEmail(lookup.email, 'email').key);
    }
    // Without per-app phone uniqueness several accounts may share a number: the oldest one.
    return store.userByPhone(em, tenant.app.id, normalizePhone(lookup.phoneNumber!, lookup.countryCode, 'phoneNumber'));
  }

  /** `users(filter, first, after)`: cursor paging over time-ordered ids. */
  async list(em: EntityManager, tenant: Tenant, filter: UserFilterData, first: number, after?: string | null): Promise<UserPage> {
    if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput('first', 'first must be between 1 and 100');
    const where: Record<string, unknown> = { app: tenant.app.id };
    if (filter.email != null) where.emailKey = normalizeEmail(filter.email, 'email').key;
    if (filter.phoneNumber != null) where.phoneNumber = normalizePhone(filter.phoneNumber, filter.countryCode, 'phoneNumber', 'countryCode');
    if (filter.externalId != null) where.externalId = filter.externalId.trim().slice(0, 255);
    if (filter.dob != null) {
      checkDate(filter.dob, 'dob', this.clock.now());
      where.dob = filter.dob;
    }
    if (filter.firstName != null || filter.lastName != null) {
      if (filter.firstName == null || filter.lastName == null) {
        throw badInput(filter.firstName == null ? 'firstName' : 'lastName', 'filter by name needs both firstName and lastName');
      }
      where.nameKey = nameKey(filter.firstName.trim(), filter.lastName.trim());
    }
    const totalCount = await em.count(User, where as FilterQuery<User>);
    const page = { ...where } as Record<string, unknown>;
    if (after) page.id = { $gt: decodeCursor(after) };
    const users = await em.find(User, page as FilterQuery<User>, { orderBy: { id: 'asc' }, limit: first + 1 });
    return { users: users.slice(0, first), hasNextPage: users.length > first, totalCount };
  }

  /** A new user with identity and profile validated; not yet persisted. */
  build(em: EntityManager, tenant: Tenant, data: IdentityData): User {
    const now = this.clock.now();
    const user = new User();
    user.id = newId();
    user.app = em.getReference(App, tenant.app.id);
    user.createdAt = now;
    user.updatedAt = now;
    user.registeredAt = now;
    if (data.email != null) {
      const { email, key } = normalizeEmail(data.email, 'email');
      user.email = email;
      user.emailKey = key;
    }
    if (data.phoneNumber != null) {
      user.phoneNumber = normalizePhone(data.phoneNumber, data.countryCode, 'phoneNumber', 'countryCode');
    }
    applyProfile(user, data, tenant.settings, now);
    if (user.phoneNumber && !user.phoneNumbers.some((p) => p.phoneNumber === user.phoneNumber)) {
      const hasPrimary = user.phoneNumbers.some((p) => p.preferenceFlags.includes('primary'));
      user.phoneNumbers.unshift({ phoneNumber: user.phoneNumber, phoneType: 'mobile', preferenceFlags: hasPrimary ? [] : ['primary'], verifiedOwnership: false });
    }
    user.referrerCode = referrerCode(user.firstName, user.lastName);
    return user;
  }

  /**
   * Inserts a user and lets the database's unique indexes decide duplicates, so concurrent
   * sign-ups with one email give one account and EMAIL_TAKEN, never two rows or INTERNAL.
   * A referrer-code collision (random suffix) is retried with a new code.
   */
  async insert(em: EntityManager, user: User): Promise<User> {
    assertStorable(user);
    em.persist(user);
    for (let attempt = 0; ; attempt++) {
      try {
        // In a savepoint inside a transaction, so a refused insert can be retried (PostgreSQL).
        await savepoint(em, () => em.flush());
        return user;
      } catch (error) {
        const mapped = mapUniqueViolation(error);
        if (mapped === 'referrer_code' && attempt < 3) {
          user.referrerCode = referrerCode(user.firstName, user.lastName);
          continue;
        }
        rethrowUnique(em, error);
      }
    }
  }

  /** `createUser` (secret key): a back-office contact, possibly without any credential yet. */
  async create(em: EntityManager, tenant: Tenant, data: IdentityData): Promise<User> {
    const user = this.build(em, tenant, data);
    return this.insert(em, user);
  }

  /** `updateUser` / `updateProfile`: profile fields only; credentials change through their own flows. */
  async update(em: EntityManager, tenant: Tenant, user: User, data: ProfileData): Promise<User> {
    try {
      applyProfile(user, data, tenant.settings, this.clock.now());
      assertStorable(user);
    } catch (error) {
      // A refused update must not stay half-applied in the identity map: a later flush in this
      // request (another mutation field of the same document) would write it.
      em.clear();
      throw error;
    }
    user.updatedAt = this.clock.now();
    try {
      await em.flush();
    } catch (error) {
      rethrowUnique(em, error);
    }
    return user;
  }

  /** Sets a new password hash on an existing account (change, reset, upgrade at login). */
  setPasswordHash(user: User, hash: string): void {
    user.passwordHash = hash;
    user.updatedAt = this.clock.now();
  }
}

const USER_COLUMNS = stringColumnLengths(UserSchema);

/**
 * The one check that what is about to be written fits its columns (SPEC §5: input the gateway
 * cannot store is BAD_USER_INPUT naming the field, on every database, never INTERNAL). The
 * input checks bound what a client types; this bounds what normalisation made of it (an IDN
 * email's punycode key, a lower-cased name key, an imported hash), read from the entity.
 */
function assertStorable(user: User): void {
  const over = overlongColumn(user, USER_COLUMNS);
  if (!over) return;
  const field = fieldOfColumn(user, over.property);
  throw badInput(field, `${field} is too long to store (at most ${over.max} characters once normalised)`);
}

/** The input field a stored property comes from. */
function fieldOfColumn(user: User, property: keyof User & string): string {
  switch (property) {
    case 'emailKey':
      return 'email';
    case 'phoneKey':
      return 'phoneNumber';
    case 'nameKey':
      return (user.firstName ?? '').toLowerCase().length > (user.lastName ?? '').toLowerCase().length ? 'firstName' : 'lastName';
    default:
      return property;
  }
}

type UniqueColumn = 'email_key' | 'phone_key' | 'external_id' | 'referrer_code';

/**
 * Which per-app unique index a failed insert hit. Read from what the database says about
 * the violation only, never from the whole message: that starts with the failed SQL, whose
 * column list names every unique column (a duplicate phone is not EMAIL_TAKEN).
 * PostgreSQL gives the constraint (`user_app_phone_key_unique`) as a field of the error;
 * SQLite ends the message with the index's columns (`UNIQUE constraint failed: user.app_id,
 * user.phone_key`).
 */
function mapUniqueViolation(error: unknown): UniqueColumn | null {
  if (!(error instanceof UniqueConstraintViolationException)) return null;
  const culprit =
    (error as { constraint?: string }).constraint ??
    /UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)$/.exec(error.message)?.[1] ??
    /violates unique constraint "(\w+)"/.exec(error.message.slice(error.message.lastIndexOf(' - duplicate key')))?.[1];
  if (!culprit) return null;
  for (const column of ['email_key', 'phone_key', 'external_id', 'referrer_code'] as const) {
    if (culprit.includes(column)) return column;
  }
  return null;
}

/** After a failed flush: drop the half-written state and answer what the unique index said. */
export function rethrowUnique(em: EntityManager, error: unknown): never {
  em.clear();
  switch (mapUniqueViolation(error)) {
    case 'email_key':
      throw new AppError('EMAIL_TAKEN', undefined, { field: 'email' });
    case 'phone_key':
      throw new AppError('PHONE_TAKEN', undefined, { field: 'phoneNumber' });
    case 'external_id':
      throw badInput('externalId', 'another user of this app already has this externalId');
    case 'referrer_code':
      throw new Error('could not find a free referrer code');
    default:
      throw error;
  }
}

export function encodeCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const id = cursor.length <= 64 ? Buffer.from(cursor, 'base64url').toString() : '';
  if (!isUuid(id)) throw badInput('after', 'after is not a cursor this API returned');
  return id;
}
