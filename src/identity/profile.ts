import type { AppSettings } from '../config/app-settings';
import type { OptInStatus, PhoneNumberEntry, User } from '../db/entities';
import { AppError, badInput } from '../errors';
import { checkDate, checkLength, normalizeCountry, normalizePhone } from './validation';

/**
 * Profile fields a client or partner may set (SessionM profile, SPEC §4.6). Shared by
 * register, createUser, updateUser, updateProfile and importUsers: one place validates them.
 * `undefined` leaves a field as it is; `null` clears it.
 */
export interface ProfileData {
  firstName?: string | null;
  lastName?: string | null;
  title?: string | null;
  gender?: string | null;
  dob?: string | null;
  address?: string | null;
  city?: string | null;
  state?: string | null;
  zip?: string | null;
  country?: string | null;
  dma?: string | null;
  locale?: string | null;
  profilePhotoUrl?: string | null;
  externalId?: string | null;
  externalIdType?: string | null;
  optedIn?: boolean | null;
  optInEmail?: OptInStatus | null;
  optInSms?: OptInStatus | null;
  optInPush?: OptInStatus | null;
  phoneNumbers?: PhoneNumberInputData[] | null;
}

export interface PhoneNumberInputData {
  phoneNumber: string;
  countryCode?: string | null;
  phoneType?: string | null;
  preferenceFlags?: string[] | null;
}

/**
 * Profile fields partners use as their own keys (SPEC §1): written only with a secret key. An
 * end user who could choose their externalId could claim a partner's customer in server-side
 * autologin. Only externalId and externalIdType are in the inputs today; the rest are listed
 * so that no future input field of these names slips through.
 */
export const PARTNER_KEY_FIELDS = ['externalId', 'externalIdType', 'identifiers', 'proxyIds', 'testAccount', 'tierLevels', 'accountStatus'] as const;

/**
 * Refuses partner-key fields in a write a customer makes (register without a secret key,
 * updateProfile): FORBIDDEN naming the field, before anything is looked up or written, so a
 * taken external id is not revealed either. `null` in a new account writes nothing; in an
 * update it would clear the field, so it counts.
 */
export function assertNoPartnerKeyFields(data: object, write: 'create' | 'update'): void {
  const values = data as Record<string, unknown>;
  const field = PARTNER_KEY_FIELDS.find((key) => values[key] !== undefined && (write === 'update' || values[key] !== null));
  if (field) {
    throw new AppError('FORBIDDEN', `${field} can be set only with a secret key (x-api-key: sk_…)`, { field });
  }
}

/** A profile's phone list is for a person's few numbers, not a bulk store. */
const MAX_PHONE_NUMBERS = 10;

const TEXT_LIMITS: [keyof ProfileData, number][] = [
  ['firstName', 100], ['lastName', 100], ['title', 50], ['gender', 20], ['address', 255],
  ['city', 100], ['state', 100], ['zip', 20], ['dma', 20], ['locale', 35],
  ['profilePhotoUrl', 1024], ['externalId', 255], ['externalIdType', 64],
];

/** Validates and copies profile data onto a user. `prefix` is a path for nested data, e.g. `users.3.`. */
export function applyProfile(user: User, data: ProfileData, settings: AppSettings, today: Date, prefix = ''): void {
  for (const [key, max] of TEXT_LIMITS) {
    const value = data[key];
    if (value !== undefined && value !== null && typeof value !== 'string') throw badInput(prefix + key, `${key} must be text`);
    checkLength(value as string | null | undefined, prefix + key, max);
  }
  checkDate(data.dob, prefix + 'dob', today);
  if (data.externalId !== undefined && data.externalId !== null && data.externalId.trim() === '') {
    throw badInput(prefix + 'externalId', 'externalId must not be empty');
  }

  const assign = <K extends keyof ProfileData & keyof User>(key: K, value: User[K] | undefined) => {
    if (value !== undefined) (user as unknown as Record<string, unknown>)[key] = value;
  };
  const trimmed = (value: string | null | undefined) => (value === undefined ? undefined : value === null ? null : value.trim() || null);

  assign('firstName', trimmed(data.firstName));
  assign('lastName', trimmed(data.lastName));
  assign('title', trimmed(data.title));
  assign('gender', trimmed(data.gender));
  assign('dob', data.dob);
  assign('address', trimmed(data.address));
  assign('city', trimmed(data.city));
  assign('state', trimmed(data.state));
  assign('zip', trimmed(data.zip));
  assign('dma', trimmed(data.dma));
  assign('locale', trimmed(data.locale));
  assign('profilePhotoUrl', trimmed(data.profilePhotoUrl));
  if (data.country !== undefined) {
    user.country = data.country === null ? null : normalizeCountry(data.country, prefix + 'country');
  }
  if (data.externalId !== undefined) {
    user.externalId = data.externalId === null ? null : String(data.externalId).trim();
    user.identifiers = user.externalId ? [{ externalId: user.externalId, externalIdType: data.externalIdType ?? user.externalIdType ?? null }] : [];
  }
  if (data.externalIdType !== undefined) {
    user.externalIdType = trimmed(data.externalIdType) ?? null;
    if (user.externalId) user.identifiers = [{ externalId: user.externalId, externalIdType: user.externalIdType }];
  }
  if (data.optedIn !== undefined && data.optedIn !== null) user.optedIn = data.optedIn;
  if (data.optInEmail) user.optInEmail = data.optInEmail;
  if (data.optInSms) user.optInSms = data.optInSms;
  if (data.optInPush) user.optInPush = data.optInPush;
  if (data.phoneNumbers && data.phoneNumbers.length > MAX_PHONE_NUMBERS) {
    throw badInput(prefix + 'phoneNumbers', `at most ${MAX_PHONE_NUMBERS} phone numbers`);
  }
  if (data.phoneNumbers !== undefined) {
    user.phoneNumbers = (data.phoneNumbers ?? []).map((entry, i) => toPhoneEntry(entry, `${prefix}phoneNumbers.${i}`, user));
  }
  if (data.firstName !== undefined || data.lastName !== undefined) {
    user.nameKey = nameKey(user.firstName, user.lastName);
  }
  // phone uniqueness is per app: the key column only carries a value when the app wants it unique
  user.phoneKey = settings.uniquePhoneNumber ? user.phoneNumber ?? null : null;
}

function toPhoneEntry(entry: PhoneNumberInputData, path: string, user: User): PhoneNumberEntry {
  const phoneNumber = normalizePhone(entry.phoneNumber, entry.countryCode, `${path}.phoneNumber`, `${path}.countryCode`);
  checkLength(entry.phoneType, `${path}.phoneType`, 20);
  const flags = entry.preferenceFlags ?? [];
  if (flags.length > 10 || flags.some((f) => f.length > 32)) throw badInput(`${path}.preferenceFlags`, 'at most 10 flags of at most 32 characters');
  const known = user.phoneNumbers.find((p) => p.phoneNumber === phoneNumber);
  return {
    phoneNumber,
    phoneType: entry.phoneType?.trim() || 'mobile',
    preferenceFlags: flags,
    verifiedOwnership: known?.verifiedOwnership ?? (user.phoneVerified && user.phoneNumber === phoneNumber),
  };
}

export function nameKey(first: string | null | undefined, last: string | null | undefined): string | null {
  if (!first && !last) return null;
  return `${(first ?? '').toLowerCase()} ${(last ?? '').toLowerCase()}`;
}
