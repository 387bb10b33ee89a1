import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/core';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { migrate, openOrm } from './db/orm';
import { SqliteCheckpointer } from './db/sqlite-checkpointer';
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
import { createLimiter, memoryLimiterFactory, CallLimiter, RedisLink } from './identity/rate-limit';
import { RegistrationService } from './identity/registration';
import { ServerSecrets } from './identity/server-secrets';
import { SessionService } from './identity/sessions';
import { FacebookVerifier, IdTokenVerifier, OidcClients, SecretBox, SocialAccounts, SocialSignInService } from './identity/social';
import { JwtService } from './identity/tokens/jwt';
import { SigningKeys } from './identity/tokens/signing-keys';
import { UserService } from './identity/users';
import { SecurityEvents, startEventPurge } from './identity/events';
import { AccountLifecycle, ContactChangeService, Erasure, WebhookOutbox, WebhookSecrets } from './identity/lifecycle';
import { WebhookTransport } from './delivery/webhook';
import { Counter } from 'prom-client';
import { createLogger, type Logger } from './logger';
import { createGraphQLHandler } from './server/graphql-handler';
import { createHttpServer } from './server/http';
import { PUBLIC_CORS, sendJson } from './server/http-util';
import { createMetrics, metricsRoute } from './server/metrics';
import { oauthRoutes } from './server/oauth';
import { oauthCallbackRoutes } from './server/oauth-callback';
import { playgroundRoutes, withPlayground } from './server/playground';
import { resetPageRoutes } from './server/reset-page';
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
  // instances when REDIS_URL is set (SPEC §8), falling back to in-process counters while
  // Redis is away (RedisLink).
  const redis = config.redisUrl ? new RedisLink(config.redisUrl, config.redisKeyPrefix, logger) : undefined;
  const limiterFactory = redis ? redis.limiterFactory() : memoryLimiterFactory;
  // SPEC §3: 5 failures per account, 50 per client IP, in 15 minutes.
  // The account counter is keyed by the account (login.ts accountLimitKey) and shared with changePassword.
  const loginLimiters = {
    account: createLimiter(limiterFactory, { name: 'login-account', points: 5, durationSeconds: 900 }),
    ip: createLimiter(limiterFactory, { name: 'login-ip', points: 50, durationSeconds: 900 }),
  };
  const login = new LoginService(users, hasher, sessions, loginLimiters);
  // One-time codes (SPEC §3, §4.3) and their delivery (SPEC §6); their hourly send counts are in their rows.
  // The courier's worker delivers only in a gateway (createGateway starts it), never in the CLI.
  // Security events go to apps' webhooks as one more channel of the courier (SPEC §4.10).
  const webhookSecrets = new WebhookSecrets(clock, secrets);
  const webhook = new WebhookTransport((appId) => webhookSecrets.get(orm.em.fork(), appId));
  const courier = createCourier(config, { apps, clock, logger, orm, webhook });
  const challenges = new ChallengeStore(clock, secrets, courier);
  const callLimits = new CallLimiter(limiterFactory);
  const otp = new OtpService(sessions, challenges);
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
  const codeRegistration = new OtpCodeRegistration(users, hasher, sessions, challenges, otp);
  registration.codeRegistration = codeRegistration;
  const credentials = new CredentialService(users, hasher, sessions, loginLimiters.account);
  const passwordReset = new PasswordResetService(users, singleUse, hasher, sessions, () => config.publicUrl, sendResetMail, apps);

  // Security events (SPEC §4.10): every flow that records one gets the same recorder, and each
  // event of an app with a webhookUrl is put on the outbox in the event's transaction.
  const events = new SecurityEvents(clock);
  events.sink = new WebhookOutbox(courier);
  for (const service of [sessions, login, otp, registration, codeRegistration, credentials, passwordReset]) service.events = events;
  const lifecycle = {
    contacts: new ContactChangeService(clock, users, challenges, courier, events, logger),
    accounts: new AccountLifecycle(clock, users, sessions, hasher, challenges, loginLimiters.account, events, new Erasure(clock, events)),
    webhookSecrets,
  };
  // Social sign-in (SPEC §4.9): provider client secrets sealed at rest, tokens verified with jose / openid-client.
  const secretBox = new SecretBox(secrets);
  apps.secretBox = secretBox;
  const oidcClients = new OidcClients(clock, secretBox);
  const socialAccounts = new SocialAccounts(clock, users);
  socialAccounts.events = events;
  const social = new SocialSignInService(
    clock,
    new IdTokenVerifier(clock, (em, provider) => oidcClients.jwksUri(em, provider)),
    new FacebookVerifier(clock),
    oidcClients,
    secretBox,
    socialAccounts,
    sessions,
    singleUse,
    () => config.publicUrl,
  );
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
    credentials,
    passwordReset,
    autologin: new AutologinService(apps, users, singleUse, sessions),
    legal: new LegalService(users, clock),
    events,
    lifecycle,
    social,
  };
}

