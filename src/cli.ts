import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { createGateway, createServices } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { withoutSecrets } from './config/social-providers';
import { migrate, openOrm } from './db/orm';
import { AppError } from './errors';
import { AppDirectory } from './identity/app-directory';
import { formatOutbox, listOutbox } from './delivery';
import { isUuid } from './identity/apps';
import type { Tenant } from './identity/users';
import { User } from './db/entities';
import type { ApiKeyKind } from './db/entities';
import type { Services } from './services';
import { startMemoryBudget } from './server/memory-budget';

const USAGE = `gatehouse — GraphQL identity gateway

  gatehouse serve                         start the server (creates a Demo app on first run)
  gatehouse migrate                       apply pending database migrations
  gatehouse app create --name NAME [--origin URL]... [--settings JSON] [--json]
  gatehouse app update APP_ID --settings JSON
  gatehouse app list [--json]             apps with their live key counts
  gatehouse app show APP_ID [--json]      an app's settings and keys (prefixes only: keys are shown once)
  gatehouse key create APP_ID --kind publishable|secret [--json]
  gatehouse key revoke KEY_ID
  gatehouse signing-key rotate [--alg ES256|RS256]
  gatehouse outbox [--app APP_ID] [--to ADDRESS] [--failed] [--json]
                                          read the outbox: development messages (codes, links) and
                                          every message's delivery state; --failed: the given-up ones
  gatehouse app webhook-secret APP_ID      make a new webhook signing secret (shown once; the old one stops)
  gatehouse user suspend USER_ID --reason TEXT   end every session; sign-ins answer ACCOUNT_SUSPENDED
  gatehouse user reinstate USER_ID         lift a suspension
  gatehouse user delete USER_ID            erase a customer (personal data, sessions, codes, tokens)

Configuration comes from the environment (PORT, HOST, DATABASE_URL, ...): see README.md.`;

class UsageError extends Error {}

