import { Field, ID, InputType } from 'type-graphql';

@InputType('RequestPasswordResetInput', { description: 'Either email or userId' })
export class RequestPasswordResetInput {
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => ID, { nullable: true }) userId?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true, description: 'false (secret key only): return the verification string and link instead of mailing them' })
  sendEmail?: boolean | null;
}

@InputType('ResetPasswordInput')
export class ResetPasswordInput {
  @Field(() => String, { description: 'The verification string from the reset link' }) token!: string;
  @Field(() => String) password!: string;
}

@InputType('AutologinInput', { description: 'Easypromos-style autologin; externalId is always treated as a string' })
export class AutologinInput {
  @Field(() => ID, { description: 'Your stable id of the customer (string or number)' }) externalId!: string;
  @Field(() => String) firstName!: string;
  @Field(() => String) lastName!: string;
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true, description: 'false: the session carries registrationRequired' })
  skipRegistration?: boolean | null;
  @Field(() => ID, { nullable: true, description: 'Client-side calls (no key): the app, whose allowedOrigins must list the page origin' })
  appId?: string | null;
}

@InputType('LegalAgreementInput')
export class LegalAgreementInput {
  @Field(() => String) deviceUuid!: string;
  @Field(() => [String], { description: 'Names or versions of the accepted documents' }) documents!: string[];
}
