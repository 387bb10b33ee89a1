import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getNamedType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildBareSchema, printSchemaFile } from '../src/graphql/schema';

describe('schema.graphql', () => {
  it('matches the schema the code builds (run `npm run schema:emit` when this fails)', () => {
    const checkedIn = readFileSync(join(__dirname, '..', 'schema.graphql'), 'utf8');
    expect(checkedIn).toBe(printSchemaFile(buildBareSchema()));
  });

  it('exposes no password, hash, secret or code on any output type', () => {
    const schema = buildBareSchema();
    const offenders: string[] = [];
    // Named exceptions, each reviewed: a boolean flag, and an error code (not a one-time code).
    const reviewed = new Set(['User.hasPassword', 'ImportFailure.code']);
    const roots = new Set(['Query', 'Mutation', 'Subscription']);
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || roots.has(type.name)) continue;
      for (const field of Object.values(type.getFields())) {
        if (/password|hash|secret|otp|^code$|privateKey/i.test(field.name) && !reviewed.has(`${type.name}.${field.name}`)) {
          offenders.push(`${type.name}.${field.name}: ${getNamedType(field.type).name}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
