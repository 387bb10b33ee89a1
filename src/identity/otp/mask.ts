import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** `john@example.com` → `j***@example.com`: enough for a person to recognise, not to harvest. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email.slice(0, 1)}***@${email.slice(at + 1)}`;
}

/** `+35799478230` → `+357*****230`: the country calling code and the last three digits. */
export function maskPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  const prefix = parsed ? `+${parsed.countryCallingCode}` : '+';
  const national = parsed ? String(parsed.nationalNumber) : e164.replace(/^\+/, '');
  const shown = national.length > 5 ? 3 : Math.max(0, national.length - 3);
  return `${prefix}${'*'.repeat(national.length - shown)}${national.slice(national.length - shown)}`;
}
