import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { OtpRequestOutcome } from '../../identity/otp';
import { DeliveryChannel } from './auth.type';

export enum OtpPurpose {
  REGISTER = 'REGISTER',
  LOGIN = 'LOGIN',
  VERIFY = 'VERIFY',
}
registerEnumType(OtpPurpose, {
  name: 'OtpPurpose',
  description: 'REGISTER: for register(otpCode). LOGIN: sign in with validateOtp. VERIFY: prove an existing account’s email or phone (then validateOtp)',
});

@ObjectType('OtpRequest', { description: 'The same answer whether or not the identity has an account (LOGIN, VERIFY)' })
export class OtpRequest {
  @Field(() => Boolean, { description: 'The request was accepted; a code goes out when the identity can receive one' }) sent!: boolean;
  @Field(() => DeliveryChannel) channel!: DeliveryChannel;
  @Field(() => String, { description: 'Masked: j***@example.com, +357*****230' }) destination!: string;
  @Field(() => Int, { description: 'Seconds the code stays valid' }) expiresIn!: number;
  @Field(() => Date) expiresAt!: Date;
  @Field(() => Int, { description: 'Seconds before a new code can be asked for' }) resendAfter!: number;

  static from(outcome: OtpRequestOutcome): OtpRequest {
    return Object.assign(new OtpRequest(), { ...outcome, channel: outcome.channel as DeliveryChannel });
  }
}
