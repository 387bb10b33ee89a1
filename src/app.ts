import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/core';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { migrate, openOrm } from './db/orm';
import { assertDeliveryConfigured, createCourier, registerCourierMetrics } from './delivery';
import { buildServedSchema } from './graphql/schema';
import { AppService } from './identity/apps';
import { systemClock, type Clock } from './identity/clock';
import { AutologinService } from './identity/autologin';
import { CredentialService } from './identity/credentials';
import { LegalService } from './identity/legal';
import { PasswordResetService, type ResetMailer } from './identity/password-reset';
import { SingleUseTokens } from './identity/single-use-tokens';
import { LoginService } from './identity/login';
import { ChallengeStore, OtpCodeRegistration, OtpService } from './identity/otp';
import { PasswordHasher } from './identity/passwords/hasher';
import { closeRedis, connectRedis, createLimiter, memoryLimiterFactory, redisLimiterFactory, CallLimiter } from './identity/rate-limit';
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
import { createMetrics, metricsRoute } from './server/metrics';
import { playgroundRoutes, withPlayground } from './server/playground';
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
  /** Stops accepting, lets in-flight requests and deliveries finish, closes the database. */
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
  const singleUse = new SingleUseTokens(clock);
  // Every limiter is built with this one factory: in-process counters, or Redis shared by all
  // instances when REDIS_URL is set (SPEC §8).
  const redis = config.redisUrl ? connectRedis(config.redisUrl, logger) : undefined;
  const limiterFactory = redis ? redisLimiterFactory(redis, config.redisKeyPrefix) : memoryLimiterFactory;
  // SPEC §3: 5 failures per account, 50 per client IP, in 15 minutes.
  const login = new LoginService(users, hasher, sessions, {
    account: createLimiter(limiterFactory, { name: 'login-account', points: 5, durationSeconds: 900 }),
    ip: createLimiter(limiterFactory, { name: 'login-ip', points: 50, durationSeconds: 900 }),
  });
  // One-time codes (SPEC §3, §4.3) and their delivery (SPEC §6); hourly send counts on the limiter factory.
  // The courier's worker delivers only in a gateway (createGateway starts it), never in the CLI.
  const courier = createCourier(config, { apps, clock, logger, orm });
  const challenges = new ChallengeStore(clock, secrets, courier, limiterFactory);
  const callLimits = new CallLimiter(limiterFactory);
  const otp = new OtpService(users, sessions, challenges);
  const sendResetMail: ResetMailer = async (em, tenant, user, reset) => {
    await courier.send(em, {
      appId: tenant.app.id,
      channel: 'EMAIL',
      to: user.email!,
      template: 'password-reset',
      vars: { link: reset.link, expiresInSeconds: reset.expiresIn },
      settings: tenant.settings,
      carrierId: reset.tokenId,
      expiresAt: reset.expiresAt,
    });
  };
  const registration = new RegistrationService(users, hasher, sessions);
  registration.codeRegistration = new OtpCodeRegistration(users, hasher, sessions, challenges, otp);
  return {
    config,
    clock,
    logger,
    orm,
    redis,
    apps,
    users,
    hasher,
    secrets,
    signingKeys,
    jwt,
    sessions,
    login,
    registration,
    courier,
    otp,
    callLimits,
    credentials: new CredentialService(users, hasher, sessions),
    passwordReset: new PasswordResetService(users, singleUse, hasher, sessions, () => config.publicUrl, sendResetMail),
    autologin: new AutologinService(apps, users, singleUse, sessions),
    legal: new LegalService(users, clock),
  };
}

/** The one composition root: main, the CLI's `serve` and every test build the gateway here. */
export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  assertDeliveryConfigured(config);
  const orm = await openOrm(config);
  await migrate(orm);
  const services = createServices(config, orm, options);
  services.metrics = createMetrics(); // per gateway: tests run several in one process
  services.courier.onDelivered = (channel) => services.metrics?.codesSent.inc({ channel: channel.toLowerCase() });
  registerCourierMetrics(services.metrics.registry, services.courier, orm);
  await Promise.all([services.signingKeys.init(), services.hasher.prepare()]);
  const graphql = await createGraphQLHandler(buildServedSchema(), services);
  services.courier.start();

  const http = createHttpServer(services, withPlayground(graphql.handle), {
    'GET /healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    'GET /metrics': metricsRoute(services),
    ...playgroundRoutes(),
    'GET /.well-known/jwks.json': async (_req, res) =>
      sendJson(res, 200, await services.signingKeys.jwks(), { 'cache-control': 'public, max-age=300' }),
    'GET /.well-known/openid-configuration': (_req, res) => sendJson(res, 200, openidConfiguration(config.publicUrl)),
    'GET /readyz': async (_req, res) => {
      try {
        await orm.em.getConnection().execute('select 1');
      } catch {
        return sendJson(res, 503, { status: 'database unavailable' });
      }
      // With REDIS_URL, logins count in Redis: an instance that cannot reach it is not ready.
      try {
        await services.redis?.ping();
      } catch {
        return sendJson(res, 503, { status: 'redis unavailable' });
      }
      sendJson(res, 200, { status: 'ready' });
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
          const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
          if (!config.publicUrlExplicit) config.publicUrl = url;
          resolve(url);
        });
      }),
    close: async () => {
      await new Promise<void>((resolve) => {
        if (!http.listening) return resolve();
        // Stop accepting; requests in flight finish. Keep-alive connections that go idle once
        // their answer is sent are closed as they do, so close() does not wait for their timeout.
        const sweep = setInterval(() => http.closeIdleConnections(), 50);
        http.close(() => {
          clearInterval(sweep);
          resolve();
        });
        http.closeIdleConnections();
      });
      await graphql.stop();
      // No request is left to queue a message: deliveries in flight finish before the database closes.
      await services.courier.close();
      await orm.close(true);
      if (services.redis) await closeRedis(services.redis);
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
