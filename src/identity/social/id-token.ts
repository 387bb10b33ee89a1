import type { EntityManager } from '@mikro-orm/core';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { SocialProviderSettings } from '../../config/social-providers';
import { AppError } from '../../errors';
import type { Clock } from '../clock';
import { sha256 } from '../secrets';
import type { ProviderProfile } from './profile';

/** Asymmetric signatures only: an HMAC (`HS256`) key would be the client id or secret, `none` is no signature. */
export const ID_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** SPEC §4.9: `exp` / `iat` with at most 60 s of skew. */
export const CLOCK_TOLERANCE_SECONDS = 60;
/** A sign-in token is fresh: one issued more than an hour ago is refused whatever its `exp`. */
export const MAX_TOKEN_AGE_SECONDS = 3600;
/** An unknown `kid` refetches the provider's keys, at most this often per provider (an attacker's random kids cost nothing more). */
export const JWKS_REFETCH_COOLDOWN_MS = 5_000;
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
const MAX_TOKEN_LENGTH = 16 * 1024;

interface RemoteKeys {
  keys: ReturnType<typeof createRemoteJWKSet>;
  reloadedAt: number;
}

/**
 * Verifies a provider's ID token (SPEC §4.9) against the provider's published keys with jose:
 * signature with an asymmetric algorithm, `iss`, `aud` among the provider's `clientIds` (and
 * `azp` when there are several audiences), `exp` / `iat` within 60 s of skew and at most an
 * hour old. Key sets are cached per issuer and JWKS URI; a `kid` the cache does not know
 * refetches them (a provider rotated its keys), at most once per JWKS_REFETCH_COOLDOWN_MS on
 * the injected clock. A refusal is INVALID_ID_TOKEN naming the check that failed.
 */
export class IdTokenVerifier {
  private readonly keySets = new Map<string, RemoteKeys>();

  constructor(
    private readonly clock: Clock,
    /** The provider's JWKS URI: its `jwksUri` setting, else from its discovery document. */
    private readonly jwksUriOf: (em: EntityManager, provider: SocialProviderSettings) => Promise<string>,
  ) {}

  async verify(em: EntityManager, provider: SocialProviderSettings, idToken: string): Promise<ProviderProfile> {
    if (typeof idToken !== 'string' || idToken.length === 0 || idToken.length > MAX_TOKEN_LENGTH) {
      throw invalid('the ID token is missing or longer than 16 KB');
    }
    const getKey = await this.keysFor(em, provider);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, getKey, {
        issuer: provider.issuer,
        audience: provider.clientIds,
        algorithms: ID_TOKEN_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: MAX_TOKEN_AGE_SECONDS,
        currentDate: this.clock.now(),
        requiredClaims: ['sub', 'iat', 'exp'],
      }));
    } catch (error) {
      throw refusal(error);
    }
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && !provider.clientIds.includes(String(payload.azp))) {
      throw invalid('the ID token has several audiences and its azp is not one of this provider\'s clientIds');
    }
    return profileOf(provider, payload);
  }

  private async keysFor(em: EntityManager, provider: SocialProviderSettings): Promise<JWTVerifyGetKey> {
    const uri = await this.jwksUriOf(em, provider);
    const cacheKey = `${provider.issuer}\n${uri}`;
    let entry = this.keySets.get(cacheKey);
    if (!entry) {
      // jose's own refetch-on-unknown-kid is off (cooldown Infinity): ours below runs on the injected clock.
      entry = { keys: createRemoteJWKSet(new URL(uri), { cooldownDuration: Infinity, cacheMaxAge: JWKS_CACHE_MAX_AGE_MS, timeoutDuration: 5_000 }), reloadedAt: this.clock.now().getTime() };
      this.keySets.set(cacheKey, entry);
    }
    const remote = entry;
    return async (header, token) => {
      try {
        return await remote.keys(header, token);
      } catch (error) {
        const now = this.clock.now().getTime();
        if (!(error instanceof errors.JWKSNoMatchingKey) || now - remote.reloadedAt < JWKS_REFETCH_COOLDOWN_MS) throw error;
        remote.reloadedAt = now;
        await remote.keys.reload();
        return remote.keys(header, token);
      }
    };
  }
}

/** The claims we use, read the same way for every OIDC provider. */
function profileOf(provider: SocialProviderSettings, payload: JWTPayload): ProviderProfile {
  const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
  // Apple sends "true" / "false" as strings; Microsoft's xms_edov may be a boolean or 1.
  const truthy = (value: unknown) => value === true || value === 'true' || value === 1;
  const subject = text(payload.sub);
  if (!subject || subject.length > 255) throw invalid('the ID token has no usable sub claim');
  const { jti, iat, nonce } = payload as JWTPayload & { nonce?: unknown };
  return {
    subject,
    email: text(payload.email),
    emailVerified: truthy(payload[provider.emailVerifiedClaim]),
    phoneNumber: text(payload.phone_number),
    givenName: text(payload.given_name),
    familyName: text(payload.family_name),
    nonce: typeof nonce === 'string' ? nonce : null,
    // What makes this token one token: the same claims re-signed are a replay too.
    replayKey: sha256(JSON.stringify(['id_token', provider.issuer, subject, jti ?? null, jti ? null : iat, jti ? null : (nonce ?? null)])),
    expiresAt: new Date(((payload.exp as number) + CLOCK_TOLERANCE_SECONDS) * 1000),
  };
}

/** INVALID_ID_TOKEN whose message says which check failed. */
export function invalid(message: string): AppError {
  return new AppError('INVALID_ID_TOKEN', `The provider token was refused: ${message}`);
}

/** jose's error, as the check a person can act on. Anything else (the keys could not be fetched) is not the token's fault. */
function refusal(error: unknown): Error {
  // jose reports maxTokenAge as a JWTExpired on `iat`.
  if (error instanceof errors.JWTExpired) return invalid(error.claim === 'iat' ? 'the ID token was issued too long ago (iat)' : 'the ID token has expired (exp)');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'iss':
        return invalid('the ID token was issued by another issuer (iss)');
      case 'aud':
        return invalid('the ID token was issued to another client (aud is not one of this provider\'s clientIds)');
      case 'iat':
        return invalid(error.reason === 'check_failed' ? 'the ID token was issued too long ago (iat)' : 'the ID token has a bad iat claim');
      case 'nbf':
        return invalid('the ID token is not valid yet (nbf)');
      default:
        return invalid(`the ID token's ${error.claim} claim is missing or wrong`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid('the ID token is signed with an algorithm that is not allowed (asymmetric algorithms only)');
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return invalid('the ID token is signed with a key the provider does not publish (kid)');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('the ID token signature does not verify');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) {
    return invalid('the ID token is not a well-formed signed JWT');
  }
  return error instanceof Error ? error : new Error(String(error));
}
