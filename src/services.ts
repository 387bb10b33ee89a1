import type { MikroORM } from '@mikro-orm/core';
import type { Config } from './config';
import type { AppService } from './identity/apps';
import type { Clock } from './identity/clock';
import type { CredentialService } from './identity/credentials';
import type { LoginService } from './identity/login';
import type { PasswordHasher } from './identity/passwords/hasher';
import type { RegistrationService } from './identity/registration';
import type { ServerSecrets } from './identity/server-secrets';
import type { SessionService } from './identity/sessions';
import type { JwtService } from './identity/tokens/jwt';
import type { SigningKeys } from './identity/tokens/signing-keys';
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
  hasher: PasswordHasher;
  secrets: ServerSecrets;
  signingKeys: SigningKeys;
  jwt: JwtService;
  sessions: SessionService;
  login: LoginService;
  registration: RegistrationService;
  credentials: CredentialService;
}
