export { SocialAccounts, type NewAccountData } from './accounts';
export { FacebookVerifier } from './facebook';
export { IdTokenVerifier } from './id-token';
export { OidcClients } from './oidc-clients';
export { SecretBox } from './secret-box';
export { SocialSignInService, type SocialIdentityView, type CallbackOutcome } from './social-sign-in';
