import { badInput } from '../errors';

/**
 * The per-app setting `socialProviders` (SPEC §4.9): which identity providers an app's
 * customers may sign in with. Validated here like every other setting (unknown keys refused by
 * name); `clientSecret` is never stored in clear: AppService seals it (identity/social/
 * secret-box.ts) before the settings are validated and written, so what this module sees in a
 * stored row is the sealed form.
 */
export const SOCIAL_PROVIDER_KINDS = ['OIDC', 'FACEBOOK'] as const;
export type SocialProviderKind = (typeof SOCIAL_PROVIDER_KINDS)[number];

/** A sealed secret as stored: `sealed:v1:<iv>.<ciphertext>.<tag>` (AES-256-GCM, base64url parts). */
export const SEALED_PREFIX = 'sealed:v1:';

export interface SocialProviderSettings {
  /** The name clients use (`provider: "google"`); also the last segment of the callback path. */
  id: string;
  kind: SocialProviderKind;
  /** The `iss` of its ID tokens (OIDC); for FACEBOOK the namespace of its user ids. */
  issuer: string;
  /** Accepted audiences: the OAuth client ids (web, iOS, Android…) of this brand at the provider. */
  clientIds: string[];
  jwksUri: string | null;
  discoveryUrl: string | null;
  /** Sealed (see SEALED_PREFIX); null when the provider needs none (ID-token-only sign-in). */
  clientSecret: string | null;
  requireNonce: boolean;
  /** Whether an email the provider says is verified may link to or create a verified account. */
  trustEmail: boolean;
  /**
   * The claim that says the email is verified. `email_verified` by default; Microsoft's
   * `email_verified` is absent and its `email` is mutable, so for issuers on
   * login.microsoftonline.com it defaults to `xms_edov` (the email's domain is verified by its owner).
   */
  emailVerifiedClaim: string;
  allowSignUp: boolean;
  /** The brand's pages the web redirect flow may end on (matched exactly). */
  redirectUris: string[];
  /** FACEBOOK: the Graph API base (a stub in tests). */
  graphApiUrl: string | null;
  /** Scopes of the web redirect flow. */
  scopes: string[];
}

const ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const CLAIM = /^[A-Za-z0-9_.:-]{1,64}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
const KNOWN = new Set<keyof SocialProviderSettings>([
  'id', 'kind', 'issuer', 'clientIds', 'jwksUri', 'discoveryUrl', 'clientSecret', 'requireNonce',
  'trustEmail', 'emailVerifiedClaim', 'allowSignUp', 'redirectUris', 'graphApiUrl', 'scopes',
]);
export const FACEBOOK_ISSUER = 'https://www.facebook.com';
export const FACEBOOK_GRAPH_API = 'https://graph.facebook.com/v19.0';
const MAX_PROVIDERS = 20;

/** The default `emailVerifiedClaim` of an issuer: `xms_edov` for Microsoft's, else `email_verified`. */
export function defaultEmailVerifiedClaim(issuer: string): string {
  try {
    return new URL(issuer).hostname === 'login.microsoftonline.com' ? 'xms_edov' : 'email_verified';
  } catch {
    return 'email_verified';
  }
}

/** The CHECKS entry of app-settings.ts for `socialProviders`. */
export function checkSocialProviders(value: unknown, key: string): SocialProviderSettings[] {
  if (!Array.isArray(value)) throw badInput(`settings.${key}`, `${key} must be a list of providers`);
  if (value.length > MAX_PROVIDERS) throw badInput(`settings.${key}`, `${key} holds at most ${MAX_PROVIDERS} providers`);
  const seen = new Set<string>();
  return value.map((entry, index) => {
    const provider = checkProvider(entry, `settings.${key}.${index}`);
    if (seen.has(provider.id)) throw badInput(`settings.${key}.${index}.id`, `provider id "${provider.id}" appears twice`);
    seen.add(provider.id);
    return provider;
  });
}

