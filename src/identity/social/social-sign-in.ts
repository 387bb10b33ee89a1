import type { EntityManager } from '@mikro-orm/core';
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import type { SocialProviderSettings } from '../../config/social-providers';
import type { User } from '../../db/entities';
import { consumeChallenge, identitiesOf, insertChallenge, recordTokenUse, sweepExpired } from '../../db/social';
import { AppError, badInput } from '../../errors';
import { LOGIN_TICKET_TTL_SECONDS } from '../autologin';
import type { Clock } from '../clock';
import { newId, randomSecret, safeEqual, sha256 } from '../secrets';
import type { AuthResult, SessionService, SignInMeta } from '../sessions';
import type { SingleUseTokens } from '../single-use-tokens';
import type { Tenant } from '../users';
import type { NewAccountData, SocialAccounts } from './accounts';
import type { FacebookVerifier } from './facebook';
import { invalid, type IdTokenVerifier } from './id-token';
import type { OidcClients } from './oidc-clients';
import type { ProviderProfile } from './profile';
import type { SecretBox } from './secret-box';

/** SPEC §4.9: a nonce from socialNonce is single use for 10 minutes; so is a web redirect's state. */
export const SOCIAL_NONCE_TTL_SECONDS = 600;
const SWEEP_EVERY_MS = 60_000;
const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export interface IdTokenSignIn extends NewAccountData {
  provider: string;
  idToken: string;
  nonce?: string | null;
  scope?: string | null;
}

export interface AccessTokenSignIn extends NewAccountData {
  provider: string;
  accessToken: string;
  scope?: string | null;
}

export interface LinkData {
  provider: string;
  idToken?: string | null;
  accessToken?: string | null;
  nonce?: string | null;
}

export interface SocialIdentityView {
  provider: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  linkedAt: Date;
}

/** Where the browser goes after the provider: the brand's page with a login ticket, or with an error. */
export type CallbackOutcome = { redirectTo: string } | { failure: string };

/**
 * Social sign-in (SPEC §4.9): nonces, sign-in with a provider's ID token (native apps, SPAs)
 * or Facebook access token, the web redirect flow (authorization code + PKCE, state and nonce
 * held here, ending in a login ticket), linking and unlinking. Each token is verified, then
 * recorded as used (a token signs in once), then its nonce consumed; only then does the
 * linking order (accounts.ts) pick the account.
 */
export class SocialSignInService {
  private lastSweep = 0;

  constructor(
    private readonly clock: Clock,
    private readonly verifier: IdTokenVerifier,
    private readonly facebook: FacebookVerifier,
    private readonly clients: OidcClients,
    private readonly secretBox: SecretBox,
    private readonly accounts: SocialAccounts,
    private readonly sessions: SessionService,
    private readonly tickets: SingleUseTokens,
    private readonly publicUrl: () => string,
  ) {}

  /** `socialNonce`: a single-use nonce for the app to hand to the provider's SDK (raw or as its SHA-256). */
  async nonce(em: EntityManager, tenant: Tenant, providerId: string): Promise<{ nonce: string; expiresAt: Date }> {
    const provider = requireProvider(tenant, providerId);
    const now = this.clock.now();
    await this.sweep(em, now);
    const nonce = randomSecret(32);
    const expiresAt = new Date(now.getTime() + SOCIAL_NONCE_TTL_SECONDS * 1000);
    await insertChallenge(em, { id: newId(), appId: tenant.app.id, provider: provider.id, kind: 'nonce', keyHash: sha256(nonce), data: {}, createdAt: now, expiresAt });
    return { nonce, expiresAt };
  }

  async signInWithIdToken(em: EntityManager, tenant: Tenant, input: IdTokenSignIn, meta: SignInMeta): Promise<AuthResult> {
    const provider = requireProvider(tenant, input.provider, 'OIDC');
    const profile = await this.acceptIdToken(em, tenant, provider, input.idToken, input.nonce);
    return this.accounts.signIn(em, tenant, provider, profile, newAccountData(input), (tx, user) => this.sessions.signIn(tx, tenant, user, { ...meta, scope: input.scope }));
  }

