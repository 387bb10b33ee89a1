import type { PasswordPolicyName } from '../../config/app-settings';
import { AppError } from '../../errors';

/**
 * Per-app password rules (SPEC §3). DEFAULT: 8–64 characters. STRICT: the Menu.app rules —
 * 8–25 characters, a digit, an upper-case and a lower-case letter, and a special character
 * other than & * : ;. Every failed rule is reported, so a form can show them all at once.
 */
export type PasswordRule = 'MIN_LENGTH' | 'MAX_LENGTH' | 'DIGIT' | 'UPPERCASE' | 'LOWERCASE' | 'SPECIAL_CHARACTER' | 'FORBIDDEN_CHARACTER';

const FORBIDDEN = /[&*:;]/;
const SPECIAL = /[^A-Za-z0-9&*:;\s]/;

export function failedRules(password: string, policy: PasswordPolicyName): PasswordRule[] {
  const length = [...password].length;
  const failed: PasswordRule[] = [];
  const max = policy === 'STRICT' ? 25 : 64;
  if (length < 8) failed.push('MIN_LENGTH');
  if (length > max) failed.push('MAX_LENGTH');
  if (policy === 'STRICT') {
    if (!/[0-9]/.test(password)) failed.push('DIGIT');
    if (!/[A-Z]/.test(password)) failed.push('UPPERCASE');
    if (!/[a-z]/.test(password)) failed.push('LOWERCASE');
    if (!SPECIAL.test(password)) failed.push('SPECIAL_CHARACTER');
    if (FORBIDDEN.test(password)) failed.push('FORBIDDEN_CHARACTER');
  }
  return failed;
}

const DESCRIPTIONS: Record<PasswordRule, string> = {
  MIN_LENGTH: 'at least 8 characters',
  MAX_LENGTH: 'not too long',
  DIGIT: 'a digit',
  UPPERCASE: 'an upper-case letter',
  LOWERCASE: 'a lower-case letter',
  SPECIAL_CHARACTER: 'a special character',
  FORBIDDEN_CHARACTER: 'none of & * : ;',
};

/** One line of what a policy asks for, and the rules (WEAK_PASSWORD's `rules`) that break it. */
export interface PolicyRequirement {
  text: string;
  rules: PasswordRule[];
}

/** What a password needs under a policy, in words, for a form to show before anything is typed. */
export function policyRequirements(policy: PasswordPolicyName): PolicyRequirement[] {
  if (policy === 'DEFAULT') return [{ text: '8 to 64 characters', rules: ['MIN_LENGTH', 'MAX_LENGTH'] }];
  return [
    { text: '8 to 25 characters', rules: ['MIN_LENGTH', 'MAX_LENGTH'] },
    { text: 'a digit', rules: ['DIGIT'] },
    { text: 'an upper-case letter', rules: ['UPPERCASE'] },
    { text: 'a lower-case letter', rules: ['LOWERCASE'] },
    { text: 'a special character such as ! ? # or %', rules: ['SPECIAL_CHARACTER'] },
    { text: 'none of & * : ;', rules: ['FORBIDDEN_CHARACTER'] },
  ];
}

export function assertPasswordPolicy(password: string, policy: PasswordPolicyName, field = 'password'): void {
  // The hash input is bounded whatever the policy: a 1 MB password would be a cheap DoS.
  if (password.length > 1024) throw new AppError('WEAK_PASSWORD', 'The password is too long', { field, rules: ['MAX_LENGTH'] });
  const rules = failedRules(password, policy);
  if (rules.length) {
    throw new AppError('WEAK_PASSWORD', `The password needs ${rules.map((r) => DESCRIPTIONS[r]).join(', ')}`, { field, rules });
  }
}
