import type { EntityManager } from '@mikro-orm/core';
import * as oidc from 'openid-client';
import { isLoopback, type SocialProviderSettings } from '../../config/social-providers';
import type { Clock } from '../clock';
import type { SecretBox } from './secret-box';

/** Discovery documents are re-read after this long (a provider may move its endpoints or keys). */
const DISCOVERY_TTL_MS = 3600_000;

interface Cached {
  config: Promise<oidc.Configuration>;
  until: number;
}

/**
 * openid-client 6 configurations per provider: discovery (the provider's
 * `.well-known/openid-configuration`, or its `discoveryUrl`) for the JWKS URI and the web
 * redirect flow's endpoints, with the provider's client secret opened from its sealed form.
 * Cached per app, provider and settings, so a settings change takes effect at once. Plain
 * http is allowed only for loopback issuers (tests); settings refuse it elsewhere.
 */
export class OidcClients {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
  ) {}

  /** The provider's JWKS URI: its setting, else the discovery document's `jwks_uri`. */
  async jwksUri(em: EntityManager, provider: SocialProviderSettings): Promise<string> {
    if (provider.jwksUri) return provider.jwksUri;
    const uri = (await this.configuration(em, provider)).serverMetadata().jwks_uri;
    if (!uri) throw new Error(`provider ${provider.id}: its discovery document has no jwks_uri`);
    return uri;
  }

  async configuration(em: EntityManager, provider: SocialProviderSettings): Promise<oidc.Configuration> {
    const key = JSON.stringify([provider.id, provider.issuer, provider.discoveryUrl, provider.clientIds[0], provider.clientSecret]);
    const now = this.clock.now().getTime();
    const cached = this.cache.get(key);
    if (cached && cached.until > now) return cached.config;
    const config = this.discover(em, provider);
    this.cache.set(key, { config, until: now + DISCOVERY_TTL_MS });
    // A failed discovery is not remembered: the next request tries again.
    config.catch(() => this.cache.get(key)?.config === config && this.cache.delete(key));
    return config;
  }

  private async discover(em: EntityManager, provider: SocialProviderSettings): Promise<oidc.Configuration> {
    const server = new URL(provider.discoveryUrl ?? provider.issuer);
    const secret = provider.clientSecret ? await this.secretBox.open(em, provider.clientSecret) : undefined;
    const auth = secret ? oidc.ClientSecretBasic(secret) : oidc.None();
    const insecure = server.protocol === 'http:' && isLoopback(server.hostname);
    const config = await oidc.discovery(server, provider.clientIds[0], secret ? { client_secret: secret } : undefined, auth, {
      execute: insecure ? [oidc.allowInsecureRequests] : [],
      timeout: 5,
    });
    if (config.serverMetadata().issuer !== provider.issuer) {
      throw new Error(`provider ${provider.id}: the discovery document names issuer ${config.serverMetadata().issuer}, the settings ${provider.issuer}`);
    }
    return config;
  }
}
