import { gql } from '@apollo/client/core';

export const USER_FIELDS = gql`
  fragment UserFields on User {
    id
    email
    emailVerified
    phoneNumber
    firstName
    lastName
    externalId
    dob
    country
    referrerCode
    phoneNumbers { phoneNumber phoneType preferenceFlags verifiedOwnership }
    identifiers { externalId externalIdType }
  }
`;

export const CHECK_EMAIL = gql`
  query CheckEmail($email: String!) { checkEmail(email: $email) { exists isSocial } }
`;
export const CHECK_PHONE = gql`
  query CheckPhone($phoneNumber: String!, $countryCode: String) {
    checkPhoneNumber(phoneNumber: $phoneNumber, countryCode: $countryCode) { exists isSocial }
  }
`;
export const USER = gql`
  query User($id: ID, $externalId: String, $email: String, $phoneNumber: String) {
    user(id: $id, externalId: $externalId, email: $email, phoneNumber: $phoneNumber) { ...UserFields }
  }
  ${USER_FIELDS}
`;
export const USERS = gql`
  query Users($filter: UserFilter!, $first: Int, $after: String) {
    users(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id email firstName lastName } }
    }
  }
`;
export const CREATE_USER = gql`
  mutation CreateUser($input: CreateUserInput!) { createUser(input: $input) { ...UserFields } }
  ${USER_FIELDS}
`;
export const UPDATE_USER = gql`
  mutation UpdateUser($id: ID!, $input: ProfileInput!) { updateUser(id: $id, input: $input) { ...UserFields } }
  ${USER_FIELDS}
`;
