import type { AppSettings } from '../../config/app-settings';
import type { OtpChannel, User } from '../../db/entities';
import { AppError, badInput } from '../../errors';
import { identityOf, type Identity } from '../validation';
import { maskEmail, maskPhone } from './mask';

/** Where a code goes and what it proves: one email address or one phone number (the challenge row is keyed by `key`). */
export interface CodeTarget extends Identity {
  channel: OtpChannel;
  /** For responses: j***@example.com, +357*****230. */
  masked: string;
}

export interface IdentityInput {
  email?: string | null;
  phoneNumber?: string | null;
  countryCode?: string | null;
}

/** Exactly one of email or phoneNumber (requestOtp, validateOtp). */
export function targetOf(input: IdentityInput): CodeTarget {
  return asTarget(identityOf(input));
}

function asTarget(identity: Identity): CodeTarget {
  return identity.kind === 'email'
    ? { ...identity, channel: 'EMAIL', masked: maskEmail(identity.address) }
    : { ...identity, channel: 'SMS', masked: maskPhone(identity.address) };
}

/** A code goes over the identity's own channel: email by EMAIL, a phone number by SMS. */
export function checkChannel(channel: OtpChannel | null | undefined, target: CodeTarget): void {
  if (channel == null || channel === target.channel) return;
  throw badInput('channel', target.kind === 'email' ? 'channel SMS needs a phoneNumber' : 'channel EMAIL needs an email');
}

/** The app's sign-up / sign-in method for codes on this kind of identity must be on. */
export function requireCodeMethod(settings: AppSettings, target: CodeTarget): void {
  if (!codeMethodEnabled(settings, target)) {
    throw new AppError('METHOD_DISABLED', `Codes by ${target.kind === 'email' ? 'email' : 'SMS'} are turned off for this app`);
  }
}

export function codeMethodEnabled(settings: AppSettings, target: CodeTarget): boolean {
  return settings.signUpMethods.includes(target.kind === 'email' ? 'EMAIL_OTP' : 'PHONE_OTP');
}

/** A proven code marks that email or phone verified, and the matching `phoneNumbers` entry. */
export function markVerified(user: Pick<User, 'emailKey' | 'emailVerified' | 'phoneNumber' | 'phoneVerified' | 'phoneNumbers'>, target: CodeTarget): void {
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
