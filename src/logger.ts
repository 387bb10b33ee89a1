import { DriverException } from '@mikro-orm/core';
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs (pino: fast, structured, with redaction built in). Secrets never reach a log line
 * by design (we log no bodies or headers); the redaction list is the second belt.
 *
 * Lines go to stdout synchronously. pino's asynchronous destination was tried (bench/README.md:
 * the same CPU per line, ~10 µs, mostly serialisation) and dropped: its writes run on libuv's
 * thread pool, the same four threads that hash passwords, so under sign-in load every log
 * line waited behind the argon2 work queued before it — lines arrived seconds late and piled
 * up in memory. A synchronous write of a short line to a pipe or file costs microseconds.
 */
export function createLogger(level: string, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: safeError, cause: safeError },
      redact: {
        paths: [
          'password', '*.password', 'newPassword', 'currentPassword', 'code', '*.code', 'token', '*.token',
          'refreshToken', '*.refreshToken', 'accessToken', 'apiKey', 'secretKey', 'publishableKey',
          'idToken', '*.idToken', 'clientSecret', '*.clientSecret', 'codeVerifier', 'nonce',
          'headers.authorization', 'headers["x-api-key"]', 'req.headers.authorization', 'req.headers["x-api-key"]',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * Errors as the log may show them. A database driver's message quotes the failed statement
 * with its bound values (emails, password hashes), so for those only the kind, the driver's
 * code and the violated constraint are kept; other errors keep message and stack.
 */
export function safeError(error: unknown): unknown {
  if (error instanceof DriverException) {
    const { code, sqlState, constraint } = error as DriverException & { constraint?: string };
    return { type: error.name, code, sqlState, constraint, message: 'database error (statement and values withheld)' };
  }
  return pino.stdSerializers.err(error as Error);
}
