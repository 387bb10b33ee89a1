import type { EntityManager } from '@mikro-orm/core';
import { createHash } from 'node:crypto';
import { App, User } from '../db/entities';
import { HotStore } from '../db/fast';
import { inTransaction } from '../db/transaction';
import { AppError, badInput } from '../errors';
import type { AppService } from './apps';
import { isUuid } from './apps';
import { safeEqual } from './secrets';
import type { AuthResult, SessionService, SignInMeta } from './sessions';
import type { SingleUseTokens } from './single-use-tokens';
import type { Tenant, UserService } from './users';

export interface AutologinData {
  externalId: string | number;
  firstName: string;
  lastName: string;
  email?: string | null;
  skipRegistration?: boolean | null;
  appId?: string | null;
}

export interface AutologinOutcome {
  status: 1;
  registered: boolean;
  lt: string;
  loginUrl: string | null;
  expiresIn: number;
}

export const LOGIN_TICKET_TTL_SECONDS = 300;

/**
 * Autologin (SPEC §4.8, easypromos-autologin.txt): a partner server (secret key) or a page on
 * an allowed origin (no credentials) hands over a customer by external id; we find or create
 * them and return a single-use, 5-minute login ticket `lt` that exchangeLoginTicket turns
 * into a session.
 */
export class AutologinService {
  constructor(
    private readonly apps: AppService,
    private readonly users: UserService,
    private readonly tokens: SingleUseTokens,
    private readonly sessions: SessionService,
  ) {}

  /**
   * The client-side path: the app named in the input, if it has `clientAutologin` on
   * (METHOD_DISABLED otherwise) and the request's origin is on its list (INVALID_DOMAIN).
   */
  async tenantForOrigin(em: EntityManager, appId: string | null | undefined, origin: string | null): Promise<Tenant> {
    if (!appId) throw badInput('appId', 'appId is required for a client-side autologin');
    const app = isUuid(appId) ? await em.findOne(App, { id: appId }) : null;
    if (!app) throw badInput('appId', 'no app with this id');
    const settings = this.apps.settingsOf(app);
    if (!settings.clientAutologin) {
      throw new AppError('METHOD_DISABLED', 'Client-side autologin is turned off for this app (setting clientAutologin); call autologin from your server with a secret key');
    }
    if (!origin || !settings.allowedOrigins.includes(origin)) throw new AppError('INVALID_DOMAIN');
    return { app, settings };
  }

  /**
   * Finds or creates the customer and issues the ticket. A client-side call (`participant`)
   * proves nothing about who the customer is: its ticket gives a participant session only,
   * and it may not set the email (an attacker-chosen email on a partner's customer would be a
   * password reset away from owning the account).
   */
  async autologin(em: EntityManager, tenant: Tenant, input: AutologinData, options: { participant?: boolean } = {}): Promise<AutologinOutcome> {
    const participant = options.participant === true;
    if (participant && input.email != null) {
      throw new AppError('FORBIDDEN', 'email can be given only with a secret key (server-side autologin)', { field: 'email' });
    }
    // The reference treats external_id as a string whatever the client sent.
    const externalId = input.externalId === null || input.externalId === undefined ? '' : String(input.externalId).trim();
    if (!externalId) throw badInput('externalId', 'externalId is required');
    if (!input.firstName?.trim()) throw badInput('firstName', 'firstName is required');
    if (!input.lastName?.trim()) throw badInput('lastName', 'lastName is required');

    // One commit: the customer (when new) and the ticket.
    const { registered, ticket } = await inTransaction(em, async () => {
      let user = await em.findOne(User, { app: tenant.app.id, externalId });
      let registered = false;
      if (!user) {
        const fresh = this.users.build(em, tenant, { externalId, firstName: input.firstName, lastName: input.lastName, email: input.email });
        try {
          user = await this.users.insert(em, fresh);
          registered = true;
        } catch (error) {
          // A concurrent call created this external id first: use theirs.
          user = await em.findOne(User, { app: tenant.app.id, externalId });
          if (!user) throw error;
        }
      }
      const registrationRequired = input.skipRegistration === false;
      const ticket = await this.tokens.issue(em, 'login_ticket', 'lt_', tenant.app.id, user.id, LOGIN_TICKET_TTL_SECONDS, { registrationRequired, participant });
      return { registered, ticket };
    });
    const base = tenant.settings.autologinUrl;
    let loginUrl: string | null = null;
    if (base) {
      const url = new URL(base);
      url.searchParams.set('lt', ticket.token);
      loginUrl = url.toString();
    }
    return { status: 1, registered, lt: ticket.token, loginUrl, expiresIn: LOGIN_TICKET_TTL_SECONDS };
  }

  /**
   * `exchangeLoginTicket`: once, within 5 minutes, for the app that issued it. A client-side
   * ticket gives a participant session (SPEC §4.8); a server-side one a full session. A ticket
   * of the social redirect flow started with a `codeChallenge` needs its `codeVerifier` (PKCE S256).
   */
  async exchange(em: EntityManager, tenant: Tenant, lt: string, meta: SignInMeta, codeVerifier?: string | null): Promise<AuthResult> {
    // One commit: the ticket used and the session it opens (statements on em only, in its transaction).
    const opened = await inTransaction(em, async () => {
      const row = await this.tokens.consume(em, 'login_ticket', tenant.app.id, lt);
      if (!row) throw new AppError('INVALID_LOGIN_TICKET', undefined, { field: 'lt' });
      const challenge = row.data.codeChallenge;
      if (typeof challenge === 'string' && (!codeVerifier || !safeEqual(createHash('sha256').update(codeVerifier).digest('base64url'), challenge))) {
        throw new AppError('INVALID_LOGIN_TICKET', 'This login ticket needs the codeVerifier of the page that started the sign-in', { field: 'codeVerifier' });
      }
      // One prepared lookup for the id token and the answer; no entity (the ticket's user is only read).
      const user = await HotStore.of(em).userById(em, tenant.app.id, row.userId);
      if (!user) throw new AppError('INVALID_LOGIN_TICKET', undefined, { field: 'lt' });
      return this.sessions.openSession(em, tenant, user, {
        ...meta,
        registrationRequired: row.data.registrationRequired === true,
        participant: row.data.participant === true,
      });
    });
    return opened.sign();
  }
}
