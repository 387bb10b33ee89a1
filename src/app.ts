import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/core';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { migrate, openOrm } from './db/orm';
import { buildServedSchema } from './graphql/schema';
import { AppService } from './identity/apps';
import { systemClock, type Clock } from './identity/clock';
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
  return {
    config,
    clock,
    logger,
    orm,
    apps: new AppService(clock),
    users: new UserService(clock),
  };
}

/** The one composition root: main, the CLI's `serve` and every test build the gateway here. */
export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const orm = await openOrm(config);
  await migrate(orm);
  const services = createServices(config, orm, options);
  const graphql = await createGraphQLHandler(buildServedSchema(), services);

  const http = createHttpServer(services, graphql.handle, {
    'GET /healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
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