  async signInWithAccessToken(em: EntityManager, tenant: Tenant, input: AccessTokenSignIn, meta: SignInMeta): Promise<AuthResult> {
    const provider = requireProvider(tenant, input.provider, 'FACEBOOK');
    const profile = await this.acceptAccessToken(em, tenant, provider, input.accessToken);
    return this.accounts.signIn(em, tenant, provider, profile, newAccountData(input), (tx, user) => this.sessions.signIn(tx, tenant, user, { ...meta, scope: input.scope }));
  }

  async link(em: EntityManager, tenant: Tenant, userId: string, input: LinkData): Promise<User> {
    const provider = requireProvider(tenant, input.provider);
    let profile: ProviderProfile;
    if (provider.kind === 'FACEBOOK') {
      if (!input.accessToken) throw badInput('accessToken', `${provider.id} links with the accessToken from its SDK`);
      profile = await this.acceptAccessToken(em, tenant, provider, input.accessToken);
    } else {
      if (!input.idToken) throw badInput('idToken', `${provider.id} links with an idToken`);
      profile = await this.acceptIdToken(em, tenant, provider, input.idToken, input.nonce);
    }
    return this.accounts.link(em, tenant, userId, provider, profile);
  }

  async unlink(em: EntityManager, tenant: Tenant, userId: string, providerId: string): Promise<void> {
    await this.accounts.unlink(em, tenant, userId, providerId);
  }

  async identities(em: EntityManager, tenant: Tenant, userId: string): Promise<SocialIdentityView[]> {
    return (await identitiesOf(em, tenant.app.id, userId)).map((i) => ({
      provider: i.provider,
      subject: i.subject,
      email: i.email ?? null,
      emailVerified: i.emailVerified,
      linkedAt: i.linkedAt,
    }));
  }

