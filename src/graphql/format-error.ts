import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { AppError, ERROR_CODES, isErrorCode } from '../errors';

/**
 * The one place that turns any error into what a client sees (SPEC §5). Known domain errors
 * keep their code and public extensions; GraphQL's own request errors (parse, validation,
 * variable coercion) become BAD_USER_INPUT; everything else is masked as INTERNAL, its detail
 * going to the log only (see the error-logging plugin), with the request id added there.
 */
const APOLLO_CODES: Record<string, string> = {
  GRAPHQL_PARSE_FAILED: 'BAD_USER_INPUT',
  GRAPHQL_VALIDATION_FAILED: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_FOUND: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_SUPPORTED: 'BAD_USER_INPUT',
  OPERATION_RESOLUTION_FAILURE: 'BAD_USER_INPUT',
};

/** Public extension keys an AppError may carry. */
const PUBLIC_EXTENSIONS = ['field', 'rules', 'retryAfter', 'attemptsLeft', 'reason'];

/** graphql-js's message when the parser stops at `parseOptions.maxTokens` (16.x spells it "more that"). */
const TOKEN_LIMIT = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\b/;

/** graphql-js's and Apollo's field and value suggestions ("… Did you mean "email"?"). */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

export interface FormatErrorOptions {
  /**
   * Drop "Did you mean …?" from messages (with INTROSPECTION=false: suggestions spell out the
   * schema). graphql's `hideSuggestions` validation option already keeps them out of
   * validation errors; this catches the ones variable coercion still makes ("Field "emial" is
   * not defined by type "RegisterInput". Did you mean "email"?"), which Apollo cannot turn off.
   */
  hideSuggestions?: boolean;
}

export function createFormatError(options: FormatErrorOptions = {}) {
  if (!options.hideSuggestions) return formatError;
  // Before formatError, which may shorten a long message and so cut a suggestion in half.
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError =>
    formatError({ ...formatted, message: formatted.message.replace(SUGGESTION, '') }, error);
}

export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };

  if (original instanceof AppError) {
    return { ...base, message: original.message, extensions: { ...pick(original.extensions), code: original.code } };
  }
  const tokens = formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' && TOKEN_LIMIT.exec(formatted.message);
  if (tokens) {
    const message = `The document has more than ${tokens[1]} tokens; send a smaller one (lists of input belong in variables)`;
    return { message, extensions: { code: 'QUERY_TOO_COMPLEX' } };
  }
  // A request Apollo itself refused with a 4xx but no code: a persisted-query extension with
  // a hash that does not match the query, or an unsupported version. The client's mistake.
  if (error instanceof GraphQLError && !error.originalError && error.extensions.code === undefined && isClientStatus(error.extensions.http)) {
    return { ...base, message: cleanMessage(formatted.message), extensions: { code: 'BAD_USER_INPUT' } };
  }
  // Errors already shaped as ours (the shield's denials, the query limits), and GraphQL's own
  // request errors, which Apollo labels with its codes.
  const code = formatted.extensions?.code;
  if ((original instanceof GraphQLError || !original) && typeof code === 'string') {
    const ours = isErrorCode(code) && code !== 'INTERNAL';
    const mapped = ours ? code : APOLLO_CODES[code];
    if (mapped) {
      const extensions: Record<string, unknown> = { ...(ours ? pick(formatted.extensions ?? {}) : {}), code: mapped };
      if (mapped === 'BAD_USER_INPUT' && !extensions.field) {
        const field = variableField(formatted.message);
        if (field) extensions.field = field;
      }
      // Apollo's own refusals of the HTTP request (BAD_REQUEST) quote no client input, so they
      // stay whole: the CSRF one names the headers that let a GET query through.
      const message = code === 'BAD_REQUEST' ? formatted.message.trim() : cleanMessage(formatted.message);
      return { ...base, message, extensions };
    }
  }
  return { message: ERROR_CODES.INTERNAL, locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL' } };
}

function isClientStatus(http: unknown): boolean {
  const status = (http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function pick(extensions: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of PUBLIC_EXTENSIONS) if (extensions[key] !== undefined) out[key] = extensions[key];
  return out;
}

/** `Variable "$input" got invalid value … at "input.email"` → `email`; `Variable "$first"` → `first`. */
function variableField(message: string): string | undefined {
  const at = /at "([^"]+)"/.exec(message);
  if (at) return at[1].split('.').slice(1).join('.') || at[1];
  const missing = /Field "(\w+)" of required type/.exec(message);
  if (missing) return missing[1];
  return /Variable "\$(\w+)"/.exec(message)?.[1];
}

/** GraphQL's own messages can echo long client input; keep them readable and bounded. */
function cleanMessage(message: string): string {
  return message.length > 300 ? `${message.slice(0, 297)}...` : message;
}

/** Whether an error reaching the client would be masked as INTERNAL (and so must be logged). */
export function isUnexpected(error: GraphQLError): boolean {
  // As Apollo will format it: an error without a code is labelled INTERNAL_SERVER_ERROR.
  const extensions = { code: 'INTERNAL_SERVER_ERROR', ...error.extensions };
  return formatError({ message: error.message, extensions }, error).extensions?.code === 'INTERNAL';
}
