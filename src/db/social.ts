import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { App, SocialChallenge, SocialTokenUse, User, UserIdentity, type SocialChallengeKind } from './entities';

/**
 * Storage of social sign-in (SPEC §4.9): linked identities, the gateway-held nonces and
 * redirect states, and the record of provider tokens already accepted. Plain functions over
 * the request's EntityManager, so that the per-request lookup can move onto the prepared
 * statement store (src/db/fast) without touching the domain. Times are the caller's clock.
 */

export interface LinkedIdentity {
  identityId: string;
  provider: string;
  /** The account it signs in to, as a managed entity of `em`. */
  user: User;
}

/**
 * Sign-in with a provider token, step 1 of the linking order: the account linked to
 * `(app, issuer, subject)`. One indexed read (the unique index on those three columns) joined
 * with the user row, mapped as em.findOne would give it.
 */
export async function findLinkedUser(em: EntityManager, appId: string, issuer: string, subject: string): Promise<LinkedIdentity | null> {
  const row = await em
    .getConnection()
    .execute<Record<string, unknown> | undefined>(
      'select i.id as i_id_, i.provider as i_provider_, u.* from user_identity i join "user" u on u.id = i.user_id ' +
        'where i.app_id = ? and i.issuer = ? and i.subject = ? limit 1',
      [appId, issuer, subject],
      'get',
      em.getTransactionContext(),
    );
  if (!row) return null;
  const { i_id_: identityId, i_provider_: provider, ...userRow } = row;
  const user = em.getUnitOfWork().getById<User>(User.name, userRow.id as string) ?? em.map(User, userRow);
  return { identityId: String(identityId), provider: String(provider), user };
}

/** What the provider said this time, on an identity that just signed in. */
export async function touchIdentity(em: EntityManager, identityId: string, seen: { email: string | null; emailVerified: boolean; at: Date }): Promise<void> {
  const email = seen.email && seen.email.length <= 254 ? seen.email : null;
  await em.nativeUpdate(UserIdentity, { id: identityId }, { email, emailVerified: seen.emailVerified, lastSignInAt: seen.at });
}

export interface NewIdentity {
  id: string;
  appId: string;
  userId: string;
  provider: string;
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  linkedAt: Date;
}

export type IdentityConflict = 'subject_taken' | 'provider_taken';

/**
 * Links an identity (flushed, in the caller's transaction if any). A unique index decides the
 * race of two first sign-ins of one provider account: the loser gets `subject_taken`.
 */
export async function insertIdentity(em: EntityManager, identity: NewIdentity): Promise<IdentityConflict | null> {
  const entity = em.create(UserIdentity, {
    id: identity.id,
    app: em.getReference(App, identity.appId),
    user: em.getReference(User, identity.userId),
    provider: identity.provider,
    issuer: identity.issuer,
    subject: identity.subject,
    email: identity.email,
    emailVerified: identity.emailVerified,
    linkedAt: identity.linkedAt,
    lastSignInAt: identity.linkedAt,
  });
  try {
    await em.flush();
    return null;
  } catch (error) {
    if (!(error instanceof UniqueConstraintViolationException)) throw error;
    em.getUnitOfWork().unsetIdentity(entity);
    const culprit = (error as { constraint?: string }).constraint ?? error.message.slice(error.message.lastIndexOf('constraint'));
    return /provider/.test(culprit) ? 'provider_taken' : 'subject_taken';
  }
}

/** The identities of one customer, oldest first (`User.identities`, unlink, last-credential checks). */
export async function identitiesOf(em: EntityManager, appId: string, userId: string): Promise<UserIdentity[]> {
  return em.find(UserIdentity, { app: appId, user: userId }, { orderBy: { linkedAt: 'asc', id: 'asc' } });
}

export async function deleteIdentity(em: EntityManager, identityId: string): Promise<void> {
  await em.nativeDelete(UserIdentity, { id: identityId });
}

/** Stores a nonce or redirect state by its hash; single use until `expiresAt`. */
export async function insertChallenge(
  em: EntityManager,
  challenge: { id: string; appId: string; provider: string; kind: SocialChallengeKind; keyHash: string; data: Record<string, unknown>; createdAt: Date; expiresAt: Date },
): Promise<void> {
  em.create(SocialChallenge, { ...challenge, app: em.getReference(App, challenge.appId), usedAt: null });
  await em.flush();
}

/**
 * Consumes a live challenge: one conditional UPDATE, so of two requests presenting the same
 * nonce or state exactly one wins. Returns the row (with its app) or null when unknown,
 * expired, used, or of another kind, provider or app.
 */
export async function consumeChallenge(
  em: EntityManager,
  where: { keyHash: string; kind: SocialChallengeKind; appId?: string; provider?: string },
  now: Date,
): Promise<SocialChallenge | null> {
  const row = await em.findOne(SocialChallenge, { keyHash: where.keyHash, kind: where.kind }, { populate: ['app'] });
  if (!row || row.usedAt || row.expiresAt <= now) return null;
  if ((where.appId && row.app.id !== where.appId) || (where.provider && row.provider !== where.provider)) return null;
  const won = await em.nativeUpdate(SocialChallenge, { id: row.id, usedAt: null }, { usedAt: now });
  return won === 1 ? row : null;
}

/**
 * Records that a provider token was accepted; false when it already was (a replay). The
 * primary key decides, so two requests racing with one token cannot both pass.
 */
export async function recordTokenUse(em: EntityManager, use: { keyHash: string; appId: string; expiresAt: Date }): Promise<boolean> {
  try {
    // One INSERT now, outside the unit of work: a refused row must not linger for a later flush.
    await em.insert(SocialTokenUse, { keyHash: use.keyHash, app: use.appId, expiresAt: use.expiresAt });
    return true;
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) return false;
    throw error;
  }
}

/** Drops what has expired (replay records, challenges); indexed on the expiry. */
export async function sweepExpired(em: EntityManager, now: Date): Promise<void> {
  const fork = em.fork();
  await fork.nativeDelete(SocialTokenUse, { expiresAt: { $lt: now } });
  await fork.nativeDelete(SocialChallenge, { expiresAt: { $lt: new Date(now.getTime() - 3600_000) } });
}
