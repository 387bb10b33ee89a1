/**
 * The only place that reads process.env. Everything else receives a Config, so tests build
 * one in code (a temp SQLite file, port 0) and never touch the environment.
 */
export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  /** False when publicUrl was derived from HOST/PORT (then it follows the bound port). */
  publicUrlExplicit: boolean;
  /** Algorithm of newly generated signing keys. */
  signingAlg: 'ES256' | 'RS256';
  /** `sqlite:PATH` or `postgres://…` */
  databaseUrl: string;
  redisUrl?: string;
  /** Prefix of every Redis key of this deployment (several deployments may share one Redis). */
  redisKeyPrefix: string;
  smtpUrl?: string;
  emailFrom: string;
  smsWebhookUrl?: string;
  smsWebhookSecret?: string;
  production: boolean;
  logLevel: string;
  /** Request body limit in bytes (SPEC §7: 100 KB). */
  bodyLimitBytes: number;
  introspection: boolean;
  /**
   * Behind one load balancer that appends the client address to X-Forwarded-For: per-IP
   * limits then use that address instead of the balancer's.
   */
  trustProxy: boolean;
  /** On SIGTERM, how long to keep serving before closing (requests already on their way). */
  shutdownDrainMs: number;
  /** The courier's worker looks for due messages this often (it is also woken by each commit that queued one here). */
  courierPollMs: number;
  /**
   * The worker delivers nothing for this long after start. An operator's and the tests' knob:
   * the crash test uses it to kill the server between a commit and its delivery.
   */
  courierStartDelayMs: number;
  /** Attempts per message before it is marked failed (its code is then dead). */
  courierMaxAttempts: number;
  /** How long a claim on a message holds: one still `sending` after it (its process died) is taken again. */
  courierLeaseMs: number;
  /** How often the gateway deletes security events past their app's retention; 0: never (SPEC §4.10). */
  securityEventPurgeIntervalMs: number;
  /** Attempts of a webhook delivery before it is marked failed (backoff as every message's: 5 s, 20 s, 80 s, 320 s, then 15 min). */
  webhookMaxAttempts: number;
  /**
   * `gatehouse serve` gives free memory back to the system when its RSS passes this many MB
   * (src/server/memory-budget.ts); 0 turns that off.
   */
  memoryBudgetMb: number;
}

export class ConfigError extends Error {}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function boolVar(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const host = env.HOST || '127.0.0.1';
  const port = intVar(env, 'PORT', 4000, 0, 65535);
  const databaseUrl = env.DATABASE_URL || 'sqlite:./data/gatehouse.db';
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with sqlite: or postgres://');
  }
  const config: Config = {
    host,
    port,
    publicUrl: (env.PUBLIC_URL || `http://${host}:${port}`).replace(/\/+$/, ''),
    publicUrlExplicit: Boolean(env.PUBLIC_URL),
    signingAlg: env.SIGNING_ALG === 'RS256' ? 'RS256' : 'ES256',
    databaseUrl,
    redisUrl: env.REDIS_URL || undefined,
    redisKeyPrefix: env.REDIS_KEY_PREFIX || 'gatehouse:',
    smtpUrl: env.SMTP_URL || undefined,
    emailFrom: env.EMAIL_FROM || 'Gatehouse <no-reply@gatehouse.local>',
    smsWebhookUrl: env.SMS_WEBHOOK_URL || undefined,
    smsWebhookSecret: env.SMS_WEBHOOK_SECRET || undefined,
    production: env.NODE_ENV === 'production',
    logLevel: env.LOG_LEVEL || 'info',
    bodyLimitBytes: intVar(env, 'BODY_LIMIT_BYTES', 100 * 1024, 1024, 10 * 1024 * 1024),
    introspection: boolVar(env, 'INTROSPECTION', true),
    trustProxy: boolVar(env, 'TRUST_PROXY', false),
    shutdownDrainMs: intVar(env, 'SHUTDOWN_DRAIN_MS', 1000, 0, 60_000),
    courierPollMs: intVar(env, 'COURIER_POLL_MS', 1000, 10, 60_000),
    courierStartDelayMs: intVar(env, 'COURIER_START_DELAY_MS', 0, 0, 3_600_000),
    courierMaxAttempts: intVar(env, 'COURIER_MAX_ATTEMPTS', 5, 1, 50),
    courierLeaseMs: intVar(env, 'COURIER_LEASE_MS', 60_000, 1_000, 3_600_000),
    securityEventPurgeIntervalMs: intVar(env, 'SECURITY_EVENT_PURGE_INTERVAL_MS', 3_600_000, 0, 7 * 24 * 3_600_000),
    webhookMaxAttempts: intVar(env, 'WEBHOOK_MAX_ATTEMPTS', 12, 1, 100),
    memoryBudgetMb: intVar(env, 'MEMORY_BUDGET_MB', 200, 0, 1_048_576),
    ...overrides,
  };
  if (env.SIGNING_ALG && env.SIGNING_ALG !== 'ES256' && env.SIGNING_ALG !== 'RS256') {
    throw new ConfigError('SIGNING_ALG must be ES256 or RS256');
  }
  if (config.smsWebhookUrl && !config.smsWebhookSecret) {
    throw new ConfigError('SMS_WEBHOOK_SECRET is required when SMS_WEBHOOK_URL is set');
  }
  return config;
}
