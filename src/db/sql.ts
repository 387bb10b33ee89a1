/**
 * Reading raw rows portably: SQLite returns booleans as 0/1, PostgreSQL as true/false.
 * (Only the hot-path reads that skip the ORM's hydration need this.)
 */
export function sqlBool(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}
