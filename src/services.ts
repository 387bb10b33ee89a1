import type { MikroORM } from '@mikro-orm/core';
import type { Config } from './config';
import type { Courier } from './delivery';
import type { AppService } from './identity/apps';
import type { AutologinService } from './identity/autologin';
import type { LegalService } from './identity/legal';
import type { PasswordResetService } from './identity/password-reset';
import type { Clock } from './identity/clock';
import type { CredentialService } from './identity/credentials';
import type { LoginService } from './identity/login';
import type { OtpService } from './identity/otp';
import type { PasswordHasher } from './identity/passwords/hasher';
import type { RegistrationService } from './identity/registration';
import type { ServerSecrets } from './identity/server-secrets';
import type { SessionService } from './identity/sessions';
import type { SocialSignInService } from './identity/social';
import type { JwtService } from './identity/tokens/jwt';
import type { SigningKeys } from './identity/tokens/signing-keys';
import type { CallLimiter, RedisLink } from './identity/rate-limit';
import type { UserService } from './identity/users';
import type { SecurityEvents } from './identity/events';
import type { AccountLifecycle, ContactChangeService, WebhookSecrets } from './identity/lifecycle';
import type { Logger } from './logger';
import type { Metrics } from './server/metrics';

/** The domain services one gateway process holds; built once in app.ts. */
export interface Services {
  config: Config;
  clock: Clock;
  logger: Logger;
  orm: MikroORM;
  /** The Redis connection of the shared counters and its health, when REDIS_URL is set (closed with the gateway). */
  redis?: RedisLink;
  apps: AppService;
  users: UserService;
  hasher: PasswordHasher;
  secrets: ServerSecrets;
  signingKeys: SigningKeys;
  jwt: JwtService;
  sessions: SessionService;
  login: LoginService;
  registration: RegistrationService;
  /** Delivery of codes and links: SMTP, SMS webhook, development outbox (SPEC §6). */
  courier: Courier;
  otp: OtpService;
  callLimits: CallLimiter;
  credentials: CredentialService;
  passwordReset: PasswordResetService;
  autologin: AutologinService;
  legal: LegalService;
  /** Security events of SPEC §4.10 (and their webhook deliveries). */
  events: SecurityEvents;
  /** Account lifecycle (SPEC §4.10): contact changes, suspension, sessions, erasure, webhook secrets. */
  lifecycle: { contacts: ContactChangeService; accounts: AccountLifecycle; webhookSecrets: WebhookSecrets };
  /** Social sign-in, linking and the web redirect flow (SPEC §4.9). */
  social: SocialSignInService;
  /** Prometheus counters (server/metrics.ts); optional so code without a gateway (the CLI) need not build one. */
  metrics?: Metrics;
}
