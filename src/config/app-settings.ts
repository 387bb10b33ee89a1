import { AppError, badInput } from '../errors';
import { checkSocialProviders, type SocialProviderSettings } from './social-providers';

/** Per-app settings (SPEC §7). Stored as JSON on the App row; always read through parse. */
export const SIGN_UP_METHODS = ['EMAIL_PASSWORD', 'EMAIL_OTP', 'PHONE_OTP'] as const;
export type SignUpMethod = (typeof SIGN_UP_METHODS)[number];
export type PasswordPolicyName = 'DEFAULT' | 'STRICT';

export interface AppSettings {
  signUpMethods: SignUpMethod[];
  passwordPolicy: PasswordPolicyName;
  otpLength: number;
  otpTtlSeconds: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  uniquePhoneNumber: boolean;
  allowedOrigins: string[];
  resetPasswordUrl: string | null;
  autologinUrl: string | null;
  requireLegalAcceptance: boolean;
  brandName: string;
  /** Per-IP calls per minute per operation (SPEC §3: at least 100 by default). */
  ipRateLimitPerMinute: number;
  /** The scopes a client may ask for (SPEC §2); a sign-in without `scope` gets them all. */
  allowedScopes: string[];
  /** Client-side autologin (no credentials, by Origin) is on; it yields participant sessions only (SPEC §4.8). */
  clientAutologin: boolean;
  /** Social sign-in providers (SPEC §4.9; social-providers.ts). */
  socialProviders: SocialProviderSettings[];
  /** Where security events are POSTed, signed (SPEC §4.10); null: no webhook. */
  webhookUrl: string | null;
  /** Days a security event is kept before the purge deletes it. */
  securityEventRetentionDays: number;
}

export const DEFAULT_APP_SETTINGS: AppSettings = {
  signUpMethods: ['EMAIL_PASSWORD', 'EMAIL_OTP', 'PHONE_OTP'],
  passwordPolicy: 'DEFAULT',
  otpLength: 6,
  otpTtlSeconds: 600,
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  uniquePhoneNumber: true,
  allowedOrigins: [],
  resetPasswordUrl: null,
  autologinUrl: null,
  requireLegalAcceptance: false,
  brandName: 'Gatehouse',
  ipRateLimitPerMinute: 300,
  allowedScopes: ['openid', 'profile', 'email', 'phone'],
  clientAutologin: false,
  socialProviders: [],
  webhookUrl: null,
  securityEventRetentionDays: 90,
};

/** One scope token (RFC 6749 §3.3, narrowed): what allowedScopes may hold and a client may ask for. */
export const SCOPE_TOKEN = /^[A-Za-z0-9:._-]{1,64}$/;
/** The longest scope string a session stores (its column is varchar(255)). */
export const MAX_SCOPE_LENGTH = 255;
/** Internal scopes no app may allow and no client may ask for. */
export const INTERNAL_SCOPES = ['participant']; // PARTICIPANT_SCOPE (identity/caller.ts): client-side autologin's sessions

type Check = (value: unknown, key: string) => unknown;

const int = (min: number, max: number): Check => (value, key) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badInput(`settings.${key}`, `${key} must be an integer from ${min} to ${max}`);
  }
  return value;
};
const bool: Check = (value, key) => {
  if (typeof value !== 'boolean') throw badInput(`settings.${key}`, `${key} must be true or false`);
  return value;
};
const url: Check = (value, key) => {
  if (value === null) return null;
  if (typeof value !== 'string' || !isHttpUrl(value)) {
    throw badInput(`settings.${key}`, `${key} must be an http(s) URL or null`);
  }
  return value;
};
const origin = (value: unknown, key: string): string => {
  if (typeof value !== 'string' || !isHttpUrl(value)) {
    throw badInput(`settings.${key}`, `${key} must list origins such as https://shop.example.com`);
  }
  return new URL(value).origin;
};

const CHECKS: { [K in keyof AppSettings]: Check } = {
  signUpMethods: (value, key) => {
    if (!Array.isArray(value) || value.some((m) => !SIGN_UP_METHODS.includes(m))) {
      throw badInput(`settings.${key}`, `${key} must be a list of ${SIGN_UP_METHODS.join(', ')}`);
    }
    return [...new Set(value)];
  },
  passwordPolicy: (value, key) => {
    if (value !== 'DEFAULT' && value !== 'STRICT') throw badInput(`settings.${key}`, `${key} must be DEFAULT or STRICT`);
    return value;
  },
  otpLength: int(4, 8),
  otpTtlSeconds: int(60, 24 * 3600),
  accessTokenTtlSeconds: int(60, 24 * 3600),
  refreshTokenTtlSeconds: int(300, 365 * 24 * 3600),
  uniquePhoneNumber: bool,
  allowedOrigins: (value, key) => {
    if (!Array.isArray(value)) throw badInput(`settings.${key}`, `${key} must be a list of origins`);
    return [...new Set(value.map((v) => origin(v, key)))];
  },
  resetPasswordUrl: url,
  autologinUrl: url,
  requireLegalAcceptance: bool,
  brandName: (value, key) => {
    if (typeof value !== 'string' || value.trim().length < 1 || value.length > 100) {
      throw badInput(`settings.${key}`, `${key} must be 1 to 100 characters`);
    }
    return value.trim();
  },
  ipRateLimitPerMinute: int(1, 1_000_000),
  allowedScopes: (value, key) => {
    const words = 'scopes of letters, digits and : . _ - (each at most 64 characters)';
    if (!Array.isArray(value) || value.length < 1 || value.some((v) => typeof v !== 'string' || !SCOPE_TOKEN.test(v))) {
      throw badInput(`settings.${key}`, `${key} must be a non-empty list of ${words}`);
    }
    const scopes = [...new Set(value as string[])];
    const internal = scopes.find((v) => INTERNAL_SCOPES.includes(v));
    if (internal) throw badInput(`settings.${key}`, `${internal} is an internal scope and cannot be allowed`);
    if (scopes.join(' ').length > MAX_SCOPE_LENGTH) throw badInput(`settings.${key}`, `${key} must fit in ${MAX_SCOPE_LENGTH} characters, space-separated`);
    return scopes;
  },
  clientAutologin: bool,
  socialProviders: checkSocialProviders,
  webhookUrl: (value, key) => {
    const checked = url(value, key);
    // The outbox row names its destination in a 254-character column.
    if (typeof checked === 'string' && checked.length > 254) throw badInput(`settings.${key}`, `${key} must be at most 254 characters`);
    return checked;
  },
  securityEventRetentionDays: int(1, 3650),
};

function isHttpUrl(value: string): boolean {
  try {
    const parsed = new URL(value);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Merges a partial settings object over `base`, validating every key. Unknown keys are
 * refused by name so a typo in `gatehouse app update --settings` does not pass silently.
 */
export function mergeAppSettings(base: AppSettings, patch: unknown): AppSettings {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw badInput('settings', 'settings must be a JSON object');
  }
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const check = CHECKS[key as keyof AppSettings];
    if (!check) {
      throw badInput(`settings.${key}`, `unknown setting "${key}"; known: ${Object.keys(CHECKS).join(', ')}`);
    }
    result[key] = check(value, key);
  }
  return result as unknown as AppSettings;
}

/** Reads stored settings; stored JSON from an older version gets today's defaults for new keys. */
export function readAppSettings(stored: unknown): AppSettings {
  try {
    return mergeAppSettings(DEFAULT_APP_SETTINGS, stored ?? {});
  } catch (error) {
    if (error instanceof AppError) throw new Error(`stored app settings are invalid: ${error.message}`);
    throw error;
  }
}
