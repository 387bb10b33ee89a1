/**
 * Writes a migration for the difference between the entities and the schema the checked-in
 * migrations build, for one dialect: `npm run migration:create -- sqlite|postgresql [name]`.
 * It migrates a scratch database first, so the diff is against the real migration history.
 * Then add the new class to src/db/migrations/index.ts and its name to names.ts.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { openOrm, migrate, migratorOf, type Dialect } from '../src/db/orm';

async function main() {
  const dialect = (process.argv[2] ?? 'sqlite') as Dialect;
  const name = process.argv[3];
  const scratch = join(tmpdir(), `gatehouse-migration-${process.pid}.db`);
  const databaseUrl = dialect === 'sqlite' ? `sqlite:${scratch}` : (process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const orm = await openOrm({ databaseUrl });
  try {
    await migrate(orm);
    const migrator = await migratorOf(orm);
    (migrator as unknown as { options: { path: string; pathTs: string } }).options.path = `src/db/migrations/${dialect}`;
    (migrator as unknown as { options: { path: string; pathTs: string } }).options.pathTs = `src/db/migrations/${dialect}`;
    const result = await migrator.createMigration(`src/db/migrations/${dialect}`, false, false, name);
    console.log(result.fileName ? `wrote src/db/migrations/${dialect}/${result.fileName}` : 'no changes');
  } finally {
    await orm.close(true);
    rmSync(scratch, { force: true });
    rmSync(`${scratch}-wal`, { force: true });
    rmSync(`${scratch}-shm`, { force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