/** The one composition root: main, the CLI's `serve` and every test build the gateway here. */
export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  assertDeliveryConfigured(config);
  const orm = await openOrm(config);
  await migrate(orm);
  const services = createServices(config, orm, options);
  // SQLite: WAL checkpoints on a thread of their own, not inside a request's commit.
  const checkpointer = await SqliteCheckpointer.start(orm, config.databaseUrl, services.logger);
  const redis = services.redis;
  services.metrics = createMetrics({ redisUp: redis && (() => redis.up) }); // per gateway: tests run several in one process
  if (redis) redis.onFallback = (limit) => services.metrics?.rateLimitFallbacks.inc({ limit });
  const webhooksDelivered = new Counter({ name: 'gatehouse_webhooks_delivered_total', help: 'Security events delivered to apps\' webhooks', registers: [services.metrics.registry] });
  services.courier.onDelivered = (channel) => (channel === 'WEBHOOK' ? webhooksDelivered.inc() : services.metrics?.codesSent.inc({ channel: channel.toLowerCase() }));
  registerCourierMetrics(services.metrics.registry, services.courier, orm);
  await Promise.all([services.signingKeys.init(), services.hasher.prepare(), redis?.start()]);
  const stopLifecycle = startLifecycleWork(services);
  const graphql = await createGraphQLHandler(buildServedSchema(), services);
  services.courier.start();

  const http = createHttpServer(services, withPlayground(graphql.handle), {
    'GET /healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    'GET /metrics': metricsRoute(services),
    ...playgroundRoutes(),
    // Social sign-in's web redirect flow returns here (SPEC §4.9).
    ...oauthCallbackRoutes(services),
    // Public documents: any page may read them (a SPA verifies an ID token itself), so `*`.
    'GET /.well-known/jwks.json': async (_req, res) =>
      sendJson(res, 200, await services.signingKeys.jwks(), { 'cache-control': 'public, max-age=300', ...PUBLIC_CORS }),
    // OAuth 2.0 (SPEC §4.11): token, userinfo, revoke, introspect, and both discovery documents.
    ...oauthRoutes(services),
    // The page the default reset link opens (apps without resetPasswordUrl), in production too.
    ...resetPageRoutes(services),
    'GET /readyz': async (_req, res) => {
      try {
        await orm.em.getConnection().execute('select 1');
      } catch {
        return sendJson(res, 503, { status: 'database unavailable' });
      }
      // Without Redis the instance still serves every request, its limits counted per
      // instance; every instance shares the one Redis, so answering 503 would take the whole
      // deployment out of rotation at once. So: 200 and "degraded" (alert on
      // gatehouse_redis_up), answered at once when the connection is down, otherwise after
      // one bounded check (half a second at most).
      if (redis && !(await redis.check())) return sendJson(res, 200, { status: 'degraded', redis: 'unavailable' });
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
      await stopLifecycle();
      await checkpointer?.stop();
      await orm.close(true);
      await redis?.close();
    },
  };
}


/**
 * The account lifecycle's background work in a serving gateway (SPEC §4.10): the timer that
 * purges security events past their app's retention (unref'd). Webhook deliveries are the
 * courier's. The returned function stops it (gateway close).
 */
function startLifecycleWork(services: Services): () => Promise<void> {
  const { orm, logger, config } = services;
  return startEventPurge(services.events, () => orm.em.fork(), config.securityEventPurgeIntervalMs, (error) =>
    logger.warn({ err: { message: (error as Error).message } }, 'security event purge failed; retrying at the next interval'),
  );
}

