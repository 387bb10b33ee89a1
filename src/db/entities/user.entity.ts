import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';

export interface PhoneNumberEntry {
  phoneNumber: string;
  phoneType: string;
  preferenceFlags: string[];
  verifiedOwnership: boolean;
}

export interface ExternalIdentifier {
  externalId: string;
  externalIdType: string | null;
}

export type OptInStatus = 'CONFIRMED' | 'DISABLED' | 'PENDING';

/**
 * A customer of one app: the SessionM profile (SPEC §4.6) plus credentials. This class is
 * never a GraphQL type; graphql/types/user.type.ts picks the public fields.
 *
 * `emailKey` and `phoneKey` are the lookup forms (lower-cased email, E.164 phone) and carry
 * the per-app unique indexes, so the database, not a read-then-write, decides duplicates.
 * `phoneKey` stays null when the app switched phone uniqueness off.
 */
export class User {
  id!: string;
  app!: App;
  email?: string | null;
  emailKey?: string | null;
  emailVerified = false;
  phoneNumber?: string | null;
  phoneKey?: string | null;
  phoneVerified = false;
  passwordHash?: string | null;
  externalId?: string | null;
  externalIdType?: string | null;
  identifiers: ExternalIdentifier[] = [];
  firstName?: string | null;
  lastName?: string | null;
  /**
   * lower(first) + ' ' + lower(last): the key of the first + last name filter. Lower-casing can
   * double a name ("İ" becomes "i̇"), so the column holds 2 × 100 + 1 + 2 × 100 characters.
   */
  nameKey?: string | null;
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
  optedIn = false;
  optInEmail: OptInStatus = 'PENDING';
  optInSms: OptInStatus = 'PENDING';
  optInPush: OptInStatus = 'PENDING';
  activated = false;
  suspended = false;
  testAccount = false;
  isSocial = false;
  accountStatus = 'good';
  proxyIds: string[] = [];
  tierLevels: string[] = [];
  phoneNumbers: PhoneNumberEntry[] = [];
  profilePhotoUrl?: string | null;
  referrerCode!: string;
  registeredAt?: Date | null;
  legalAcceptedAt?: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

const text = (length: number) => ({ type: 'string', length, nullable: true }) as const;

export const UserSchema = new EntitySchema<User>({
  class: User,
  tableName: 'user',
  uniques: [
    { name: 'user_app_email_key_unique', properties: ['app', 'emailKey'] },
    { name: 'user_app_phone_key_unique', properties: ['app', 'phoneKey'] },
    { name: 'user_app_external_id_unique', properties: ['app', 'externalId'] },
    { name: 'user_app_referrer_code_unique', properties: ['app', 'referrerCode'] },
  ],
  indexes: [
    { name: 'user_app_phone_number_idx', properties: ['app', 'phoneNumber'] },
    { name: 'user_app_name_key_idx', properties: ['app', 'nameKey'] },
    { name: 'user_app_dob_idx', properties: ['app', 'dob'] },
  ],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App },
    email: text(254),
    emailKey: text(254),
    emailVerified: { type: 'boolean', default: false },
    phoneNumber: text(20),
    phoneKey: text(20),
    phoneVerified: { type: 'boolean', default: false },
    passwordHash: text(512),
    externalId: text(255),
    externalIdType: text(64),
    identifiers: { type: 'json' },
    firstName: text(100),
    lastName: text(100),
    nameKey: text(401),
    title: text(50),
    gender: text(20),
    dob: text(10),
    address: text(255),
    city: text(100),
    state: text(100),
    zip: text(20),
    country: text(3),
    dma: text(20),
    locale: text(35),
    optedIn: { type: 'boolean', default: false },
    optInEmail: { type: 'string', length: 16, default: 'PENDING' },
    optInSms: { type: 'string', length: 16, default: 'PENDING' },
    optInPush: { type: 'string', length: 16, default: 'PENDING' },
    activated: { type: 'boolean', default: false },
    suspended: { type: 'boolean', default: false },
    testAccount: { type: 'boolean', default: false },
    isSocial: { type: 'boolean', default: false },
    accountStatus: { type: 'string', length: 32, default: 'good' },
    proxyIds: { type: 'json' },
    tierLevels: { type: 'json' },
    phoneNumbers: { type: 'json' },
    profilePhotoUrl: text(1024),
    referrerCode: { type: 'string', length: 32 },
    registeredAt: { type: 'datetime', nullable: true },
    legalAcceptedAt: { type: 'datetime', nullable: true },
    createdAt: { type: 'datetime' },
    updatedAt: { type: 'datetime' },
  },
});