  /**
   * `startSocialSignIn`: the provider's authorization URL for the web redirect flow. The
   * gateway holds the state, the nonce and the PKCE verifier; the provider returns to
   * `/oauth/callback/:provider`. `codeChallenge` (optional, S256 of a verifier the page keeps)
   * binds the login ticket to that page: exchangeLoginTicket then needs the verifier, so a
   * ticket carried to another browser (an intercepted redirect, a forged callback link) is useless.
   */
  async startRedirect(em: EntityManager, tenant: Tenant, input: { provider: string; redirectUri: string; codeChallenge?: string | null }): Promise<{ authorizationUrl: string; expiresAt: Date }> {
    const provider = requireProvider(tenant, input.provider, 'OIDC');
    if (!provider.redirectUris.includes(input.redirectUri)) {
      throw badInput('redirectUri', `redirectUri must be exactly one of the redirectUris configured for ${provider.id}`);
    }
    if (input.codeChallenge != null && !PKCE_CHALLENGE.test(input.codeChallenge)) {
      throw badInput('codeChallenge', 'codeChallenge must be the base64url SHA-256 (S256) of a code verifier, 43 characters');
    }
    const config = await this.clients.configuration(em, provider);
    const now = this.clock.now();
    await this.sweep(em, now);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const expiresAt = new Date(now.getTime() + SOCIAL_NONCE_TTL_SECONDS * 1000);
    await insertChallenge(em, {
      id: newId(),
      appId: tenant.app.id,
      provider: provider.id,
      kind: 'redirect',
      keyHash: sha256(state),
      data: { nonce, codeVerifier, redirectUri: input.redirectUri, codeChallenge: input.codeChallenge ?? null },
      createdAt: now,
      expiresAt,
    });
    const formPost = config.serverMetadata().response_modes_supported?.includes('form_post') ?? false;
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.callbackUrl(provider),
      scope: provider.scopes.join(' '),
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      // Apple requires form_post when asking for name or email; it also keeps the code out of URLs and logs.
      ...(formPost ? { response_mode: 'form_post' } : {}),
    });
    return { authorizationUrl: url.toString(), expiresAt };
  }

  /**
   * `GET|POST /oauth/callback/:provider`: the provider's answer. The state must be one we
   * issued for this provider and unused; the code is redeemed with its PKCE verifier
   * (openid-client checks state, nonce and the token response), the ID token is checked like
   * any other (our JWKS cache, audience, replay), then the linking order runs and the browser
   * goes to the page named at the start with a single-use login ticket `lt`.
   */
  async completeRedirect(em: EntityManager, providerId: string, params: URLSearchParams, method: 'GET' | 'POST', settingsOf: (app: Tenant['app']) => Tenant['settings']): Promise<CallbackOutcome> {
    const state = params.get('state');
    const now = this.clock.now();
    const challenge = state ? await consumeChallenge(em, { keyHash: sha256(state), kind: 'redirect', provider: providerId }, now) : null;
    if (!challenge) return { failure: 'This sign-in has expired or was already completed. Start again from the page you came from.' };
    const tenant: Tenant = { app: challenge.app, settings: settingsOf(challenge.app) };
    const { nonce, codeVerifier, redirectUri, codeChallenge } = challenge.data as { nonce: string; codeVerifier: string; redirectUri: string; codeChallenge: string | null };
    const back = (query: Record<string, string>) => {
      const url = new URL(redirectUri);
      for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
      return { redirectTo: url.toString() };
    };
    const provider = tenant.settings.socialProviders.find((p) => p.id === providerId && p.kind === 'OIDC');
    if (!provider || !provider.redirectUris.includes(redirectUri)) {
      return back({ error: 'METHOD_DISABLED', error_description: `${providerId} is not configured for this app` });
    }
    if (params.get('error')) {
      return back({ error: 'access_denied', error_description: `${provider.id} did not sign the customer in (${params.get('error')!.slice(0, 64)})` });
    }
    try {
      const config = await this.clients.configuration(em, provider);
      const current = new URL(this.callbackUrl(provider));
      const response =
        method === 'POST'
          ? new Request(current, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: params.toString() })
          : Object.assign(current, { search: params.toString() });
      let idToken: string | undefined;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, response, { pkceCodeVerifier: codeVerifier, expectedState: state!, expectedNonce: nonce, idTokenExpected: true });
        idToken = tokens.id_token;
      } catch (error) {
        throw invalid(`${provider.id} refused the authorization code or its answer did not check out (${error instanceof Error ? error.message.slice(0, 120) : 'error'})`);
      }
      const profile = await this.verifier.verify(em, provider, idToken!);
      if (!profile.nonce || !safeEqual(profile.nonce, nonce)) throw invalid('the ID token\'s nonce is not the one this sign-in sent');
      await this.recordUse(em, tenant, profile, 'ID token');
      const extra = appleName(params.get('user'));
      const lt = await this.accounts.signIn(em, tenant, provider, profile, extra, async (tx, user) => {
        const ticket = await this.tickets.issue(tx, 'login_ticket', 'lt_', tenant.app.id, user.id, LOGIN_TICKET_TTL_SECONDS, { registrationRequired: false, codeChallenge });
        return ticket.token;
      });
      return back({ lt });
    } catch (error) {
      if (error instanceof AppError) return back({ error: error.code, error_description: error.message });
      throw error;
    }
  }

  private callbackUrl(provider: SocialProviderSettings): string {
    return `${this.publicUrl()}/oauth/callback/${provider.id}`;
  }

  /** Verifies an ID token, records it as used, consumes its nonce: after this it can never sign in again. */
  private async acceptIdToken(em: EntityManager, tenant: Tenant, provider: SocialProviderSettings, idToken: string, nonce: string | null | undefined): Promise<ProviderProfile> {
    const profile = await this.verifier.verify(em, provider, idToken);
    if (nonce == null || nonce === '') {
      if (provider.requireNonce) throw invalid(`nonce: ${provider.id} requires the nonce from socialNonce that was given to the provider`);
    } else if (!profile.nonce) {
      throw invalid('the ID token carries no nonce; pass the one from socialNonce to the provider');
    } else if (!nonceMatches(profile.nonce, nonce)) {
      throw invalid('the ID token\'s nonce does not match the nonce given');
    }
    await this.recordUse(em, tenant, profile, 'ID token');
    if (nonce) {
      const consumed = await consumeChallenge(em, { keyHash: sha256(nonce), kind: 'nonce', appId: tenant.app.id, provider: provider.id }, this.clock.now());
      if (!consumed) throw invalid('the nonce is unknown, expired or already used; ask socialNonce for a new one');
    }
    return profile;
  }

  private async acceptAccessToken(em: EntityManager, tenant: Tenant, provider: SocialProviderSettings, accessToken: string): Promise<ProviderProfile> {
    const secret = await this.secretBox.open(em, provider.clientSecret!);
    const profile = await this.facebook.verify(provider, accessToken, secret);
    await this.recordUse(em, tenant, profile, 'access token');
    return profile;
  }

  private async recordUse(em: EntityManager, tenant: Tenant, profile: ProviderProfile, what: string): Promise<void> {
    const fresh = await recordTokenUse(em, { keyHash: profile.replayKey, appId: tenant.app.id, expiresAt: profile.expiresAt });
    if (!fresh) throw invalid(`this ${what} was already used to sign in; a token is accepted once`);
  }

  /** Expired replay records and challenges go, at most once a minute per process. */
  private async sweep(em: EntityManager, now: Date): Promise<void> {
    if (now.getTime() - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now.getTime();
    await sweepExpired(em, now);
  }
}

