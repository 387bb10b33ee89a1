import { ApolloClient, HttpLink, InMemoryCache, type DocumentNode } from '@apollo/client/core';

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

/** Apollo Client as a frontend or partner would use it, against the real server. */
export function apolloClient(url: string, headers: Record<string, string> = {}) {
  return new ApolloClient({
    link: new HttpLink({ uri: `${url}/graphql`, headers, fetch }),
    cache: new InMemoryCache(),
    defaultOptions: {
      query: { fetchPolicy: 'no-cache', errorPolicy: 'all' },
      mutate: { fetchPolicy: 'no-cache', errorPolicy: 'all' },
    },
  });
}

export type Client = ReturnType<typeof apolloClient>;

function isMutation(document: DocumentNode): boolean {
  return document.definitions.some((d) => d.kind === 'OperationDefinition' && d.operation === 'mutation');
}

/**
 * Runs one operation and returns data and errors side by side, whether the server answered
 * 200 with errors or a 4xx (which Apollo Client reports as a network error).
 */
export async function run<T = Record<string, any>>(client: Client, document: DocumentNode, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
  try {
    const result = isMutation(document)
      ? await client.mutate({ mutation: document, variables })
      : await client.query({ query: document, variables });
    const errors = ((result as { errors?: GqlError[] }).errors ?? []) as GqlError[];
    return { data: withoutTypename(result.data) as T, errors, code: errors[0]?.extensions?.code };
  } catch (error) {
    const networkError = (error as { networkError?: { result?: { errors?: GqlError[] } } }).networkError;
    const graphQLErrors = (error as { graphQLErrors?: GqlError[] }).graphQLErrors ?? [];
    const errors = networkError?.result?.errors ?? graphQLErrors;
    if (!errors.length) throw error;
    return { data: null, errors, code: errors[0]?.extensions?.code };
  }
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
