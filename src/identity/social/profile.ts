/**
 * What a provider told us about a customer, once its token checked out — the same shape for
 * an OIDC ID token and a Facebook access token. `emailVerified` is the provider's word (its
 * `emailVerifiedClaim`); whether we believe it is the provider's `trustEmail` setting.
 */
export interface ProviderProfile {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  phoneNumber: string | null;
  givenName: string | null;
  familyName: string | null;
  /** The token's `nonce` claim (OIDC). */
  nonce: string | null;
  /** Identifies the token for the replay record (SocialTokenUse). */
  replayKey: string;
  /** Until when the replay record is kept. */
  expiresAt: Date;
}