/** The app's provider of that id (and kind): METHOD_DISABLED when the app has none. */
export function requireProvider(tenant: Tenant, id: string, kind?: SocialProviderSettings['kind']): SocialProviderSettings {
  const provider = tenant.settings.socialProviders.find((p) => p.id === id);
  if (!provider) throw new AppError('METHOD_DISABLED', `Sign-in with "${String(id).slice(0, 32)}" is not configured for this app`, { field: 'provider' });
  if (kind && provider.kind !== kind) {
    throw badInput('provider', kind === 'OIDC' ? `${provider.id} is a FACEBOOK provider: use signInWithAccessToken` : `${provider.id} is an OIDC provider: use signInWithIdToken`);
  }
  return provider;
}

/** The nonce claim is the raw nonce, or its SHA-256 (hex, as Apple's samples do, or base64url). */
function nonceMatches(claim: string, nonce: string): boolean {
  const digest = createHash('sha256').update(nonce).digest();
  return safeEqual(claim, nonce) || safeEqual(claim, digest.toString('hex')) || safeEqual(claim, digest.toString('base64url'));
}

function newAccountData(input: NewAccountData): NewAccountData {
  const { firstName, lastName, title, gender, dob, locale, country, optedIn, optInEmail, optInSms, optInPush } = input;
  return Object.fromEntries(
    Object.entries({ firstName, lastName, title, gender, dob, locale, country, optedIn, optInEmail, optInSms, optInPush }).filter(([, v]) => v !== undefined && v !== null),
  ) as NewAccountData;
}

/** Apple's web flow posts the name once, beside the code: `user={"name":{"firstName","lastName"}}`. */
function appleName(raw: string | null): NewAccountData {
  if (!raw || raw.length > 2048) return {};
  try {
    const parsed = JSON.parse(raw) as { name?: { firstName?: unknown; lastName?: unknown } };
    const name = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim().slice(0, 100) : undefined);
    return { firstName: name(parsed.name?.firstName), lastName: name(parsed.name?.lastName) };
  } catch {
    return {};
  }
}
