import { CLIENT_AUTH_METHODS } from './clients';
import { GRANT_TYPES } from './token';

/**
 * Server metadata (RFC 8414 at /.well-known/oauth-authorization-server, OpenID Connect
 * Discovery at /.well-known/openid-configuration): one document, so the two never disagree,
 * listing every endpoint that exists and only those.
 *
 * There is no authorization endpoint (no browser redirect flows: no code, no implicit), so
 * `authorization_endpoint` is absent and `response_types_supported` is empty — RFC 8414 makes
 * the former optional when no grant uses it; OIDC Discovery would want both, which no
 * redirect-less provider can honestly give. openid-client 6 needs neither for the password and
 * refresh grants, userinfo, revocation and introspection (test/oauth.test.ts).
 */
export function serverMetadata(issuer: string) {
  return {
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    introspection_endpoint: `${issuer}/oauth/introspect`,
    // Introspection describes sessions: confidential clients (a secret key) only.
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    grant_types_supported: [...GRANT_TYPES],
    response_types_supported: [] as string[],
    scopes_supported: ['openid', 'profile', 'email', 'phone'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'email', 'email_verified', 'phone_number', 'phone_number_verified', 'given_name', 'family_name', 'name'],
    graphql_endpoint: `${issuer}/graphql`,
  };
}
