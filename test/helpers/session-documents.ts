import { gql } from '@apollo/client/core';

export const AUTH_FIELDS = gql`
  fragment AuthFields on AuthPayload {
    accessToken
    tokenType
    expiresIn
    expiresAt
    refreshToken
    refreshExpiresIn
    idToken
    scope
    registrationRequired
    user { id email firstName lastName hasPassword }
  }
`;

export const REGISTER = gql`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      user {
        id email emailVerified phoneNumber phoneVerified firstName lastName referrerCode
        phoneNumbers { phoneNumber verifiedOwnership }
      }
      auth { ...AuthFields }
      verification { channel destination expiresIn expiresAt }
    }
  }
  ${AUTH_FIELDS}
`;
export const LOGIN = gql`
  mutation Login($input: LoginInput!) { login(input: $input) { ...AuthFields } }
  ${AUTH_FIELDS}
`;
export const REFRESH = gql`
  mutation Refresh($refreshToken: String!) { refresh(refreshToken: $refreshToken) { ...AuthFields } }
  ${AUTH_FIELDS}
`;
export const LOGOUT = gql`
  mutation Logout($allSessions: Boolean) { logout(allSessions: $allSessions) }
`;
export const ME = gql`
  query Me { me { id email emailVerified firstName lastName phoneNumber phoneVerified hasPassword } }
`;
export const UPDATE_PROFILE = gql`
  mutation UpdateProfile($input: ProfileInput!) { updateProfile(input: $input) { id firstName city } }
`;
export const CHANGE_PASSWORD = gql`
  mutation ChangePassword($currentPassword: String, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)
  }
`;
export const IMPORT_USERS = gql`
  mutation ImportUsers($input: [ImportUserInput!]!) {
    importUsers(input: $input) { imported failed { index code message field } }
  }
`;
