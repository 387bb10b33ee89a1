import type { MigrationObject } from '@mikro-orm/core';
import type { Dialect } from '../orm';
import { Migration20261123112124_initial as SqliteInitial } from './sqlite/Migration20261123112124_initial';
import { Migration20261123112127_initial as PostgresInitial } from './postgresql/Migration20261123112127_initial';

/**
 * The checked-in migrations, listed explicitly so the same list works from src (tsx, vitest)
 * and from dist (node) with no glob over file extensions. One set per dialect, both generated
 * by `npm run migration:create -- <dialect> <name>` from the same entities; add new ones here.
 */
const SQLITE: MigrationObject[] = [{ name: 'Migration20261123112124_initial', class: SqliteInitial }];
const POSTGRESQL: MigrationObject[] = [{ name: 'Migration20261123112127_initial', class: PostgresInitial }];

export function migrationsFor(dialect: Dialect): MigrationObject[] {
  return dialect === 'sqlite' ? SQLITE : POSTGRESQL;
}
