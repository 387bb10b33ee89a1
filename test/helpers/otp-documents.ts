import 'reflect-metadata';
import { gql } from '@apollo/client/core';

export const REQUEST_OTP = gql`
  mutation RequestOtp($input: RequestOtpInput!) {
    requestOtp(input: $input) { sent channel destination expiresIn expiresAt resendAfter }
  }
`;
export const VALIDATE_OTP = gql`
  mutation ValidateOtp($input: ValidateOtpInput!) {
    validateOtp(input: $input) {
      accessToken tokenType refreshToken expiresIn
      user { id email emailVerified phoneNumber phoneVerified phoneNumbers { phoneNumber verifiedOwnership } }
    }
  }
`;
export const REGISTER = gql`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      user { id email emailVerified phoneNumber phoneVerified firstName lastName phoneNumbers { phoneNumber verifiedOwnership } }
      auth { accessToken refreshToken user { id } }
      verification { channel destination expiresIn expiresAt }
    }
  }
`;
export const ME = gql`
  query Me { me { id email emailVerified phoneNumber phoneVerified hasPassword } }
`;
export const LOGIN = gql`
  mutation Login($input: LoginInput!) { login(input: $input) { accessToken user { id } } }
`;
export const CHANGE_PASSWORD = gql`
  mutation ChangePassword($currentPassword: String, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)
  }
`;
export const FIND_USER = gql`
  query FindUser($email: String, $phoneNumber: String) {
    user(email: $email, phoneNumber: $phoneNumber) { id email emailVerified phoneNumber phoneVerified phoneNumbers { phoneNumber verifiedOwnership } }
  }
`;
export const CHECK_EMAIL = gql`
  query CheckEmail($email: String!) { checkEmail(email: $email) { exists } }
`;
