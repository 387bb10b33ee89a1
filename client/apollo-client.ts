import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache, type TypedDocumentNode } from '@apollo/client';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { from, switchMap, throwError } from 'rxjs';

/** Where the app keeps the signed-in user's tokens (memory here; your app may persist them). */
export interface Tokens {
  accessToken: string;
  /** null for a participant session (client-side autologin), which cannot be refreshed. */
  refreshToken: string | null;
}

export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
}

export function memoryTokenStore(): TokenStore {
  let tokens: Tokens | null = null;
  return { get: () => tokens, set: (next) => void (tokens = next) };
}

const REFRESH: TypedDocumentNode<{ refresh: { accessToken: string; refreshToken: string | null } }, { refreshToken: string }> = gql`
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

  // The refresh goes with the key alone. The gateway would take it with the expired bearer
  // beside it too (key operations act with the key); leaving it off is just tidier.
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
    const refreshToken = tokens.get()?.refreshToken;
    if (!refreshToken) return Promise.resolve(false);
    refreshing ??= client
      .mutate({ mutation: REFRESH, variables: { refreshToken }, context: { withoutBearer: true } })
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
    // `extensions.reason` says what can help: token_expired → one refresh and a retry;
    // session_ended or invalid_token (logged out, revoked, suspended) → sign in again.
    const reasons = error.errors.filter((e) => e.extensions?.code === 'UNAUTHENTICATED').map((e) => e.extensions?.reason);
    if (reasons.some((r) => r === 'session_ended' || r === 'invalid_token')) tokens.set(null);
    if (!reasons.includes('token_expired')) return;
    operation.setContext({ refreshed: true });
    return from(refresh()).pipe(switchMap((renewed) => (renewed ? forward(operation) : throwError(() => error))));
  });

  const client: ApolloClient = new ApolloClient({
    link: ApolloLink.from([retryOnExpiry, auth, new HttpLink({ uri })]),
    cache: new InMemoryCache(),
  });
  return client;
}
