import { Field, InputType } from 'type-graphql';
import { DeliveryChannel } from '../types/auth.type';
import { OtpPurpose } from '../types/otp.type';

@InputType('RequestOtpInput', { description: 'Either email or phoneNumber (E.164, or national with countryCode)' })
export class RequestOtpInput {
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => String, { nullable: true }) phoneNumber?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166 alpha-2 or alpha-3' }) countryCode?: string | null;
  @Field(() => DeliveryChannel, { nullable: true, description: 'Defaults to EMAIL for an email, SMS for a phone number' })
  channel?: DeliveryChannel | null;
  @Field(() => OtpPurpose) purpose!: OtpPurpose;
}

@InputType('ValidateOtpInput', { description: 'The email or phoneNumber the code was sent to, and the code' })
export class ValidateOtpInput {
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => String, { nullable: true }) phoneNumber?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166 alpha-2 or alpha-3' }) countryCode?: string | null;
  @Field(() => String) code!: string;
}
