import type { MigrationObject } from '@mikro-orm/core';
import type { Dialect } from '../orm';
import { Migration20261123112127_initial as PgInitial } from './postgresql/Migration20261123112127_initial';
import { Migration20261123113137_sessions as PgSessions } from './postgresql/Migration20261123113137_sessions';
import { Migration20261123113837_tokens as PgTokens } from './postgresql/Migration20261123113837_tokens';
import { Migration20261123113929_codes as PgCodes } from './postgresql/Migration20261123113929_codes';
import { Migration20261201214913_normal_forms as PgNormalForms } from './postgresql/Migration20261201214913_normal_forms';
import { Migration20261201221246_social_identities as PgSocialIdentities } from './postgresql/Migration20261201221246_social_identities';
import { Migration20261201215203_courier as PgCourier } from './postgresql/Migration20261201215203_courier';
import { Migration20261201221412_lifecycle as PgLifecycle } from './postgresql/Migration20261201221412_lifecycle';
import { Migration20261203150644_otp_sends as PgOtpSends } from './postgresql/Migration20261203150644_otp_sends';
import { Migration20261123112124_initial as SqliteInitial } from './sqlite/Migration20261123112124_initial';
import { Migration20261123113135_sessions as SqliteSessions } from './sqlite/Migration20261123113135_sessions';
import { Migration20261123113834_tokens as SqliteTokens } from './sqlite/Migration20261123113834_tokens';
import { Migration20261123113927_codes as SqliteCodes } from './sqlite/Migration20261123113927_codes';
import { Migration20261201214910_normal_forms as SqliteNormalForms } from './sqlite/Migration20261201214910_normal_forms';
import { Migration20261201221240_social_identities as SqliteSocialIdentities } from './sqlite/Migration20261201221240_social_identities';
import { Migration20261201215159_courier as SqliteCourier } from './sqlite/Migration20261201215159_courier';
import { Migration20261201221409_lifecycle as SqliteLifecycle } from './sqlite/Migration20261201221409_lifecycle';
import { Migration20261203150642_otp_sends as SqliteOtpSends } from './sqlite/Migration20261203150642_otp_sends';

/**
 * The checked-in migrations, listed explicitly so the same list works from src (tsx, vitest)
 * and from dist (node) with no glob over file extensions. One set per dialect, both generated
 * by `npm run migration:create -- <dialect> <name>` from the same entities; add new ones here,
 * in order, and its name to names.ts.
 */
const SQLITE = [SqliteInitial, SqliteSessions, SqliteTokens, SqliteCodes, SqliteNormalForms, SqliteCourier, SqliteSocialIdentities, SqliteLifecycle, SqliteOtpSends];
const POSTGRESQL = [PgInitial, PgSessions, PgTokens, PgCodes, PgNormalForms, PgCourier, PgSocialIdentities, PgLifecycle, PgOtpSends];

export function migrationsFor(dialect: Dialect): MigrationObject[] {
  return (dialect === 'sqlite' ? SQLITE : POSTGRESQL).map((migration) => ({ name: migration.name, class: migration }));
}
