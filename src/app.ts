import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/core';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { migrate, openOrm } from './db/orm';
import { buildServedSchema } from './graphql/schema';
import { AppService } from './identity/apps';
import { systemClock, type Clock } from './identity/clock';
import { CredentialService } from './identity/credentials';
import { LoginService } from './identity/login';
import { PasswordHasher } from './identity/passwords/hasher';
import { createLimiter, memoryLimiterFactory } from './identity/rate-limit';
import { RegistrationService } from './identity/registration';
import { ServerSecrets } from './identity/server-secrets';
import { SessionService } from './identity/sessions';
import { JwtService } from './identity/tokens/jwt';
import { SigningKeys } from './identity/tokens/signing-keys';
import { UserService } from './identity/users';
import { createLogger, type Logger } from './logger';
import { createGraphQLHandler } from './server/graphql-handler';
import { createHttpServer } from './server/http';
import { sendJson } from './server/http-util';
import type { Services } from './services';

export interface GatewayOptions {
  clock?: Clock;
  logger?: Logger;
}

export interface Gateway {
  config: Config;
  orm: MikroORM;
  services: Services;
  /** Starts listening; resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish, closes the database. */
  close(): Promise<void>;
}

/** Builds the domain services over an open ORM (the CLI uses this without an HTTP server). */
export function createServices(config: Config, orm: MikroORM, options: GatewayOptions = {}): Services {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  const apps = new AppService(clock);
  const users = new UserService(clock);
  const hasher = new PasswordHasher();
  const secrets = new ServerSecrets(clock);
  const signingKeys = new SigningKeys(orm, clock, config.signingAlg);
  const jwt = new JwtService(signingKeys, clock, () => config.publicUrl);
  const sessions = new SessionService(clock, jwt, secrets, apps);
  // SPEC §3: 5 failures per account, 50 per client IP, in 15 minutes.
  const login = new LoginService(hasher, sessions, {
    account: createLimiter(memoryLimiterFactory, { name: 'login-account', points: 5, durationSeconds: 900 }),
    ip: createLimiter(memoryLimiterFactory, { name: 'login-ip', points: 50, durationSeconds: 900 }),
  });
  return {
    config,
    clock,
    logger,
    orm,
    apps,
    users,
    hasher,
    secrets,
    signingKeys,
    jwt,
    sessions,
    login,
    registration: new RegistrationService(users, hasher, sessions),
    credentials: new CredentialService(users, hasher, sessions),
  };
}

/** The one composition root: main, the CLI's `serve` and every test build the gateway here. */
export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const orm = await openOrm(config);
  await migrate(orm);
  const services = createServices(config, orm, options);
  await services.signingKeys.init();
  const graphql = await createGraphQLHandler(buildServedSchema(), services);

  const http = createHttpServer(services, graphql.handle, {
    'GET /healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    'GET /.well-known/jwks.json': async (_req, res) =>
      sendJson(res, 200, await services.signingKeys.jwks(), { 'cache-control': 'public, max-age=300' }),
    'GET /.well-known/openid-configuration': (_req, res) => sendJson(res, 200, openidConfiguration(config.publicUrl)),
    'GET /readyz': async (_req, res) => {
      try {
        await orm.em.fork().getConnection().execute('select 1');
        sendJson(res, 200, { status: 'ready' });
      } catch {
        sendJson(res, 503, { status: 'database unavailable' });
      }
    },
  });

  return {
    config,
    orm,
    services,
    listen: () =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          const { port } = http.address() as AddressInfo;
          // Port 0 (tests): the issuer and links must name the port actually bound.
          if (!config.publicUrlExplicit) config.publicUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
          resolve(`http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`);
        });
      }),
    close: async () => {
      await new Promise<void>((resolve) => {
        if (!http.listening) return resolve();
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await graphql.stop();
      await orm.close(true);
    },
  };
}

/** OpenID Provider metadata: where partners find our keys to verify tokens offline. */
function openidConfiguration(issuer: string) {
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    subject_types_supported: ['public'],
    response_types_supported: ['token'],
    grant_types_supported: ['password', 'refresh_token'],
    scopes_supported: ['openid', 'profile', 'email', 'phone'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'email', 'email_verified', 'phone_number', 'phone_number_verified', 'given_name', 'family_name', 'name'],
    graphql_endpoint: `${issuer}/graphql`,
  };
}
