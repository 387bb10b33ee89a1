import { Field, ObjectType } from 'type-graphql';

@ObjectType('SocialNonce', { description: 'A single-use nonce for the provider\'s SDK (raw, or its SHA-256 as Apple wants)' })
export class SocialNonce {
  @Field(() => String) nonce!: string;
  @Field(() => Date) expiresAt!: Date;
}

@ObjectType('SocialRedirect', { description: 'Send the browser here to sign in at the provider' })
export class SocialRedirect {
  @Field(() => String) authorizationUrl!: string;
  @Field(() => Date, { description: 'The flow must come back before this' }) expiresAt!: Date;
}

@ObjectType('SocialIdentity', { description: 'A provider account linked to this customer' })
export class SocialIdentityType {
  @Field(() => String, { description: 'The app\'s provider id, e.g. "google"' }) provider!: string;
  @Field(() => String, { description: 'The provider\'s stable id of the person (sub)' }) subject!: string;
  @Field(() => String, { nullable: true, description: 'The email the provider last gave' }) email!: string | null;
  @Field(() => Boolean, { description: 'Whether the provider said that email is verified' }) emailVerified!: boolean;
  @Field(() => Date) linkedAt!: Date;
}