function parseJson(text: string | undefined, flag: string): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${flag} must be valid JSON`);
  }
}

/** Runs `work` with the domain services over a migrated database, then closes it. */
async function withServices<T>(config: Config, work: (services: Services) => Promise<T>): Promise<T> {
  const orm = await openOrm(config);
  try {
    await migrate(orm);
    return await work(createServices({ ...config, logLevel: 'warn' }, orm));
  } finally {
    await orm.close(true);
  }
}

async function serve(config: Config): Promise<void> {
  const gateway = await createGateway(config);
  const { logger } = gateway.services;
  const demo = config.production ? null : await ensureDemoApp(gateway.services);
  const url = await gateway.listen();
  startMemoryBudget({ budgetMb: config.memoryBudgetMb, logger });
  const lines = [`Gatehouse is listening on ${url}`, `  GraphQL endpoint and playground: ${url}/graphql`, `  JWKS: ${url}/.well-known/jwks.json`];
  if (demo?.created) {
    lines.push(
      '',
      'Created the Demo app (keys are shown only this once; they are stored as hashes):',
      `  app id:          ${demo.appId}`,
      `  publishable key: ${demo.publishableKey}`,
      `  secret key:      ${demo.secretKey}`,
      '',
      `Try it:  curl -s ${url}/graphql -H 'content-type: application/json' -H 'x-api-key: ${demo.publishableKey}' \\`,
      `           -d '{"query":"{ checkEmail(email: \\"ada@example.com\\") { exists } }"}'`,
    );
  } else if (demo) {
    lines.push('', `Demo app ${demo.appId} already exists. New key: npx gatehouse key create ${demo.appId} --kind publishable`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainMs: config.shutdownDrainMs }, 'shutting down: draining, then finishing in-flight requests');
    const force = setTimeout(() => process.exit(1), config.shutdownDrainMs + 15_000);
    force.unref();
    // Keep serving briefly: requests already on their way (connections accepted but not yet
    // read, a balancer that has not yet noticed) are answered rather than reset; then stop
    // accepting and let what is in flight finish.
    await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
    await gateway.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

async function ensureDemoApp(services: Services): Promise<{ created: boolean; appId: string; publishableKey?: string; secretKey?: string }> {
  const em = services.orm.em.fork();
  const existing = await services.apps.findAppByName(em, 'Demo');
  if (existing) return { created: false, appId: existing.id };
  const { app, publishable, secret } = await services.apps.createApp(em, 'Demo', {
    brandName: 'Demo',
    allowedOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
  });
  return { created: true, appId: app.id, publishableKey: publishable.key, secretKey: secret.key };
}

/** The app of a user (the operator names only the user). */
async function tenantOfUser(services: Services, em: ReturnType<Services['orm']['em']['fork']>, userId: string): Promise<Tenant | null> {
  if (!isUuid(userId)) return null;
  const user = await em.findOne(User, { id: userId }, { populate: ['app'] });
  return user ? { app: user.app, settings: services.apps.settingsOf(user.app) } : null;
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, sub, ...rest] = argv;
  const out = (text: string) => process.stdout.write(`${text}\n`);
  // `gatehouse outbox --help`, `gatehouse app create -h`…: the usage, before any configuration is read.
  if (argv.slice(1).some((arg) => arg === '--help' || arg === '-h')) {
    out(USAGE);
    return 0;
  }
  const config = loadConfig(env);

  switch (command) {
    case 'serve':
      await serve(config);
      return -1; // keep running
    case 'migrate': {
      const orm = await openOrm(config);
      try {
        const applied = await migrate(orm);
        out(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'Database is up to date.');
      } finally {
        await orm.close(true);
      }
      return 0;
    }
    case 'app': {
      if (sub === 'create') {
        const { values } = parseArgs({
          args: rest,
          options: { name: { type: 'string' }, origin: { type: 'string', multiple: true }, settings: { type: 'string' }, json: { type: 'boolean' } },
        });
        if (!values.name) throw new UsageError('--name is required');
        const settings = parseJson(values.settings, '--settings') as Record<string, unknown>;
        if (values.origin?.length) settings.allowedOrigins = [...((settings.allowedOrigins as string[]) ?? []), ...values.origin];
        const { created, webhookSecret } = await withServices(config, async (s) => {
          const made = await s.apps.createApp(s.orm.em.fork(), values.name!, settings);
          return { created: made, webhookSecret: settings.webhookUrl ? await s.lifecycle.webhookSecrets.ensure(s.orm.em.fork(), made.app.id) : null };
        });
        if (values.json) {
          out(JSON.stringify({ appId: created.app.id, publishableKey: created.publishable.key, secretKey: created.secret.key }));
        } else {
          out(`Created app "${created.app.name}" (${created.app.id}). Keys are shown only this once:`);
          out(`  publishable: ${created.publishable.key}  (key id ${created.publishable.id})`);
          out(`  secret:      ${created.secret.key}  (key id ${created.secret.id})`);
        }
        // stdout stays the one JSON object SPEC §7 names; the secret made for a webhookUrl goes to stderr, once.
        if (webhookSecret) process.stderr.write(`Webhook signing secret (shown only this once): ${webhookSecret}\n`);
        return 0;
      }
      if (sub === 'update') {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { settings: { type: 'string' } } });
        if (!positionals[0] || values.settings === undefined) throw new UsageError('usage: gatehouse app update APP_ID --settings JSON');
        const { settings, webhookSecret } = await withServices(config, async (s) => {
          const next = await s.apps.updateSettings(s.orm.em.fork(), positionals[0], parseJson(values.settings, '--settings'));
          // The first webhookUrl gets a signing secret, shown here once (SPEC §4.10).
          return { settings: next, webhookSecret: next.webhookUrl ? await s.lifecycle.webhookSecrets.ensure(s.orm.em.fork(), positionals[0]) : null };
        });
        out(JSON.stringify(withoutSecrets(settings), null, 2));
        if (webhookSecret) process.stderr.write(`Webhook signing secret (shown only this once): ${webhookSecret}\n`);
        return 0;
      }
      if (sub === 'webhook-secret') {
        if (!rest[0]) throw new UsageError('usage: gatehouse app webhook-secret APP_ID');
        const secret = await withServices(config, async (s) => {
          await s.apps.requireApp(s.orm.em.fork(), rest[0]);
          return s.lifecycle.webhookSecrets.rotate(s.orm.em.fork(), rest[0]);
        });
        out(secret);
        return 0;
      }
      if (sub === 'list') {
        const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
        const apps = await withServices(config, (s) => new AppDirectory(s.apps).list(s.orm.em.fork()));
        if (values.json) out(JSON.stringify(apps));
        else if (!apps.length) out('No apps yet: gatehouse app create --name NAME');
        else for (const a of apps) out(`${a.appId}  ${a.name}  (live keys: ${a.liveKeys.publishable} publishable, ${a.liveKeys.secret} secret)`);
        return 0;
      }
      if (sub === 'show') {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' } } });
        if (!positionals[0]) throw new UsageError('usage: gatehouse app show APP_ID [--json]');
        const app = await withServices(config, (s) => new AppDirectory(s.apps).show(s.orm.em.fork(), positionals[0]));
        if (values.json) {
          out(JSON.stringify(app));
        } else {
          out(`${app.name} (${app.appId}), created ${app.createdAt}`);
          out('keys:');
          for (const k of app.keys) out(`  ${k.keyId}  ${k.kind.padEnd(11)}  ${k.prefix}…  ${k.revokedAt ? `revoked ${k.revokedAt}` : 'live'}`);
          out(`settings: ${JSON.stringify(app.settings, null, 2)}`);
        }
        return 0;
      }
      throw new UsageError(`unknown command: app ${sub ?? ''}`);
    }
    case 'key': {
      if (sub === 'create') {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { kind: { type: 'string' }, json: { type: 'boolean' } } });
        if (!positionals[0] || !values.kind) throw new UsageError('usage: gatehouse key create APP_ID --kind publishable|secret');
        const issued = await withServices(config, (s) => s.apps.createKey(s.orm.em.fork(), positionals[0], values.kind as ApiKeyKind));
        out(values.json ? JSON.stringify({ keyId: issued.id, kind: issued.kind, key: issued.key }) : `Created ${issued.kind} key ${issued.id} (shown only this once):\n  ${issued.key}`);
        return 0;
      }
      if (sub === 'revoke') {
        if (!rest[0]) throw new UsageError('usage: gatehouse key revoke KEY_ID');
        const revoked = await withServices(config, (s) => s.apps.revokeKey(s.orm.em.fork(), rest[0]));
        if (!revoked) {
          process.stderr.write(`No live key with id ${rest[0]}\n`);
          return 1;
        }
        out(`Revoked key ${rest[0]}`);
        return 0;
      }
      throw new UsageError(`unknown command: key ${sub ?? ''}`);
    }
    case 'signing-key': {
      if (sub !== 'rotate') throw new UsageError(`unknown command: signing-key ${sub ?? ''}`);
      const { values } = parseArgs({ args: rest, options: { alg: { type: 'string' } } });
      if (values.alg && values.alg !== 'ES256' && values.alg !== 'RS256') throw new UsageError('--alg must be ES256 or RS256');
      const key = await withServices(config, (s) => s.signingKeys.rotate((values.alg as 'ES256' | 'RS256') ?? config.signingAlg));
      out(`New signing key ${key.kid} (${key.alg}); the previous key keeps verifying until its tokens expire.`);
      return 0;
    }
    case 'user': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { reason: { type: 'string' } } });
      const userId = positionals[0];
      if (!userId || !['suspend', 'reinstate', 'delete'].includes(sub ?? '')) throw new UsageError('usage: gatehouse user suspend|reinstate|delete USER_ID [--reason TEXT]');
      if (sub === 'suspend' && !values.reason) throw new UsageError('gatehouse user suspend needs --reason TEXT');
      const actor = { by: 'operator' as const, ip: null };
      const done = await withServices(config, async (s) => {
        const em = s.orm.em.fork();
        const tenant = await tenantOfUser(s, em, userId);
        if (!tenant) return false;
        if (sub === 'suspend') await s.lifecycle.accounts.suspend(em, tenant, userId, values.reason!, actor);
        else if (sub === 'reinstate') await s.lifecycle.accounts.reinstate(em, tenant, userId, actor);
        else await s.lifecycle.accounts.delete(em, tenant, userId, actor);
        return true;
      });
      if (!done) {
        process.stderr.write(`No user with id ${userId}\n`);
        return 1;
      }
      out(sub === 'suspend' ? `Suspended user ${userId}; every session ended.` : sub === 'reinstate' ? `Reinstated user ${userId}.` : `Erased user ${userId}.`);
      return 0;
    }
    case 'outbox': {
      const { values } = parseArgs({
        args: argv.slice(1),
        options: { app: { type: 'string' }, to: { type: 'string' }, failed: { type: 'boolean' }, json: { type: 'boolean' } },
      });
      const filter = { appId: values.app, to: values.to, status: values.failed ? ('failed' as const) : undefined };
      const entries = await withServices(config, (s) => listOutbox(s.orm.em.fork(), filter));
      out(values.json ? JSON.stringify(entries) : formatOutbox(entries, values.failed ? 'No failed messages.' : undefined));
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return command ? 0 : 1;
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

/** Runs the CLI as a process: exit code, and errors as one readable line (no stack). */
export function main(argv: string[]): void {
  run(argv).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (error: unknown) => {
      if (error instanceof UsageError || error instanceof ConfigError) {
        process.stderr.write(`gatehouse: ${error.message}\n${error instanceof UsageError ? `\n${USAGE}\n` : ''}`);
      } else if (error instanceof AppError) {
        const field = error.extensions.field ? ` (${String(error.extensions.field)})` : '';
        process.stderr.write(`gatehouse: ${error.message}${field}\n`);
      } else {
        process.stderr.write(`gatehouse: ${error instanceof Error ? error.message : String(error)}\n`);
      }
      process.exit(2);
    },
  );
}

if (require.main === module) main(process.argv.slice(2));
