import { gql } from '@apollo/client/core';

export const REQUEST_EMAIL_CHANGE = gql`
  mutation RequestEmailChange($newEmail: String!) { requestEmailChange(newEmail: $newEmail) { sent channel destination expiresIn expiresAt resendAfter } }
`;
export const REQUEST_PHONE_CHANGE = gql`
  mutation RequestPhoneChange($newPhoneNumber: String!, $countryCode: String) {
    requestPhoneChange(newPhoneNumber: $newPhoneNumber, countryCode: $countryCode) { sent channel destination expiresIn }
  }
`;
export const CONFIRM_CONTACT_CHANGE = gql`
  mutation ConfirmContactChange($code: String!) {
    confirmContactChange(code: $code) { id email emailVerified phoneNumber phoneVerified phoneNumbers { phoneNumber verifiedOwnership } pendingEmailChange pendingPhoneChange }
  }
`;
export const ME_PENDING = gql`
  query MePending { me { id email emailVerified phoneNumber pendingEmailChange pendingPhoneChange } }
`;
export const SESSIONS = gql`
  query Sessions { sessions { id createdAt lastUsedAt expiresAt ip userAgent current } }
`;
export const REVOKE_SESSION = gql`
  mutation RevokeSession($id: ID!) { revokeSession(id: $id) }
`;
export const DELETE_ACCOUNT = gql`
  mutation DeleteAccount($password: String, $code: String) { deleteAccount(password: $password, code: $code) }
`;
export const SUSPEND_USER = gql`
  mutation SuspendUser($id: ID!, $reason: String!) { suspendUser(id: $id, reason: $reason) { id suspended } }
`;
export const REINSTATE_USER = gql`
  mutation ReinstateUser($id: ID!) { reinstateUser(id: $id) { id suspended } }
`;
export const REVOKE_USER_SESSIONS = gql`
  mutation RevokeUserSessions($id: ID!) { revokeUserSessions(id: $id) }
`;
export const SET_USER_CONTACT = gql`
  mutation SetUserContact($id: ID!, $input: UserContactInput!) {
    setUserContact(id: $id, input: $input) { id email emailVerified phoneNumber phoneVerified }
  }
`;
export const DELETE_USER = gql`
  mutation DeleteUser($id: ID!) { deleteUser(id: $id) }
`;
export const SECURITY_EVENTS = gql`
  query SecurityEvents($filter: SecurityEventFilter, $first: Int, $after: String) {
    securityEvents(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id type userId ip at detail } }
    }
  }
`;
