import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../src/identity/validation';

/** SPEC §3's email normal form, checked on both spellings (identity/validation.ts). */
describe('normalizeEmail', () => {
  it('keeps the given spelling and lower-cases the key of an ASCII address', () => {
    expect(normalizeEmail('  Ada.L@Example.COM ', 'email')).toEqual({ email: 'Ada.L@Example.COM', key: 'ada.l@example.com' });
  });

  it('keys an IDN by its punycode form', () => {
    expect(normalizeEmail('x@CAFÉ.example', 'email')).toEqual({ email: 'x@café.example', key: 'x@xn--caf-dma.example' });
  });

  it('refuses an address valid as typed whose IDNA form is not', () => {
    // As typed, "co²" and "ex;ample" pass the email rules (letters beyond ASCII); IDNA maps them
    // to "co2" (a TLD with a digit) and "ex;ample" (U+037E is the Greek question mark).
    expect(() => normalizeEmail('a@example.co\u00B2', 'email')).toThrow(/not a valid email address/);
    expect(() => normalizeEmail('a@ex\u037Eample.com', 'email')).toThrow(/not a valid email address/);
  });

  it('names the field', () => {
    expect(() => normalizeEmail('not-an-address', 'contact')).toThrow(/^contact is not a valid email address$/);
  });
});