function checkProvider(entry: unknown, path: string): SocialProviderSettings {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw badInput(path, 'each provider must be an object');
  const raw = entry as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (!KNOWN.has(name as keyof SocialProviderSettings)) {
      throw badInput(`${path}.${name}`, `unknown provider setting "${name}"; known: ${[...KNOWN].join(', ')}`);
    }
  }
  if (typeof raw.id !== 'string' || !ID.test(raw.id)) throw badInput(`${path}.id`, 'id must be 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit');
  if (!SOCIAL_PROVIDER_KINDS.includes(raw.kind as SocialProviderKind)) throw badInput(`${path}.kind`, `kind must be ${SOCIAL_PROVIDER_KINDS.join(' or ')}`);
  const kind = raw.kind as SocialProviderKind;
  const facebook = kind === 'FACEBOOK';
  const issuer = raw.issuer === undefined && facebook ? FACEBOOK_ISSUER : httpUrl(raw.issuer, `${path}.issuer`);
  // The identity table keys on it (user_identity.issuer is 255 characters).
  if (issuer.length > 255) throw badInput(`${path}.issuer`, 'issuer must be at most 255 characters');
  if (!Array.isArray(raw.clientIds) || raw.clientIds.length === 0 || raw.clientIds.length > 20) {
    throw badInput(`${path}.clientIds`, 'clientIds must list 1 to 20 client ids');
  }
  const clientIds = raw.clientIds.map((id, i) => {
    if (typeof id !== 'string' || id.trim() === '' || id.length > 255) throw badInput(`${path}.clientIds.${i}`, 'a client id is 1 to 255 characters');
    return id.trim();
  });
  const clientSecret = raw.clientSecret ?? null;
  if (clientSecret !== null && (typeof clientSecret !== 'string' || !clientSecret.startsWith(SEALED_PREFIX))) {
    // Only reachable by code that bypasses AppService (which seals every secret it is given).
    throw badInput(`${path}.clientSecret`, 'clientSecret must be set through gatehouse app update (it is stored sealed)');
  }
  if (facebook && clientSecret === null) throw badInput(`${path}.clientSecret`, 'a FACEBOOK provider needs its app secret as clientSecret');
  const redirectUris = raw.redirectUris === undefined ? [] : list(raw.redirectUris, `${path}.redirectUris`).map((u, i) => exactUrl(u, `${path}.redirectUris.${i}`));
  const scopes = raw.scopes === undefined ? ['openid', 'email', 'profile'] : list(raw.scopes, `${path}.scopes`).map((s, i) => {
    if (typeof s !== 'string' || !SCOPE.test(s)) throw badInput(`${path}.scopes.${i}`, 'a scope is 1 to 64 printable characters without spaces or quotes');
    return s;
  });
  if (!facebook && !scopes.includes('openid')) throw badInput(`${path}.scopes`, 'scopes of an OIDC provider must include openid');
  const emailVerifiedClaim = raw.emailVerifiedClaim === undefined ? defaultEmailVerifiedClaim(issuer) : raw.emailVerifiedClaim;
  if (typeof emailVerifiedClaim !== 'string' || !CLAIM.test(emailVerifiedClaim)) {
    throw badInput(`${path}.emailVerifiedClaim`, 'emailVerifiedClaim must be a claim name such as email_verified or xms_edov');
  }
  return {
    id: raw.id,
    kind,
    issuer,
    clientIds: [...new Set(clientIds)],
    jwksUri: optionalUrl(raw.jwksUri, `${path}.jwksUri`),
    discoveryUrl: optionalUrl(raw.discoveryUrl, `${path}.discoveryUrl`),
    clientSecret,
    requireNonce: bool(raw.requireNonce, !facebook, `${path}.requireNonce`),
    trustEmail: bool(raw.trustEmail, !facebook, `${path}.trustEmail`),
    emailVerifiedClaim,
    allowSignUp: bool(raw.allowSignUp, true, `${path}.allowSignUp`),
    redirectUris: [...new Set(redirectUris)],
    graphApiUrl: facebook ? (optionalUrl(raw.graphApiUrl, `${path}.graphApiUrl`) ?? FACEBOOK_GRAPH_API).replace(/\/+$/, '') : optionalUrl(raw.graphApiUrl, `${path}.graphApiUrl`),
    scopes,
  };
}

/** The settings as they may be shown (CLI output): sealed secrets replaced by a marker. */
export function withoutSecrets<T extends { socialProviders: SocialProviderSettings[] }>(settings: T): T {
  return { ...settings, socialProviders: settings.socialProviders.map((p) => ({ ...p, clientSecret: p.clientSecret ? '[set]' : null })) };
}

function list(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value) || value.length > 20) throw badInput(path, 'must be a list of at most 20 entries');
  return value;
}

function bool(value: unknown, fallback: boolean, path: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw badInput(path, 'must be true or false');
  return value;
}

function optionalUrl(value: unknown, path: string): string | null {
  return value === undefined || value === null ? null : httpUrl(value, path);
}

function httpUrl(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length > 1024) throw badInput(path, 'must be an http(s) URL');
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw badInput(path, 'must be an http(s) URL');
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopback(parsed.hostname))) {
    throw badInput(path, 'must be an https URL (http only on a loopback address, for tests)');
  }
  return value;
}

/** A redirect URI as given (matched exactly later): absolute, no fragment. */
function exactUrl(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length > 1024) throw badInput(path, 'must be an absolute URL');
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw badInput(path, 'must be an absolute URL');
  }
  if (parsed.hash) throw badInput(path, 'must not contain a fragment');
  if (parsed.protocol === 'http:' && !isLoopback(parsed.hostname)) throw badInput(path, 'must be https (http only on a loopback address)');
  if (/^(javascript|data|file|vbscript):$/i.test(parsed.protocol)) throw badInput(path, `must not use the ${parsed.protocol} scheme`);
  return value;
}

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}
