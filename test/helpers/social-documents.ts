import { gql } from '@apollo/client/core';

export const SOCIAL_NONCE = gql`
  mutation SocialNonce($provider: String!) { socialNonce(provider: $provider) { nonce expiresAt } }
`;
export const SIGN_IN_WITH_ID_TOKEN = gql`
  mutation SignInWithIdToken($input: SignInWithIdTokenInput!) {
    signInWithIdToken(input: $input) {
      accessToken refreshToken idToken scope
      user { id email emailVerified firstName lastName isSocial hasPassword identities { provider subject email emailVerified linkedAt } }
    }
  }
`;
export const SIGN_IN_WITH_ACCESS_TOKEN = gql`
  mutation SignInWithAccessToken($input: SignInWithAccessTokenInput!) {
    signInWithAccessToken(input: $input) {
      accessToken
      user { id email emailVerified firstName lastName isSocial identities { provider subject email emailVerified } }
    }
  }
`;
export const START_SOCIAL_SIGN_IN = gql`
  mutation StartSocialSignIn($input: StartSocialSignInInput!) { startSocialSignIn(input: $input) { authorizationUrl expiresAt } }
`;
export const EXCHANGE_LOGIN_TICKET = gql`
  mutation ExchangeLoginTicket($lt: String!, $codeVerifier: String) {
    exchangeLoginTicket(lt: $lt, codeVerifier: $codeVerifier) { accessToken user { id email isSocial } }
  }
`;
export const LINK_IDENTITY = gql`
  mutation LinkIdentity($input: LinkIdentityInput!) { linkIdentity(input: $input) { id emailVerified identities { provider subject email } } }
`;
export const UNLINK_IDENTITY = gql`
  mutation UnlinkIdentity($provider: String!) { unlinkIdentity(provider: $provider) }
`;
export const USER_IDENTITIES = gql`
  query UserIdentities($email: String, $id: ID) {
    user(email: $email, id: $id) { id email emailVerified isSocial hasPassword identities { provider subject email emailVerified linkedAt } }
  }
`;
export const ME_IDENTITIES = gql`
  query MeIdentities { me { id email isSocial identities { provider subject email } } }
`;
