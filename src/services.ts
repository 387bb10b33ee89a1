import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/core';
import type { Config } from './config';
import type { Caller } from './graphql/context';
import type { Clock } from './identity/clock';
import type { AppService } from './identity/apps';
import type { UserService } from './identity/users';
import type { Logger } from './logger';

/** The domain services one gateway process holds; built once in app.ts. */
export interface Services {
  config: Config;
  clock: Clock;
  logger: Logger;
  orm: MikroORM;
  apps: AppService;
  users: UserService;
  /** Verifies a bearer access token into a caller (set by the sessions module). */
  bearer?: (em: EntityManager, token: string) => Promise<Caller>;
}
