import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache, type TypedDocumentNode } from '@apollo/client';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { from, switchMap, throwError } from 'rxjs';

/** Where the app keeps the signed-in user's tokens (memory here; your app may persist them). */
export interface TokenStore {
  get(): { accessToken: string; refreshToken: string } | null;
  set(tokens: { accessToken: string; refreshToken: string } | null): void;
}

export function memoryTokenStore(): TokenStore {
  let tokens: { accessToken: string; refreshToken: string } | null = null;
  return { get: () => tokens, set: (next) => void (tokens = next) };
}

const REFRESH: TypedDocumentNode<{ refresh: { accessToken: string; refreshToken: string } }, { refreshToken: string }> = gql`
  mutation RefreshSession($refreshToken: String!) {
    refresh(refreshToken: $refreshToken) {
      accessToken
      refreshToken
    }
  }
`;

/**
 * Apollo Client 4 for a Gatehouse app: the publishable key on every request, the bearer token
 * once signed in, and one automatic refresh-and-retry when a request that carried a bearer is
 * refused as UNAUTHENTICATED because the access token expired.
 */
export function createGatehouseClient(options: { uri: string; publishableKey: string; tokens: TokenStore }): ApolloClient {
  const { uri, publishableKey, tokens } = options;

  // The refresh itself goes with the key only: an expired bearer must not ride along.
  const auth = new SetContextLink((context) => {
    const current = tokens.get();
    const headers: Record<string, string> = { ...context.headers, 'x-api-key': publishableKey };
    delete headers.authorization;
    if (current && !context.withoutBearer) headers.authorization = `Bearer ${current.accessToken}`;
    return { headers };
  });

  // Concurrent requests failing together share one refresh (a refresh token works once).
  let refreshing: Promise<boolean> | null = null;
  const refresh = (): Promise<boolean> => {
    const current = tokens.get();
    if (!current) return Promise.resolve(false);
    refreshing ??= client
      .mutate({ mutation: REFRESH, variables: { refreshToken: current.refreshToken }, context: { withoutBearer: true } })
      .then(({ data }) => {
        tokens.set(data ? { accessToken: data.refresh.accessToken, refreshToken: data.refresh.refreshToken } : null);
        return Boolean(data);
      })
      .catch(() => {
        tokens.set(null); // refresh token expired, revoked or reused: sign in again
        return false;
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  };

  const retryOnExpiry = new ErrorLink(({ error, operation, forward }) => {
    const context = operation.getContext();
    if (!CombinedGraphQLErrors.is(error) || !context.headers?.authorization || context.refreshed) return;
    // `reason` (missing_credentials, token_expired, session_ended, …) says whether a refresh can
    // help; from a server that sends none, any UNAUTHENTICATED of a bearer request is worth one try.
    const expired = error.errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED' && (e.extensions.reason ?? 'token_expired') === 'token_expired');
    if (!expired) return;
    operation.setContext({ refreshed: true });
    return from(refresh()).pipe(switchMap((renewed) => (renewed ? forward(operation) : throwError(() => error))));
  });

  const client: ApolloClient = new ApolloClient({
    link: ApolloLink.from([retryOnExpiry, auth, new HttpLink({ uri })]),
    cache: new InMemoryCache(),
  });
  return client;
}
