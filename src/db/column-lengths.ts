import type { EntitySchema } from '@mikro-orm/core';

/**
 * What fits in a string column, read from the entity's own declaration, so the checks before a
 * write and the schema cannot drift apart. PostgreSQL refuses a longer value (an INTERNAL
 * error if it got there); SQLite would store it, so on both databases the check comes first.
 */
export type ColumnLengths<T> = readonly (readonly [keyof T & string, number])[];

/** Every string property of the schema that declares a length. */
export function stringColumnLengths<T>(schema: EntitySchema<T>): ColumnLengths<T> {
  return Object.entries(schema.meta.properties as Record<string, { type?: unknown; length?: number }>)
    .filter(([, p]) => p.type === 'string' && typeof p.length === 'number')
    .map(([name, p]) => [name as keyof T & string, p.length!] as const);
}

/**
 * The first property whose value is longer than its column. Lengths are counted in code
 * points, as PostgreSQL's varchar(n) counts characters (an emoji is one, not two UTF-16 units).
 */
export function overlongColumn<T>(entity: T, lengths: ColumnLengths<T>): { property: keyof T & string; max: number } | null {
  for (const [property, max] of lengths) {
    const value = entity[property];
    if (typeof value === 'string' && value.length > max && codePoints(value) > max) return { property, max };
  }
  return null;
}

function codePoints(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}
