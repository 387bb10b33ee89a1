import { DriverException } from '@mikro-orm/core';
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs (pino: fast, structured, with redaction built in). Secrets never reach a log line
 * by design (we log no bodies or headers); the redaction list is the second belt.
 *
 * By default lines go to stdout through pino's asynchronous destination: a slow reader of
 * stdout (a pipe to a log shipper under back-pressure) can then never stall the event loop,
 * which a synchronous write per request line would. pino flushes it synchronously on exit
 * (`process.exit`, the end of the event loop); only a kill -9 can lose the last lines in
 * flight — never an acknowledged database write. The CPU per line is the same either way
 * (~10 µs, mostly serialisation: bench/README.md).
 */
export function createLogger(level: string, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: false })): Logger {
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
