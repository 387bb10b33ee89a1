import type { Dialect } from '../orm';

/**
 * The names of the checked-in migrations (index.ts's classes, in the same order; a test holds
 * the two lists together). `migrate` compares them with what the database has applied before
 * it loads the migrator: a server whose schema is current never loads @mikro-orm/migrations
 * (umzug and its command-line kit, ~3 MB of heap and ~5 MB of RSS for the life of the process).
 */
export const MIGRATION_NAMES: Record<Dialect, readonly string[]> = {
  sqlite: [
    'Migration20261123112124_initial',
    'Migration20261123113135_sessions',
    'Migration20261123113834_tokens',
    'Migration20261123113927_codes',
    'Migration20261201214910_normal_forms',
    'Migration20261201215159_courier',
    'Migration20261201221240_social_identities',
    'Migration20261201221409_lifecycle',
    'Migration20261203150642_otp_sends',
  ],
  postgresql: [
    'Migration20261123112127_initial',
    'Migration20261123113137_sessions',
    'Migration20261123113837_tokens',
    'Migration20261123113929_codes',
    'Migration20261201214913_normal_forms',
    'Migration20261201215203_courier',
    'Migration20261201221246_social_identities',
    'Migration20261201221412_lifecycle',
    'Migration20261203150644_otp_sends',
  ],
};
