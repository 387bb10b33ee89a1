import { GraphQLError } from 'graphql';

/**
 * The error-code catalogue of SPEC §5. These names are a public contract: clients switch on
 * `extensions.code`, so never rename one. Messages here are defaults a person can act on.
 */
export const ERROR_CODES = {
  UNAUTHENTICATED: 'Missing or invalid credentials',
  FORBIDDEN: 'These credentials may not perform this operation',
  BAD_USER_INPUT: 'Invalid input',
  EMAIL_TAKEN: 'An account with this email already exists',
  PHONE_TAKEN: 'An account with this phone number already exists',
  WEAK_PASSWORD: 'The password does not meet the password policy',
  INVALID_CREDENTIALS: 'Wrong email, phone number or password',
  ACCOUNT_SUSPENDED: 'This account is suspended',
  INVALID_OTP: 'The code is not valid',
  OTP_EXPIRED: 'The code has expired; request a new one',
  TOO_MANY_ATTEMPTS: 'Too many attempts; try again later',
  INVALID_REFRESH_TOKEN: 'The refresh token is not valid',
  REFRESH_TOKEN_REUSED: 'The refresh token was already used; the session has been revoked',
  INVALID_RESET_TOKEN: 'The password reset token is not valid or was already used',
  INVALID_LOGIN_TICKET: 'The login ticket is not valid or was already used',
  USER_NOT_FOUND: 'No such user',
  INVALID_DOMAIN: 'This origin is not allowed for this app',
  NO_TOKEN_ALLOWED: 'Client-side calls must not carry a key or token',
  METHOD_DISABLED: 'This sign-up or sign-in method is turned off for this app',
  QUERY_TOO_COMPLEX: 'The query is too deep, too costly or has too many aliases',
  INVALID_ID_TOKEN: 'The provider token was refused',
  LINK_REQUIRED: 'An account with this email or phone number exists: sign in to it, then link this provider with linkIdentity',
  LAST_CREDENTIAL: 'This is the last way to sign in to the account; add a password or another provider first',
  /** Extra code (not in SPEC §5): linkIdentity with a provider account that another account of this app holds. */
  IDENTITY_TAKEN: 'This provider account is already linked to another account',
  /** Extra code (not in SPEC §5): a code or link could not be delivered; nothing was half-made. */
  DELIVERY_FAILED: 'The message could not be delivered; try again later',
  INTERNAL: 'Internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/**
 * A failure the domain expects and the client may act on. It carries a public message and
 * extra public fields (`field`, `rules`, `retryAfter`, `attemptsLeft`, `reason`); anything else about
 * the cause stays in the log. The domain throws these and never imports graphql types;
 * format-error.ts turns them into GraphQL errors.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CODES[code],
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** BAD_USER_INPUT naming the offending field (as the client wrote it, e.g. `input.email`). */
export function badInput(field: string, message: string): AppError {
  return new AppError('BAD_USER_INPUT', message, { field });
}

/** The GraphQL shape of an AppError, for places (the shield) that must return a GraphQLError. */
export function toGraphQLError(error: AppError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, code: error.code } });
}
