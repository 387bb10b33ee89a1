import type { AppSettings } from '../../config/app-settings';
import type { OtpChannel, User } from '../../db/entities';
import { AppError, badInput } from '../../errors';
import { normalizeEmail, normalizePhone } from '../validation';
import { maskEmail, maskPhone } from './mask';

/** Where a code goes and what it proves: one email address or one phone number. */
export interface CodeTarget {
  kind: 'email' | 'phone';
  /** The lookup form: lower-cased email or E.164; the challenge row is keyed by it. */
  key: string;
  /** What we deliver to: the email as given, or E.164. */
  address: string;
  channel: OtpChannel;
  /** For responses: j***@example.com, +357*****230. */
  masked: string;
}

export interface IdentityInput {
  email?: string | null;
  phoneNumber?: string | null;
  countryCode?: string | null;
}

export function emailTarget(value: string, field = 'email'): CodeTarget {
  const { email, key } = normalizeEmail(value, field);
  return { kind: 'email', key, address: email, channel: 'EMAIL', masked: maskEmail(email) };
}

export function phoneTarget(value: string, countryCode: string | null | undefined, field = 'phoneNumber'): CodeTarget {
  const e164 = normalizePhone(value, countryCode, field);
  return { kind: 'phone', key: e164, address: e164, channel: 'SMS', masked: maskPhone(e164) };
}

/** Exactly one of email or phoneNumber (requestOtp, validateOtp). */
export function targetOf(input: IdentityInput): CodeTarget {
  const hasEmail = input.email !== undefined && input.email !== null;
  const hasPhone = input.phoneNumber !== undefined && input.phoneNumber !== null;
  if (hasEmail === hasPhone) throw badInput(hasEmail ? 'phoneNumber' : 'email', 'give either email or phoneNumber');
  return hasEmail ? emailTarget(input.email!) : phoneTarget(input.phoneNumber!, input.countryCode);
}

/** A code goes over the identity's own channel: email by EMAIL, a phone number by SMS. */
export function checkChannel(channel: OtpChannel | null | undefined, target: CodeTarget): void {
  if (channel == null || channel === target.channel) return;
  throw badInput('channel', target.kind === 'email' ? 'channel SMS needs a phoneNumber' : 'channel EMAIL needs an email');
}

/** The app's sign-up / sign-in method for codes on this kind of identity must be on. */
export function requireCodeMethod(settings: AppSettings, target: CodeTarget): void {
  const method = target.kind === 'email' ? 'EMAIL_OTP' : 'PHONE_OTP';
  if (!settings.signUpMethods.includes(method)) {
    throw new AppError('METHOD_DISABLED', `Codes by ${target.kind === 'email' ? 'email' : 'SMS'} are turned off for this app`);
  }
}

export function codeMethodEnabled(settings: AppSettings, target: CodeTarget): boolean {
  return settings.signUpMethods.includes(target.kind === 'email' ? 'EMAIL_OTP' : 'PHONE_OTP');
}

/** A proven code marks that email or phone verified, and the matching `phoneNumbers` entry. */
export function markVerified(user: User, target: CodeTarget): void {
  if (target.kind === 'email') {
    if (user.emailKey === target.key) user.emailVerified = true;
    return;
  }
  if (user.phoneNumber === target.key) user.phoneVerified = true;
  const entry = user.phoneNumbers.find((p) => p.phoneNumber === target.key);
  if (entry) {
    entry.verifiedOwnership = true;
    user.phoneNumbers = [...user.phoneNumbers];
  }
}
