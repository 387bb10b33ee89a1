import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { Kind, type FragmentDefinitionNode, type GraphQLSchema } from 'graphql';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createFormatError, isUnexpected } from '../graphql/format-error';
import { LIMIT_RULES, LIMITS, nulPlugin } from '../graphql/limits';
import { RequestStorage, requestContext, type RequestContext } from '../graphql/context';
import { credentialUse } from '../graphql/permissions';
import type { Services } from '../services';
import { authenticate } from './authenticate';
import { DocumentStore } from './document-cache';
import { isSameOrigin } from './cors';
import type { RequestInfo } from './http-util';
import { metricsPlugin } from './metrics';

/** Logs what was masked as INTERNAL (with its cause) and puts the request id in the answer. */
const errorLoggingPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ contextValue, errors }) {
        for (const error of errors) {
          if (!isUnexpected(error)) continue;
          contextValue.services.logger.error(
            { requestId: contextValue.requestId, err: error.originalError ?? error, path: error.path?.join('.') },
            'unexpected error, answered as INTERNAL',
          );
        }
      },
      async willSendResponse({ contextValue, response }) {
        if (response.body.kind !== 'single') return;
        for (const error of response.body.singleResult.errors ?? []) {
          if (error.extensions?.code === 'INTERNAL') (error.extensions as Record<string, unknown>).requestId = contextValue.requestId;
        }
      },
    };
  },
};

/**
 * Decides the caller once the operation is known (SPEC §1): clients attach their key and their
 * bearer token to every request, and which one acts depends on the operation (a key for
 * `login`, `refresh`…, the token for `me`…). Runs before execution, so the shield sees it.
 */
const authenticationPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ contextValue, operation, document, request }) {
        if (!operation) return;
        const fragments: Record<string, FragmentDefinitionNode> = {};
        for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
        const headers = request.http?.headers;
        const credentials = { apiKey: headers?.get('x-api-key'), authorization: headers?.get('authorization') };
        contextValue.caller = await authenticate(credentials, credentialUse(operation, fragments), contextValue.reader, contextValue.services);
      },
    };
  },
};

/**
 * Apollo's codes for what the GraphQL-over-HTTP spec calls request errors: the document does
 * not parse or validate (our limits included), or the variables do not fit it.
 */
const REQUEST_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

/**
 * GraphQL over HTTP: a request error is answered 200 when the answer is `application/json`
 * (clients of that media type read the body, not the status) and 4xx when it is
 * `application/graphql-response+json` (what Apollo Client 4 asks for first). Apollo answers
 * 400 to both; this notes that the errors were of that kind, and the handler, which sees the
 * media type Apollo chose, answers 200 for application/json.
 */
const requestErrorPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ contextValue, errors, response }) {
        if (response.http.status !== 400 || !errors?.length) return;
        contextValue.reply.requestError = errors.every((error) => REQUEST_ERROR_CODES.has(String(error.extensions.code)));
      },
    };
  },
};

/** The gateway's own pages (the playground) behind a proxy that rewrites Host are still same-origin. */
function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

export async function createGraphQLHandler(schema: GraphQLSchema, services: Services) {
  const { introspection } = services.config;
  const apollo = new ApolloServer<RequestContext>({
    schema,
    documentStore: new DocumentStore(),
    // With introspection off, no "Did you mean …?" either: suggestions spell out the schema.
    formatError: createFormatError({ hideSuggestions: !introspection }),
    includeStacktraceInErrorResponses: false,
    introspection,
    // The parser stops after this many tokens (graphql-js counts them as it reads).
    parseOptions: { maxTokens: LIMITS.maxTokens },
    // Our limits refuse a costly document before graphql's own rules run (see queryLimitsRule).
    validationRules: LIMIT_RULES,
    // graphql's own switch: validation does not even compute suggestions. (Apollo's
    // hideSchemaDetailsFromClientErrors only edits validation messages afterwards; coercion
    // messages are handled in createFormatError.)
    validationOptions: { hideSuggestions: !introspection },
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // No cache hints in this schema: Apollo's default cache-control plugin would only wrap every
    // resolved field to compute a policy that is always "uncacheable" (see `handle` for the header).
    // Inline tracing is for federated subgraphs, which this is not; without its Disabled twin
    // Apollo loads it anyway, and with it the usage-reporting protobuf (~0.5 MB of source and
    // its compiled code, held for the life of the process).
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), ApolloServerPluginInlineTraceDisabled(), authenticationPlugin, errorLoggingPlugin, metricsPlugin, nulPlugin, requestErrorPlugin],
    logger: {
      debug: () => {},
      info: () => {},
      warn: (msg) => services.logger.warn({ source: 'apollo' }, String(msg)),
      error: (msg) => services.logger.error({ source: 'apollo' }, String(msg)),
    },
  });
  await apollo.start();

  async function handle(req: IncomingMessage, res: ServerResponse, info: RequestInfo, body: unknown): Promise<void> {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const reply = { requestError: false };
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method!.toUpperCase(), headers, search: info.search, body },
      context: async () =>
        requestContext({
          requestId: info.requestId,
          ip: info.ip,
          origin: info.origin,
          crossOrigin: info.origin !== null && !isSameOrigin(info.origin, req.headers.host) && info.origin !== originOf(services.config.publicUrl),
          userAgent: req.headers['user-agent'] ?? null,
          // Decided by authenticationPlugin once the operation is known.
          caller: { kind: 'none' },
          services,
          revealedUserIds: new Set<string>(),
          participantUserIds: new Set<string>(),
          reply,
        }, new RequestStorage(services.orm.em)),
    });
    res.statusCode = result.status ?? 200;
    if (res.statusCode === 400 && reply.requestError && result.headers.get('content-type')?.startsWith('application/json')) res.statusCode = 200;
    // Answers carry tokens and personal data: never stored by a browser or a proxy.
    res.setHeader('cache-control', 'no-store');
    for (const [key, value] of result.headers) res.setHeader(key, value);
    if (result.body.kind === 'complete') {
      res.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  return { handle, stop: () => apollo.stop() };
}
