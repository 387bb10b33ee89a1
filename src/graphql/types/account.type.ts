import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType('PasswordResetRequest', { description: 'verificationString, resetLink and expiresIn only for a secret key with sendEmail: false' })
export class PasswordResetRequest {
  @Field(() => Boolean) sent!: boolean;
  @Field(() => String, { nullable: true }) verificationString!: string | null;
  @Field(() => String, { nullable: true }) resetLink!: string | null;
  @Field(() => Int, { nullable: true }) expiresIn!: number | null;
}

@ObjectType('AutologinResult')
export class AutologinResult {
  @Field(() => Int, { description: '1 when the ticket was issued' }) status!: number;
  @Field(() => Boolean, { description: 'true when this call created the user' }) registered!: boolean;
  @Field(() => String, { description: 'One-time login ticket, valid 5 minutes' }) lt!: string;
  @Field(() => String, { nullable: true, description: "The app's autologinUrl with ?lt=" }) loginUrl!: string | null;
  @Field(() => Int) expiresIn!: number;
}

@ObjectType('LegalAgreementAcceptance')
export class LegalAgreementAcceptance {
  @Field(() => ID) id!: string;
  @Field(() => String) deviceUuid!: string;
  @Field(() => [String]) documents!: string[];
  @Field(() => Date) acceptedAt!: Date;
}
