import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs (pino: fast, structured, with redaction built in). Secrets never reach a log line
 * by design (we log no bodies or headers); the redaction list is the second belt.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'password', '*.password', 'newPassword', 'currentPassword', 'code', '*.code', 'token', '*.token',
          'refreshToken', '*.refreshToken', 'accessToken', 'apiKey', 'secretKey', 'publishableKey',
          'headers.authorization', 'headers["x-api-key"]', 'req.headers.authorization', 'req.headers["x-api-key"]',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
