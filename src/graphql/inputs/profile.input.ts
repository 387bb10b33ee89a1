import { Field, InputType } from 'type-graphql';
import { OptInStatus } from '../types/user.type';

/**
 * Inputs are plain carriers: every check (email syntax, E.164, lengths, dates) runs in the
 * domain (identity/validation.ts, identity/profile.ts), the one place the CLI and imports
 * share, and answers BAD_USER_INPUT naming the field.
 */

@InputType('PhoneNumberInput')
export class PhoneNumberInput {
  @Field(() => String, { description: 'E.164, or a national number with countryCode' }) phoneNumber!: string;
  @Field(() => String, { nullable: true, description: 'ISO 3166 alpha-2 or alpha-3' }) countryCode?: string | null;
  @Field(() => String, { nullable: true, description: 'home, mobile, work…' }) phoneType?: string | null;
  @Field(() => [String], { nullable: true, description: 'e.g. ["primary"]' }) preferenceFlags?: string[] | null;
}

@InputType('ProfileInput', { description: 'Profile fields; omitted fields are left as they are, null clears one' })
export class ProfileInput {
  @Field(() => String, { nullable: true }) firstName?: string | null;
  @Field(() => String, { nullable: true }) lastName?: string | null;
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => String, { nullable: true }) gender?: string | null;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD' }) dob?: string | null;
  @Field(() => String, { nullable: true }) address?: string | null;
  @Field(() => String, { nullable: true }) city?: string | null;
  @Field(() => String, { nullable: true }) state?: string | null;
  @Field(() => String, { nullable: true }) zip?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166 alpha-2 or alpha-3' }) country?: string | null;
  @Field(() => String, { nullable: true }) dma?: string | null;
  @Field(() => String, { nullable: true }) locale?: string | null;
  @Field(() => String, { nullable: true }) profilePhotoUrl?: string | null;
  @Field(() => String, { nullable: true }) externalId?: string | null;
  @Field(() => String, { nullable: true }) externalIdType?: string | null;
  @Field(() => Boolean, { nullable: true }) optedIn?: boolean | null;
  @Field(() => OptInStatus, { nullable: true }) optInEmail?: OptInStatus | null;
  @Field(() => OptInStatus, { nullable: true }) optInSms?: OptInStatus | null;
  @Field(() => OptInStatus, { nullable: true }) optInPush?: OptInStatus | null;
  @Field(() => [PhoneNumberInput], { nullable: true }) phoneNumbers?: PhoneNumberInput[] | null;
}

@InputType('CreateUserInput', { description: 'A back-office contact: may have neither password nor verified identity' })
export class CreateUserInput extends ProfileInput {
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => String, { nullable: true }) phoneNumber?: string | null;
  @Field(() => String, { nullable: true }) countryCode?: string | null;
}

@InputType('UserFilter', { description: 'All given fields must match; firstName and lastName go together' })
export class UserFilter {
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => String, { nullable: true }) phoneNumber?: string | null;
  @Field(() => String, { nullable: true }) countryCode?: string | null;
  @Field(() => String, { nullable: true }) externalId?: string | null;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD' }) dob?: string | null;
  @Field(() => String, { nullable: true }) firstName?: string | null;
  @Field(() => String, { nullable: true }) lastName?: string | null;
}
