import { randomInt } from 'node:crypto';

// No 0/O or 1/I: codes are read aloud and typed from paper.
const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/** A shareable code such as `JOHNS-7C8K6E`: up to 4 letters of the first name, the last initial. */
export function referrerCode(firstName?: string | null, lastName?: string | null): string {
  const letters = (s: string | null | undefined) => (s ?? '').normalize('NFKD').toUpperCase().replace(/[^A-Z]/g, '');
  const stem = (letters(firstName).slice(0, 4) + letters(lastName).slice(0, 1)) || 'USER';
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return `${stem}-${suffix}`;
}
