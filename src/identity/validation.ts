import isEmail from 'validator/lib/isEmail';
import { domainToASCII, domainToUnicode } from 'node:url';
import { alpha3ToAlpha2, isValid as isCountryCode } from 'i18n-iso-countries/index';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { badInput } from '../errors';

/**
 * Field-level checks shared by every flow. Each throws BAD_USER_INPUT naming the field as the
 * client wrote it, so a form can put the message next to the right box.
 */

export interface NormalizedEmail {
  /** What we show and send to: as given (trimmed, NFC), a non-ASCII domain in its IDNA Unicode form. */
  email: string;
  /** The one normal form uniqueness and lookups compare: local part lower-cased, domain in IDNA ASCII (punycode) form. */
  key: string;
}

/**
 * Characters nobody can see: default-ignorable code points (zero-width space, soft hyphen,
 * zero-width joiner and non-joiner, word joiner, BOM, variation selectors, tags…), and format
 * and control characters. IDNA mapping would silently drop most of them, so `x@exa\u00ADmple.com`
 * would reach `example.com` under a spelling no one can tell apart; they are refused instead.
 */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
const FORMAT_OR_CONTROL = /[\p{Cc}\p{Cf}]/u;
/** RFC 5321: an address is at most 254 characters (in the form that is stored and sent). */
export const MAX_EMAIL_LENGTH = 254;
const EMAIL_SYNTAX = { allow_utf8_local_part: false, require_tld: true, allow_ip_domain: false } as const;

/**
 * SPEC §3: emails are compared in one normal form (NFC, case-folded, the domain in IDNA
 * ASCII form), so `x@café.example`, `X@CAFÉ.example` and `x@xn--caf-dma.example` are one
 * account; invisible characters anywhere are BAD_USER_INPUT. A Cyrillic letter in the domain
 * is another domain and stays one (it gets its own punycode). Local parts are ASCII only: a
 * Cyrillic "а" in an address that looks like a customer's would otherwise open a second,
 * look-alike account. Both the given spelling and its normal form must be valid syntax (the
 * IDNA mapping alone would also turn `%41` or `0x7f.1` into something else).
 */
export function normalizeEmail(value: string, field: string): NormalizedEmail {
  if (typeof value !== 'string') throw badInput(field, `${field} must be text`);
  const invisible = INVISIBLE.exec(value) ?? FORMAT_OR_CONTROL.exec(value.trim());
  if (invisible) {
    const code = invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw badInput(field, `${field} must not contain invisible characters (U+${code})`);
  }
  const given = value.normalize('NFC').trim();
  if (given.length === 0) throw badInput(field, `${field} is required`);
  if (given.length > MAX_EMAIL_LENGTH) throw badInput(field, `${field} must be at most ${MAX_EMAIL_LENGTH} characters`);
  const at = given.lastIndexOf('@');
  const local = given.slice(0, at);
  const domain = given.slice(at + 1);
  const asciiDomain = at > 0 ? domainToASCII(domain) : '';
  const key = `${local.toLowerCase()}@${asciiDomain}`;
  // The key is checked apart only when it is more than the given spelling lower-cased (an IDN,
  // or a domain IDNA rewrote): validator's email rules ignore case, so for most addresses the
  // second check would repeat the first (a third of this function's cost on every lookup).
  if (!asciiDomain || !isEmail(given, EMAIL_SYNTAX) || (key !== given.toLowerCase() && !isEmail(key, EMAIL_SYNTAX))) {
    throw badInput(field, `${field} is not a valid email address`);
  }
  // For an IDN the ASCII form is the longer one: the limit holds for it too.
  if (key.length > MAX_EMAIL_LENGTH) throw badInput(field, `${field} must be at most ${MAX_EMAIL_LENGTH} characters in its ASCII (punycode) form`);
  const email = isAscii(domain) ? given : `${local}@${domainToUnicode(asciiDomain)}`;
  if (email.length > MAX_EMAIL_LENGTH) throw badInput(field, `${field} must be at most ${MAX_EMAIL_LENGTH} characters`);
  return { email, key };
}

function isAscii(value: string): boolean {
  return /^[\x00-\x7f]*$/.test(value);
}

/** Maps an ISO 3166 alpha-2 or alpha-3 code (the CRM.COM document sends `CYP`) to alpha-2. */
export function normalizeCountry(value: string, field: string): string {
  const code = value.trim().toUpperCase();
  if (code.length === 2 && isCountryCode(code)) return code;
  if (code.length === 3) {
    const alpha2 = alpha3ToAlpha2(code);
    if (alpha2) return alpha2;
  }
  throw badInput(field, `${field} must be an ISO 3166 alpha-2 or alpha-3 country code`);
}

/**
 * Returns the E.164 form of a phone number given either in E.164 (`+35799478230`) or as a
 * national number with a country code (`99478230`, `CYP`). Validity (not just shape) is
 * checked with libphonenumber's metadata.
 */
export function normalizePhone(value: string, countryCode: string | null | undefined, field: string, countryField = 'countryCode'): string {
  const raw = value.trim();
  if (raw.length === 0) throw badInput(field, `${field} is required`);
  if (raw.length > 32) throw badInput(field, `${field} must be at most 32 characters`);
  const country = countryCode ? (normalizeCountry(countryCode, countryField) as CountryCode) : undefined;
  if (!raw.startsWith('+') && !country) {
    throw badInput(field, `${field} must be in E.164 form (+35799123456) or come with a countryCode`);
  }
  const parsed = parsePhoneNumberFromString(raw, country);
  if (!parsed || !parsed.isValid()) throw badInput(field, `${field} is not a valid phone number`);
  return parsed.number;
}

export function checkLength(value: string | null | undefined, field: string, max: number, min = 0): void {
  if (value === null || value === undefined) return;
  if (value.length < min) throw badInput(field, `${field} must be at least ${min} characters`);
  if (value.length > max) throw badInput(field, `${field} must be at most ${max} characters`);
}

/** YYYY-MM-DD, a real calendar date, not in the future. */
export function checkDate(value: string | null | undefined, field: string, today: Date): void {
  if (value === null || value === undefined) return;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = match ? new Date(Date.UTC(+match[1], +match[2] - 1, +match[3])) : null;
  if (!date || date.toISOString().slice(0, 10) !== value || date.getUTCFullYear() < 1800) {
    throw badInput(field, `${field} must be a date as YYYY-MM-DD`);
  }
  if (date.getTime() > today.getTime()) throw badInput(field, `${field} must not be in the future`);
}

/** An email address or a phone number that identifies an account: its lookup key and its delivery address. */
export interface Identity {
  kind: 'email' | 'phone';
  /** The email's normal form (normalizeEmail) or E.164: what lookups and counters compare. */
  key: string;
  /** The email as given, or E.164: what we send to. */
  address: string;
}

/** Exactly one of `email` or `phoneNumber` (login, requestOtp, validateOtp), normalised. */
export function identityOf(input: { email?: string | null; phoneNumber?: string | null; countryCode?: string | null }): Identity {
  const hasEmail = input.email !== undefined && input.email !== null;
  const hasPhone = input.phoneNumber !== undefined && input.phoneNumber !== null;
  if (hasEmail === hasPhone) throw badInput(hasEmail ? 'phoneNumber' : 'email', 'give either email or phoneNumber');
  if (hasEmail) {
    const { email, key } = normalizeEmail(input.email!, 'email');
    return { kind: 'email', key, address: email };
  }
  const e164 = normalizePhone(input.phoneNumber!, input.countryCode, 'phoneNumber');
  return { kind: 'phone', key: e164, address: e164 };
}

