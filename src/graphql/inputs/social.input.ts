import { Field, InputType } from 'type-graphql';
import { OptInStatus } from '../types/user.type';

/** Profile fields a first social sign-up may carry (Apple gives the name only once, and outside its token). */
@InputType()
abstract class SocialProfileFields {
  @Field(() => String, { nullable: true, description: 'Used when this sign-in creates the account' }) firstName?: string | null;
  @Field(() => String, { nullable: true, description: 'Used when this sign-in creates the account' }) lastName?: string | null;
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => String, { nullable: true }) gender?: string | null;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD' }) dob?: string | null;
  @Field(() => String, { nullable: true }) locale?: string | null;
  @Field(() => String, { nullable: true, description: 'ISO 3166 alpha-2 or alpha-3' }) country?: string | null;
  @Field(() => Boolean, { nullable: true }) optedIn?: boolean | null;
  @Field(() => OptInStatus, { nullable: true }) optInEmail?: OptInStatus | null;
  @Field(() => OptInStatus, { nullable: true }) optInSms?: OptInStatus | null;
  @Field(() => OptInStatus, { nullable: true }) optInPush?: OptInStatus | null;
  @Field(() => String, { nullable: true, description: 'Space-separated scopes for the access token' }) scope?: string | null;
}

@InputType('SignInWithIdTokenInput', { description: 'A provider ID token the app already holds (native SDK, SPA); profile fields apply only to a new account' })
export class SignInWithIdTokenInput extends SocialProfileFields {
  @Field(() => String, { description: 'The id of one of the app\'s socialProviders, e.g. "google"' }) provider!: string;
  @Field(() => String) idToken!: string;
  @Field(() => String, { nullable: true, description: 'From socialNonce (required unless the provider has requireNonce: false); the token may carry it raw or as its SHA-256' })
  nonce?: string | null;
}

@InputType('SignInWithAccessTokenInput', { description: 'A FACEBOOK provider\'s classic access token (checked with the Graph API)' })
export class SignInWithAccessTokenInput extends SocialProfileFields {
  @Field(() => String) provider!: string;
  @Field(() => String) accessToken!: string;
}

@InputType('StartSocialSignInInput', { description: 'Start the web redirect flow' })
export class StartSocialSignInInput {
  @Field(() => String) provider!: string;
  @Field(() => String, { description: 'Where to come back with ?lt=…; exactly one of the provider\'s redirectUris' }) redirectUri!: string;
  @Field(() => String, { nullable: true, description: 'base64url SHA-256 of a verifier this page keeps: exchangeLoginTicket then needs codeVerifier' })
  codeChallenge?: string | null;
}

@InputType('LinkIdentityInput', { description: 'Add a provider account to the signed-in customer: idToken (+ nonce) for OIDC, accessToken for FACEBOOK' })
export class LinkIdentityInput {
  @Field(() => String) provider!: string;
  @Field(() => String, { nullable: true }) idToken?: string | null;
  @Field(() => String, { nullable: true }) accessToken?: string | null;
  @Field(() => String, { nullable: true }) nonce?: string | null;
}
