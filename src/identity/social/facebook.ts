import { createHmac } from 'node:crypto';
import type { SocialProviderSettings } from '../../config/social-providers';
import { sha256 } from '../secrets';
import type { Clock } from '../clock';
import { invalid } from './id-token';
import type { ProviderProfile } from './profile';

const MAX_TOKEN_LENGTH = 4096;
/** A Facebook token that says it never expires is remembered this long in the replay record. */
const NO_EXPIRY_KEEP_MS = 90 * 24 * 3600_000;

interface DebugTokenData {
  app_id?: string;
  is_valid?: boolean;
  user_id?: string;
  expires_at?: number;
}

/**
 * Facebook classic access tokens (SPEC §4.9, signInWithAccessToken): not JWTs, so they are
 * checked with the Graph API. `debug_token` with the app token (`app_id|app_secret`) says
 * whether the token is valid, which app it was issued to (must be one of `clientIds`: a token
 * another app obtained is refused) and whose it is; then `/me` is read with `appsecret_proof`
 * (HMAC-SHA256 of the token under the app secret) and must name the same user.
 */
export class FacebookVerifier {
  constructor(private readonly clock: Clock) {}

  async verify(provider: SocialProviderSettings, accessToken: string, appSecret: string): Promise<ProviderProfile> {
    if (typeof accessToken !== 'string' || accessToken.length === 0 || accessToken.length > MAX_TOKEN_LENGTH) {
      throw invalid('the access token is missing or too long');
    }
    const base = provider.graphApiUrl!;
    const debug = await this.get<{ data?: DebugTokenData }>(`${base}/debug_token?${new URLSearchParams({ input_token: accessToken, access_token: `${provider.clientIds[0]}|${appSecret}` })}`);
    const data = debug?.data;
    if (!data || data.is_valid !== true) throw invalid('the access token is not valid (debug_token: is_valid is false)');
    if (!data.app_id || !provider.clientIds.includes(String(data.app_id))) {
      throw invalid('the access token was issued to another app (debug_token: app_id is not one of this provider\'s clientIds)');
    }
    if (!data.user_id) throw invalid('the access token names no user (debug_token)');
    const nowMs = this.clock.now().getTime();
    if (data.expires_at && data.expires_at * 1000 <= nowMs) throw invalid('the access token has expired (debug_token: expires_at)');
    const proof = createHmac('sha256', appSecret).update(accessToken).digest('hex');
    const me = await this.get<{ id?: string; email?: string; first_name?: string; last_name?: string }>(
      `${base}/me?${new URLSearchParams({ fields: 'id,email,first_name,last_name', access_token: accessToken, appsecret_proof: proof })}`,
    );
    if (!me || String(me.id) !== String(data.user_id)) throw invalid('the Graph API /me names another user than debug_token');
    const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
    const email = text(me.email);
    return {
      subject: String(data.user_id),
      email,
      // The Graph API returns only an address the person confirmed; trustEmail (off by default) decides whether we believe it.
      emailVerified: email !== null,
      phoneNumber: null,
      givenName: text(me.first_name),
      familyName: text(me.last_name),
      nonce: null,
      replayKey: sha256(`facebook\n${accessToken}`),
      expiresAt: new Date(data.expires_at ? data.expires_at * 1000 : nowMs + NO_EXPIRY_KEEP_MS),
    };
  }

  /** A Graph API call; its error answers (400 with `{ error }`) are refusals, a failure to reach it is not the token's fault. */
  private async get<T>(url: string): Promise<T | null> {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000), headers: { accept: 'application/json' } });
    if (response.status >= 500) throw new Error(`Graph API answered ${response.status}`);
    const body = (await response.json().catch(() => null)) as (T & { error?: unknown }) | null;
    if (!response.ok || !body || body.error) return null;
    return body;
  }
}
