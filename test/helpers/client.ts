import { ApolloClient, HttpLink, InMemoryCache, type DocumentNode } from '@apollo/client';
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';

export interface GqlError {
  message: string;
  extensions?: Record<string, unknown> & { code?: string };
  path?: readonly (string | number)[];
}

export interface GqlResult<T = Record<string, any>> {
  data: T | null | undefined;
  errors: GqlError[];
  /** The first error's code, for table-driven assertions. */
  code: string | undefined;
}

/** Apollo Client (4) as a frontend or partner would use it, against the real server. */
export function apolloClient(url: string, headers: Record<string, string> = {}, link: Omit<HttpLink.Options, 'uri' | 'headers'> = {}) {
  return new ApolloClient({
    link: new HttpLink({ uri: `${url}/graphql`, headers, fetch, ...link }),
    cache: new InMemoryCache(),
    defaultOptions: {
      query: { fetchPolicy: 'no-cache' },
      mutate: { fetchPolicy: 'no-cache' },
    },
  });
}

export type Client = ReturnType<typeof apolloClient>;

function isMutation(document: DocumentNode): boolean {
  return document.definitions.some((d) => d.kind === 'OperationDefinition' && d.operation === 'mutation');
}

/**
 * Runs one operation and returns data and errors side by side. Apollo Client 4 reports GraphQL
 * errors as a CombinedGraphQLErrors (also for a 4xx answer in application/graphql-response+json,
 * which it asks for) and other non-2xx answers as a ServerError holding the body.
 */
export async function run<T = Record<string, any>>(client: Client, document: DocumentNode, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
  let data: unknown;
  let error: unknown;
  try {
    const result = isMutation(document)
      ? await client.mutate({ mutation: document, variables, errorPolicy: 'all' })
      : await client.query({ query: document, variables, errorPolicy: 'all' });
    data = result.data;
    error = result.error;
  } catch (thrown) {
    error = thrown;
  }
  if (!error) return { data: withoutTypename(data) as T, errors: [], code: undefined };
  const errors = errorsOf(error);
  if (!errors.length) throw error;
  return { data: (withoutTypename(data) ?? null) as T | null, errors, code: errors[0]?.extensions?.code };
}

function errorsOf(error: unknown): GqlError[] {
  if (CombinedGraphQLErrors.is(error)) return [...error.errors] as GqlError[];
  if (ServerError.is(error)) {
    try {
      return (JSON.parse(error.bodyText) as { errors?: GqlError[] }).errors ?? [];
    } catch {
      return [];
    }
  }
  return [];
}

/** Apollo Client adds __typename to every selection; tests compare plain shapes. */
function withoutTypename(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTypename);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '__typename').map(([key, v]) => [key, withoutTypename(v)]));
  }
  return value;
}

/** Plain HTTP POST for what Apollo Client cannot send (bad JSON, huge bodies, odd headers). */
export async function postRaw(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON; the caller checks status and text
  }
  return { status: response.status, text, json };
}
