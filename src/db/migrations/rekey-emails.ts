import { domainToASCII, domainToUnicode } from 'node:url';

/**
 * Data step of the `normal_forms` migrations (both dialects): email keys stored before emails
 * had one normal form (SPEC §3) were the address lower-cased, so an IDN domain was kept in
 * Unicode (`x@café.example`) and lookups, which now compare the IDNA ASCII form
 * (`x@xn--caf-dma.example`), would no longer find the account — and a second one could be made.
 * Every key holding a character outside printable ASCII is recomputed here; ASCII keys are
 * already in the normal form.
 *
 * A row is left as it is when its address holds an invisible character (now refused at the
 * door: such an address was a look-alike) or when its new key is already another account's
 * in the same app (the look-alike pair the old form allowed): which of the two is the
 * customer's is not ours to guess. Those rows keep answering by id, phone and externalId;
 * `select id, app_id, email from "user" where email_key ~ '[^ -~]'` (PostgreSQL) or
 * `… where email_key glob '*[^ -~]*'` (SQLite) lists them.
 *
 * The normal form is written out here, not imported: a migration must do the same thing
 * whenever it runs, whatever later becomes of identity/validation.ts.
 */
export type Execute = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

export async function rekeyEmails(execute: Execute, dialect: 'sqlite' | 'postgresql'): Promise<{ rekeyed: number; leftAlone: number }> {
  const nonAscii = dialect === 'sqlite' ? `email_key glob '*[^ -~]*'` : `email_key ~ '[^ -~]'`;
  const rows = await execute(`select id, app_id, email from "user" where email is not null and ${nonAscii}`);
  let rekeyed = 0;
  for (const row of rows) {
    const normal = normalForm2026(String(row.email));
    if (!normal) continue;
    const taken = await execute(`select 1 from "user" where app_id = ? and email_key = ? and id <> ?`, [row.app_id, normal.key, row.id]);
    if (taken.length) continue;
    await execute(`update "user" set email = ?, email_key = ? where id = ?`, [normal.email, normal.key, row.id]);
    rekeyed++;
  }
  return { rekeyed, leftAlone: rows.length - rekeyed };
}

/** identity/validation.ts normalizeEmail as of this migration, for addresses that passed the checks of their day. */
function normalForm2026(stored: string): { email: string; key: string } | null {
  if (/[\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}]/u.test(stored)) return null;
  const given = stored.normalize('NFC').trim();
  const at = given.lastIndexOf('@');
  if (at < 1) return null;
  const local = given.slice(0, at);
  const asciiDomain = domainToASCII(given.slice(at + 1));
  const key = `${local.toLowerCase()}@${asciiDomain}`;
  if (!asciiDomain || key.length > 254 || !/^[\x21-\x7e]+$/.test(key)) return null;
  return { email: `${local}@${domainToUnicode(asciiDomain)}`, key };
}
