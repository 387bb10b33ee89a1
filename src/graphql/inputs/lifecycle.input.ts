import { Field, ID, InputType } from 'type-graphql';

@InputType('UserContactInput', { description: 'Back-office correction of a customer’s email and/or phone (secret key); null or absent leaves it as it is' })
export class UserContactInput {
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => String, { nullable: true, description: 'E.164, or national with countryCode' }) phoneNumber?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166 alpha-2 or alpha-3' }) countryCode?: string | null;
  @Field(() => Boolean, { description: 'Whether the given email / phone counts as verified' }) verified!: boolean;
}

@InputType('SecurityEventFilter')
export class SecurityEventFilter {
  @Field(() => ID, { nullable: true }) userId?: string | null;
  @Field(() => String, { nullable: true, description: 'One event type, e.g. login.failed' }) type?: string | null;
  @Field(() => Date, { nullable: true, description: 'Events at or after this time' }) after?: Date | null;
}
