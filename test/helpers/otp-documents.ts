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
export const FIND_USER = gql`
  query FindUser($email: String, $phoneNumber: String) {
    user(email: $email, phoneNumber: $phoneNumber) { id email emailVerified phoneNumber phoneVerified phoneNumbers { phoneNumber verifiedOwnership } }
  }
`;

// Documents shared with the password flows live in session-documents.ts and documents.ts.
