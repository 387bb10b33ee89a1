import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { AppSettings } from '../../config/app-settings';
import type { User as UserEntity } from '../../db/entities';

export enum OptInStatus {
  CONFIRMED = 'CONFIRMED',
  DISABLED = 'DISABLED',
  PENDING = 'PENDING',
}
registerEnumType(OptInStatus, { name: 'OptInStatus', description: 'Consent state of one marketing channel' });

@ObjectType('Identifier', { description: 'An identifier of this customer in another system' })
export class IdentifierType {
  @Field(() => String) externalId!: string;
  @Field(() => String, { nullable: true }) externalIdType!: string | null;
}

@ObjectType('PhoneNumber', { description: 'A phone number of the SessionM-style profile' })
export class PhoneNumberType {
  @Field(() => String, { description: 'E.164' }) phoneNumber!: string;
  @Field(() => String) phoneType!: string;
  @Field(() => [String]) preferenceFlags!: string[];
  @Field(() => Boolean) verifiedOwnership!: boolean;
}

/**
 * The public view of a customer. Deliberately a separate class from the entity: credentials
 * (password hash) and lookup keys are not here, so no decorator slip can expose them.
 * Its fields resolve only for a secret key, the user's own token, or the call that just
 * signed that user in (see permissions.ts).
 */
@ObjectType('User')
export class UserType {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) externalId!: string | null;
  @Field(() => [IdentifierType]) identifiers!: IdentifierType[];
  @Field(() => String, { nullable: true }) email!: string | null;
  @Field(() => Boolean) emailVerified!: boolean;
  @Field(() => String, { nullable: true, description: 'Primary phone number, E.164' }) phoneNumber!: string | null;
  @Field(() => Boolean) phoneVerified!: boolean;
  @Field(() => [PhoneNumberType]) phoneNumbers!: PhoneNumberType[];
  @Field(() => String, { nullable: true }) firstName!: string | null;
  @Field(() => String, { nullable: true }) lastName!: string | null;
  @Field(() => String, { nullable: true }) title!: string | null;
  @Field(() => String, { nullable: true }) gender!: string | null;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD' }) dob!: string | null;
  @Field(() => String, { nullable: true }) address!: string | null;
  @Field(() => String, { nullable: true }) city!: string | null;
  @Field(() => String, { nullable: true }) state!: string | null;
  @Field(() => String, { nullable: true }) zip!: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166 alpha-2' }) country!: string | null;
  @Field(() => String, { nullable: true }) dma!: string | null;
  @Field(() => String, { nullable: true }) locale!: string | null;
  @Field(() => Boolean) optedIn!: boolean;
  @Field(() => OptInStatus) optInEmail!: OptInStatus;
  @Field(() => OptInStatus) optInSms!: OptInStatus;
  @Field(() => OptInStatus) optInPush!: OptInStatus;
  @Field(() => Boolean) activated!: boolean;
  @Field(() => Boolean) suspended!: boolean;
  @Field(() => Boolean) testAccount!: boolean;
  @Field(() => Boolean) isSocial!: boolean;
  @Field(() => String) accountStatus!: string;
  @Field(() => [String]) proxyIds!: string[];
  @Field(() => [String]) tierLevels!: string[];
  @Field(() => String, { nullable: true }) profilePhotoUrl!: string | null;
  @Field(() => String) referrerCode!: string;
  @Field(() => Boolean, { description: 'False while the app requires a legal acceptance this user has not given' })
  legalAccepted!: boolean;
  @Field(() => Boolean, { description: 'Whether the user can sign in with a password' }) hasPassword!: boolean;
  @Field(() => Date, { nullable: true }) registeredAt!: Date | null;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date) updatedAt!: Date;

  /** From the entity or from the prepared path's plain record (db/fast): the same fields. */
  static from(user: Omit<UserEntity, 'app'>, settings: AppSettings): UserType {
    const view = new UserType();
    Object.assign(view, {
      id: user.id,
      externalId: user.externalId ?? null,
      identifiers: user.identifiers,
      email: user.email ?? null,
      emailVerified: user.emailVerified,
      phoneNumber: user.phoneNumber ?? null,
      phoneVerified: user.phoneVerified,
      phoneNumbers: user.phoneNumbers,
      firstName: user.firstName ?? null,
      lastName: user.lastName ?? null,
      title: user.title ?? null,
      gender: user.gender ?? null,
      dob: user.dob ?? null,
      address: user.address ?? null,
      city: user.city ?? null,
      state: user.state ?? null,
      zip: user.zip ?? null,
      country: user.country ?? null,
      dma: user.dma ?? null,
      locale: user.locale ?? null,
      optedIn: user.optedIn,
      optInEmail: user.optInEmail,
      optInSms: user.optInSms,
      optInPush: user.optInPush,
      activated: user.activated,
      suspended: user.suspended,
      testAccount: user.testAccount,
      isSocial: user.isSocial,
      accountStatus: user.accountStatus,
      proxyIds: user.proxyIds,
      tierLevels: user.tierLevels,
      profilePhotoUrl: user.profilePhotoUrl ?? null,
      referrerCode: user.referrerCode,
      legalAccepted: !settings.requireLegalAcceptance || Boolean(user.legalAcceptedAt),
      hasPassword: Boolean(user.passwordHash),
      registeredAt: user.registeredAt ?? null,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
    });
    return view;
  }
}
