import { UniqueConstraintViolationException, type EntityManager, type MikroORM } from '@mikro-orm/core';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAppSettings } from '../src/config/app-settings';
import { ApiKey, OtpChallenge, OutboxMessage, RefreshToken, Session, SingleUseToken, User, type App } from '../src/db/entities';
import { HotStore, type NewOutboxMessage, type OtpFields } from '../src/db/fast';
import { migrate, openOrm } from '../src/db/orm';
import { AppService } from '../src/identity/apps';
import { systemClock } from '../src/identity/clock';
import { newId, sha256 } from '../src/identity/secrets';
import { UserService, type Tenant } from '../src/identity/users';
import { dropSchema, TEST_DATABASE_URL } from './helpers/gateway';

/**
 * The prepared hot path (src/db/fast) against real storage: a SQLite file, or in the
 * PostgreSQL pass a fresh schema. Each statement is checked for the same answers and the
 * same conditional-update semantics as the ORM code it replaces, and the store and the ORM
 * are checked to see the same rows inside one transaction.
 */
const DIALECT = TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite';
let orm: MikroORM;
let store: HotStore;
let tenant: Tenant;
let otherTenant: Tenant;
let keys: { publishable: string; secret: string; secretId: string };
const users = new UserService(systemClock);
const cleanups: (() => Promise<void> | void)[] = [];
let seq = 0;
const unique = () => `${Date.now().toString(36)}${++seq}`;
const fork = (): EntityManager => orm.em.fork();
const later = (ms: number, from = new Date()) => new Date(from.getTime() + ms);

let databaseUrl: string;

beforeAll(async () => {
  if (TEST_DATABASE_URL) {
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('schema', `gh_${randomBytes(6).toString('hex')}`);
    databaseUrl = url.toString();
    cleanups.push(() => dropSchema(databaseUrl));
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fast-'));
    databaseUrl = `sqlite:${join(dir, 'fast.db')}`;
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  orm = await openOrm({ databaseUrl });
  cleanups.push(() => orm.close(true));
  await migrate(orm);
  store = HotStore.of(orm.em);
  const apps = new AppService(systemClock);
  const made = await apps.createApp(fork(), 'Fast', { otpLength: 6 });
  const other = await apps.createApp(fork(), 'Other');
  tenant = { app: made.app, settings: readAppSettings(made.app.settings) };
  otherTenant = { app: other.app, settings: readAppSettings(other.app.settings) };
  keys = { publishable: made.publishable.key, secret: made.secret.key, secretId: made.secret.id };
});
afterAll(async () => {
  for (const step of cleanups.reverse()) await step();
});

async function newUser(data: Partial<{ email: string; phoneNumber: string; externalId: string; isSocial: boolean; suspended: boolean }> = {}, t = tenant): Promise<User> {
  const em = fork();
  const user = await users.create(em, t, { email: data.email ?? `u-${unique()}@example.com`, phoneNumber: data.phoneNumber, externalId: data.externalId, firstName: 'Ada', lastName: 'Lovelace' });
  if (data.isSocial !== undefined || data.suspended !== undefined) {
    user.isSocial = data.isSocial ?? false;
    user.suspended = data.suspended ?? false;
    await em.flush();
  }
  return user;
}

async function newSession(user: User, t = tenant, expiresAt = later(3600_000)) {
  const now = new Date();
  const session = { id: newId(), appId: t.app.id, userId: user.id, scope: 'openid', authTime: now, registrationRequired: false, createdAt: now, expiresAt, ip: '127.0.0.1', userAgent: 'test' };
  const token = `rt_${unique()}`;
  await store.createSession(fork(), session, { id: newId(), sessionId: session.id, tokenHash: sha256(token), createdAt: now, expiresAt });
  return { session, token };
}

describe(`the prepared hot path (${DIALECT})`, () => {
  it('is one store per ORM', () => {
    expect(HotStore.of(fork())).toBe(store);
  });

  it('finds an API key with its app (settings parsed, dates as Dates), a revoked one as revoked, and not an unknown one', async () => {
    const found = await store.keyWithApp(fork(), sha256(keys.publishable));
    expect(found).toMatchObject({ kind: 'publishable', revoked: false, app: { id: tenant.app.id, name: 'Fast' } });
    expect(found!.app.settings).toEqual(tenant.app.settings);
    expect(found!.app.updatedAt).toBeInstanceOf(Date);
    expect(found!.app.updatedAt.getTime()).toBe(tenant.app.updatedAt.getTime());
    expect(await store.keyWithApp(fork(), sha256('pk_nope'))).toBeUndefined();

    const em = fork();
    const key = await em.findOneOrFail(ApiKey, { id: keys.secretId });
    expect(await store.keyWithApp(fork(), sha256(keys.secret))).toMatchObject({ keyId: keys.secretId, revoked: false });
    key.revokedAt = new Date();
    await em.flush();
    // Read too, so that UNAUTHENTICATED can say revoked_key (apps.ts checkKey).
    expect(await store.keyWithApp(fork(), sha256(keys.secret))).toMatchObject({ keyId: keys.secretId, revoked: true });
  });

  it('answers the bearer check: session state, the user’s suspended flag and the app’s id and updatedAt in one row', async () => {
    const user = await newUser();
    const { session } = await newSession(user);
    const row = await store.bearerSession(fork(), session.id);
    expect(row).toMatchObject({ sessionId: session.id, userId: user.id, revokedAt: null, userSuspended: false, appId: tenant.app.id });
    expect(row!.expiresAt.getTime()).toBe(session.expiresAt.getTime());
    expect(row!.appUpdatedAt.getTime()).toBe(tenant.app.updatedAt.getTime());
    const app = await store.appById(fork(), tenant.app.id);
    expect(app).toMatchObject({ id: tenant.app.id, name: tenant.app.name, settings: tenant.app.settings });
    expect(app!.updatedAt.getTime()).toBe(tenant.app.updatedAt.getTime());
    expect(await store.appById(fork(), newId())).toBeUndefined();

    expect(await store.revokeSession(fork(), session.id, new Date(), 'logout')).toBe(true);
    expect(await store.revokeSession(fork(), session.id, new Date(), 'logout')).toBe(false);
    expect((await store.bearerSession(fork(), session.id))!.revokedAt).toBeInstanceOf(Date);
    const em = fork();
    (await em.findOneOrFail(User, { id: user.id })).suspended = true;
    await em.flush();
    expect((await store.bearerSession(fork(), session.id))!.userSuspended).toBe(true);
    expect(await store.bearerSession(fork(), newId())).toBeUndefined();
  });

  it('checks an email and a phone number: exists and isSocial, per app; the oldest account of a shared number', async () => {
    const social = await newUser({ isSocial: true });
    const phone = `+4479111${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;
    await newUser({ phoneNumber: phone });
    expect(await store.checkEmail(fork(), tenant.app.id, social.emailKey!)).toEqual({ exists: true, isSocial: true });
    expect(await store.checkEmail(fork(), otherTenant.app.id, social.emailKey!)).toEqual({ exists: false, isSocial: false });
    expect(await store.checkEmail(fork(), tenant.app.id, `none-${unique()}@example.com`)).toEqual({ exists: false, isSocial: false });
    expect(await store.checkPhoneNumber(fork(), tenant.app.id, phone)).toEqual({ exists: true, isSocial: false });
    expect(await store.checkPhoneNumber(fork(), otherTenant.app.id, phone)).toEqual({ exists: false, isSocial: false });
  });

  it('reads a user by id, email, phone and externalId as a plain object with exactly what the ORM hydrates', async () => {
    const phone = `+4479222${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;
    const user = await newUser({ phoneNumber: phone, externalId: `ext-${unique()}` });
    const entity = await fork().findOneOrFail(User, { id: user.id });
    const { app, ...fields } = entity as User & { app: App };
    const expected = { ...fields, appId: app.id };
    for (const found of [
      await store.userById(fork(), tenant.app.id, user.id),
      await store.userByEmail(fork(), tenant.app.id, user.emailKey!),
      await store.userByPhone(fork(), tenant.app.id, phone),
      await store.userByExternalId(fork(), tenant.app.id, user.externalId!),
      await store.loginLookup(fork(), tenant.app.id, { kind: 'email', key: user.emailKey! }),
      await store.loginLookup(fork(), tenant.app.id, { kind: 'phone', key: phone }),
    ]) {
      expect(found).toEqual(expected);
      expect(found).not.toBeInstanceOf(User);
    }
    expect(await store.userById(fork(), otherTenant.app.id, user.id)).toBeUndefined();
  });

  it('creates a session and its refresh token together, as the ORM reads them', async () => {
    const user = await newUser();
    const { session, token } = await newSession(user);
    const em = fork();
    const read = await em.findOneOrFail(Session, { id: session.id });
    expect(read.user.id).toBe(user.id);
    expect(read.expiresAt.getTime()).toBe(session.expiresAt.getTime());
    expect(read.registrationRequired).toBe(false);
    expect((await em.findOneOrFail(RefreshToken, { tokenHash: sha256(token) })).usedAt).toBeNull();

    // A failing second insert (the same token hash) leaves no half-written session behind.
    const twin = { ...session, id: newId() };
    await expect(
      store.createSession(fork(), twin, { id: newId(), sessionId: twin.id, tokenHash: sha256(token), createdAt: new Date(), expiresAt: session.expiresAt }),
    ).rejects.toBeInstanceOf(UniqueConstraintViolationException);
    expect(await fork().findOne(Session, { id: twin.id })).toBeNull();
  });

  it('writes what a proven code marks on the account with the session, a null field left as it is', async () => {
    const phone = `+4479333${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;
    const user = await newUser({ phoneNumber: phone });
    const stored = await fork().findOneOrFail(User, { id: user.id });
    expect(stored).toMatchObject({ emailVerified: false, phoneVerified: false });
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 5000);
    const session = { id: newId(), appId: tenant.app.id, userId: user.id, scope: 'openid', authTime: now, registrationRequired: false, createdAt: now, expiresAt: later(60_000, now), ip: null, userAgent: null };
    const phoneNumbers = stored.phoneNumbers.map((p) => ({ ...p, verifiedOwnership: true }));
    await store.createSession(fork(), session, null, { userId: user.id, emailVerified: null, phoneVerified: true, phoneNumbers, updatedAt: now });
    const after = await fork().findOneOrFail(User, { id: user.id });
    expect(after).toMatchObject({ emailVerified: false, phoneVerified: true, phoneNumbers });
    expect(after.updatedAt.getTime()).toBe(now.getTime());
    expect(await fork().findOne(Session, { id: session.id })).not.toBeNull();

    // Not one without the other: a failing session insert (the same id again) leaves the account as it was.
    await expect(store.createSession(fork(), session, null, { userId: user.id, emailVerified: true, phoneVerified: null, phoneNumbers: null, updatedAt: later(1000, now) })).rejects.toBeInstanceOf(
      UniqueConstraintViolationException,
    );
    expect((await fork().findOneOrFail(User, { id: user.id })).emailVerified).toBe(false);
  });

  describe('refresh rotation', () => {
    const rotate = (presented: string, child: string, now = new Date(), appId = tenant.app.id) =>
      store.rotateRefreshToken(fork(), {
        appId,
        presentedHash: sha256(presented),
        child: { id: newId(), sessionId: '', tokenHash: sha256(child), createdAt: now, expiresAt: later(7200_000, now) },
        now,
        graceMs: 10_000,
      });

    it('rotates once, gives the same child again within the grace interval, then revokes the family on reuse', async () => {
      const { session, token } = await newSession(await newUser());
      const first = await rotate(token, `${token}-child`);
      expect(first).toMatchObject({ kind: 'rotated', childIssued: true, session: { id: session.id } });
      // The session's user comes whole with the token (the refresh answers with it), as the user lookup reads it.
      expect((first as { user: unknown }).user).toEqual(await store.userById(fork(), tenant.app.id, session.userId));
      const em = fork();
      expect((await em.findOneOrFail(RefreshToken, { tokenHash: sha256(token) })).usedAt).toBeInstanceOf(Date);
      expect((await em.findOneOrFail(RefreshToken, { tokenHash: sha256(`${token}-child`) })).usedAt).toBeNull();
      const extended = await em.findOneOrFail(Session, { id: session.id });
      expect(extended.expiresAt.getTime()).toBe((first as { expiresAt: Date }).expiresAt.getTime());
      // A rotation is a use: the sessions list's lastUsedAt moves with it.
      expect(extended.lastUsedAt).toBeInstanceOf(Date);

      const again = await rotate(token, `${token}-child`);
      expect(again).toMatchObject({ kind: 'rotated', childIssued: false });
      expect((again as { expiresAt: Date }).expiresAt.getTime()).toBe((first as { expiresAt: Date }).expiresAt.getTime());

      expect(await rotate(token, `${token}-child`, later(11_000))).toEqual({ kind: 'reused', sessionId: session.id, userId: session.userId });
      const revoked = await fork().findOneOrFail(Session, { id: session.id });
      expect(revoked.revokedReason).toBe('refresh_token_reused');
      expect(await rotate(`${token}-child`, `${token}-grandchild`)).toEqual({ kind: 'invalid' });
    });

    it('refuses another app’s token, an expired token and an unknown one', async () => {
      const { token } = await newSession(await newUser(), tenant, later(1000));
      expect(await rotate(token, `${token}-c`, new Date(), otherTenant.app.id)).toEqual({ kind: 'invalid' });
      expect(await rotate(token, `${token}-c`, later(2000))).toEqual({ kind: 'invalid' });
      expect(await rotate('rt_unknown', 'rt_unknown-c')).toEqual({ kind: 'invalid' });
    });

    it('lets exactly one of several concurrent rotations issue the child', async () => {
      const { token } = await newSession(await newUser());
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => rotate(token, `${token}-child`)));
      expect(outcomes.every((o) => o.kind === 'rotated')).toBe(true);
      expect(outcomes.filter((o) => o.kind === 'rotated' && o.childIssued)).toHaveLength(1);
      expect(await fork().count(RefreshToken, { tokenHash: sha256(`${token}-child`) })).toBe(1);
    });
  });

  describe('one-time codes: the same conditional updates as otp/challenges.ts', () => {
    const fields = (codeHash: string, createdAt = new Date()): OtpFields => ({
      channel: 'EMAIL',
      purpose: 'LOGIN',
      userId: null,
      codeHash,
      createdAt,
      expiresAt: later(600_000, createdAt),
      sends: 1,
      sendsSince: createdAt,
    });

    it('issues one row per destination, replaces it only after the cooldown, counts tries up to the cap, consumes once', async () => {
      const destination = `otp-${unique()}@example.com`;
      // writeOtp with no message: a destination's first code (existingId null), or a replacement in place.
      const write = (em: EntityManager, existingId: string | null, id: string, cooldownEdge: Date, f: OtpFields) =>
        store.writeOtp(em, { existingId, cooldownEdge, id, appId: tenant.app.id, destination, fields: f, message: null });
      const id = newId();
      const issuedAt = new Date(Date.now() - 1000);
      await write(fork(), null, id, new Date(0), fields('h1', issuedAt));
      await expect(write(fork(), null, newId(), new Date(0), fields('h1'))).rejects.toBeInstanceOf(UniqueConstraintViolationException);

      const row = await store.otpChallenge(fork(), tenant.app.id, destination);
      const entity = await fork().findOneOrFail(OtpChallenge, { id });
      expect(row).toMatchObject({ id, appId: tenant.app.id, destination, channel: 'EMAIL', purpose: 'LOGIN', userId: null, codeHash: 'h1', attempts: 0, consumedAt: null });
      expect(row!.createdAt.getTime()).toBe(entity.createdAt.getTime());

      // The cooldown edge is before the code was issued: not replaced; after it: replaced.
      expect(await write(fork(), id, id, new Date(issuedAt.getTime() - 1), fields('h2'))).toBe(false);
      expect(await write(fork(), id, id, new Date(), fields('h2'))).toBe(true);
      expect((await store.otpChallengeById(fork(), id))!.codeHash).toBe('h2');

      expect(await store.countOtpTry(fork(), id, 'h1', 5)).toBe(false); // the replaced code
      const tries = await Promise.all(Array.from({ length: 8 }, () => store.countOtpTry(fork(), id, 'h2', 5)));
      expect(tries.filter(Boolean)).toHaveLength(5);
      expect((await store.otpChallengeById(fork(), id))!.attempts).toBe(5);

      const consumed = await Promise.all([1, 2, 3].map(() => store.consumeOtp(fork(), id, 'h2', new Date())));
      expect(consumed.filter(Boolean)).toHaveLength(1);
      expect(await store.otpChallenge(fork(), tenant.app.id, destination, { live: true })).toBeUndefined();
      expect((await store.otpChallenge(fork(), tenant.app.id, destination))!.consumedAt).toBeInstanceOf(Date);
      // A consumed code may be replaced at once (a new code after sign-in).
      expect(await write(fork(), id, id, new Date(0), fields('h3'))).toBe(true);
      expect(await store.deleteOtp(fork(), id, 'h2')).toBe(false);
      expect(await store.deleteOtp(fork(), id, 'h3')).toBe(true);
      expect(await fork().findOne(OtpChallenge, { id })).toBeNull();
    });

    const message = (carrierId: string, to: string, at = new Date()): NewOutboxMessage => ({
      id: newId(),
      appId: tenant.app.id,
      channel: 'EMAIL',
      to,
      template: 'otp',
      subject: 'Your code',
      body: 'code 123456',
      fromName: 'Fast',
      createdAt: at,
      nextAttemptAt: at,
      lockedUntil: null,
      carrierId,
      expiresAt: later(600_000, at),
    });
    const messagesTo = (to: string) => fork().find(OutboxMessage, { to });

    it('writes a code and its message in one commit; a replacement inside the cooldown writes neither; an unknown account gets no message', async () => {
      const destination = `plan-${unique()}@example.com`;
      const issuedAt = new Date(Date.now() - 1000);
      const id = newId();
      const first = { existingId: null, cooldownEdge: new Date(0), id, appId: tenant.app.id, destination, fields: fields('p1', issuedAt), message: message(id, destination, issuedAt) };
      expect(await store.writeOtp(fork(), first)).toBe(true);
      expect((await store.otpChallengeById(fork(), id))!.codeHash).toBe('p1');
      const queued = await messagesTo(destination);
      expect(queued.map((m) => [m.id, m.carrierId, m.status, m.attempts, m.body, m.app.id])).toEqual([[first.message.id, id, 'pending', 0, 'code 123456', tenant.app.id]]);
      expect(queued[0].expiresAt!.getTime()).toBe(first.message.expiresAt!.getTime());

      // A second first code for the destination: the unique index refuses it, and its message is not left behind.
      const racing = { ...first, id: newId(), message: message(id, destination) };
      await expect(store.writeOtp(fork(), racing)).rejects.toBeInstanceOf(UniqueConstraintViolationException);
      // Re-issued after the cooldown edge: not replaced, no message.
      const early = { ...first, existingId: id, cooldownEdge: new Date(issuedAt.getTime() - 1), fields: fields('p2'), message: message(id, destination) };
      expect(await store.writeOtp(fork(), early)).toBe(false);
      expect((await store.otpChallengeById(fork(), id))!.codeHash).toBe('p1');
      expect(await messagesTo(destination)).toHaveLength(1);

      // An unknown account (no message): the code row is written, the outbox is not.
      expect(await store.writeOtp(fork(), { ...first, existingId: id, cooldownEdge: new Date(), fields: fields('p3'), message: null })).toBe(true);
      expect((await store.otpChallengeById(fork(), id))!.codeHash).toBe('p3');
      expect(await messagesTo(destination)).toHaveLength(1);
    });

    it('joins the caller’s transaction: the code and its message roll back with it', async () => {
      const destination = `plan-rb-${unique()}@example.com`;
      const id = newId();
      const em = fork();
      await expect(
        em.transactional(async (trx) => {
          expect(await store.writeOtp(trx, { existingId: null, cooldownEdge: new Date(0), id, appId: tenant.app.id, destination, fields: fields('r1'), message: message(id, destination) })).toBe(true);
          expect(await store.otpChallengeById(trx, id)).toBeDefined();
          throw new Error('the request failed after the code');
        }),
      ).rejects.toThrow('the request failed after the code');
      expect(await store.otpChallengeById(fork(), id)).toBeUndefined();
      expect(await messagesTo(destination)).toHaveLength(0);
    });

    it('hands the worker what is due, lets exactly one claim win, and records the delivery only under that claim', async () => {
      const to = `due-${unique()}@example.com`;
      const now = new Date();
      const due = message(newId(), to, later(-5000, now));
      const notYet = { ...message(newId(), to, now), nextAttemptAt: later(60_000, now) };
      await store.insertOutbox(fork(), due);
      await store.insertOutbox(fork(), notYet);

      const read = (await store.dueOutbox(fork(), now, 1000)).filter((m) => m.to === to);
      expect(read.map((m) => m.id)).toEqual([due.id]);
      expect(read[0]).toMatchObject({ appId: tenant.app.id, channel: 'EMAIL', template: 'otp', subject: 'Your code', body: 'code 123456', fromName: 'Fast', status: 'pending', attempts: 0, carrierId: due.carrierId });
      expect(read[0].expiresAt!.getTime()).toBe(due.expiresAt!.getTime());

      const lease = later(60_000, now);
      const claims = await Promise.all([1, 2, 3].map(() => store.claimOutbox(fork(), read[0], lease)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      // Sending under a live lease is not due; past its lease it is again.
      expect((await store.dueOutbox(fork(), now, 1000)).some((m) => m.id === due.id)).toBe(false);
      const again = (await store.dueOutbox(fork(), later(1, lease), 1000)).find((m) => m.id === due.id);
      expect(again).toMatchObject({ status: 'sending', attempts: 1 });

      // A stale claim (attempts 2) records nothing; the live one (attempts 1) does, and empties the body.
      expect(await store.markOutboxDelivered(fork(), { id: due.id, status: 'sending', attempts: 2 }, now, 'smtp', false)).toBe(false);
      expect(await store.markOutboxDelivered(fork(), { id: due.id, status: 'sending', attempts: 1 }, now, 'smtp', false)).toBe(true);
      const row = await fork().findOneOrFail(OutboxMessage, { id: due.id });
      expect([row.status, row.via, row.body, row.lockedUntil, row.deliveredAt!.getTime()]).toEqual(['delivered', 'smtp', '', null, now.getTime()]);

      // The development outbox keeps the text.
      await store.claimOutbox(fork(), { id: notYet.id, status: 'pending', attempts: 0 }, lease);
      expect(await store.markOutboxDelivered(fork(), { id: notYet.id, status: 'sending', attempts: 1 }, now, 'outbox', true)).toBe(true);
      expect((await fork().findOneOrFail(OutboxMessage, { id: notYet.id })).body).toBe('code 123456');
    });
    it('writes a message claimed for its own worker: not due to any pass within its lease, due after it, recorded under that first attempt', async () => {
      const to = `claimed-${unique()}@example.com`;
      const now = new Date();
      const lease = later(60_000, now);
      const claimed: NewOutboxMessage = { ...message(newId(), to, later(-5000, now)), lockedUntil: lease };
      await store.insertOutbox(fork(), claimed);
      expect(await fork().findOneOrFail(OutboxMessage, { id: claimed.id })).toMatchObject({ status: 'sending', attempts: 1, lockedUntil: lease });
      // Another instance's pass (or this one's) leaves it to the worker it was handed to…
      expect((await store.dueOutbox(fork(), now, 1000)).some((m) => m.id === claimed.id)).toBe(false);
      // …until the lease runs out (that process died): then it is due like any cut claim.
      expect((await store.dueOutbox(fork(), later(1, lease), 1000)).find((m) => m.id === claimed.id)).toMatchObject({ status: 'sending', attempts: 1 });
      expect(await store.markOutboxDelivered(fork(), { id: claimed.id, status: 'sending', attempts: 1 }, now, 'smtp', false)).toBe(true);
      expect(await fork().findOneOrFail(OutboxMessage, { id: claimed.id })).toMatchObject({ status: 'delivered', attempts: 1, body: '' });
    });
  });

  it('consumes a single-use token once, and never an expired one or one of another purpose or app', async () => {
    const user = await newUser();
    const em = fork();
    const make = (purpose: 'password_reset' | 'login_ticket', expiresAt: Date) => {
      const token = `lt_${unique()}`;
      em.create(SingleUseToken, { id: newId(), app: tenant.app.id, user: user.id, purpose, tokenHash: sha256(token), data: { registrationRequired: true }, createdAt: new Date(), expiresAt, usedAt: null });
      return token;
    };
    const live = make('login_ticket', later(60_000));
    const expired = make('login_ticket', later(-1000));
    await em.flush();
    const now = new Date();
    expect(await store.consumeSingleUse(fork(), 'password_reset', tenant.app.id, sha256(live), now)).toBeUndefined();
    expect(await store.consumeSingleUse(fork(), 'login_ticket', otherTenant.app.id, sha256(live), now)).toBeUndefined();
    expect(await store.consumeSingleUse(fork(), 'login_ticket', tenant.app.id, sha256(expired), now)).toBeUndefined();
    const outcomes = await Promise.all([1, 2, 3].map(() => store.consumeSingleUse(fork(), 'login_ticket', tenant.app.id, sha256(live), now)));
    const won = outcomes.filter(Boolean);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ userId: user.id, appId: tenant.app.id, purpose: 'login_ticket', data: { registrationRequired: true } });
    expect(won[0]!.usedAt!.getTime()).toBe(now.getTime());
  });

  describe('one transaction, two doors (issue 13 must-show)', () => {
    it('inside one em.transactional, a row the ORM wrote is read by the prepared path and vice versa', async () => {
      const address = `tx-${unique()}@example.com`;
      await fork().transactional(async (tx) => {
        // ORM → prepared path: a user inserted (flushed, not committed) is seen by the store.
        const user = await users.create(tx, tenant, { email: address });
        expect(await store.checkEmail(tx, tenant.app.id, user.emailKey!)).toEqual({ exists: true, isSocial: false });
        expect((await store.userById(tx, tenant.app.id, user.id))?.email).toBe(user.email);

        // Prepared path → ORM: a session the store wrote is found by the ORM in the same transaction.
        const now = new Date();
        const sessionId = newId();
        await store.createSession(tx, { id: sessionId, appId: tenant.app.id, userId: user.id, scope: 'openid', authTime: now, registrationRequired: true, createdAt: now, expiresAt: later(60_000), ip: null, userAgent: null }, {
          id: newId(), sessionId, tokenHash: sha256(`rt_${unique()}`), createdAt: now, expiresAt: later(60_000),
        });
        const session = await tx.findOneOrFail(Session, { id: sessionId });
        expect(session.registrationRequired).toBe(true);

        // An ORM update of a row, then the store's read of it: no stale read.
        user.isSocial = true;
        await tx.flush();
        expect(await store.checkEmail(tx, tenant.app.id, user.emailKey!)).toEqual({ exists: true, isSocial: true });
      });
      expect(await store.checkEmail(fork(), tenant.app.id, address)).toEqual({ exists: true, isSocial: true });
    });

    it('works when an ORM’s very first prepared statement runs inside a transaction', async () => {
      // A second ORM on the same storage: its store has not touched a connection yet.
      const second = await openOrm({ databaseUrl });
      try {
        const address = `first-${unique()}@example.com`;
        const seen = await second.em.fork().transactional(async (tx) => {
          await users.create(tx, tenant, { email: address });
          return HotStore.of(tx).checkEmail(tx, tenant.app.id, address);
        });
        expect(seen).toEqual({ exists: true, isSocial: false });
      } finally {
        await second.close(true);
      }
    });

    it('rolls back the prepared path’s writes with the transaction they ran in', async () => {
      const user = await newUser();
      const sessionId = newId();
      const now = new Date();
      await expect(
        fork().transactional(async (tx) => {
          await store.createSession(tx, { id: sessionId, appId: tenant.app.id, userId: user.id, scope: 'openid', authTime: now, registrationRequired: false, createdAt: now, expiresAt: later(60_000), ip: null, userAgent: null }, {
            id: newId(), sessionId, tokenHash: sha256(`rt_${unique()}`), createdAt: now, expiresAt: later(60_000),
          });
          expect(await store.bearerSession(tx, sessionId)).toBeDefined();
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await store.bearerSession(fork(), sessionId)).toBeUndefined();
      expect(await fork().findOne(Session, { id: sessionId })).toBeNull();
    });

    it('never lets another request’s statement join an open transaction: its write survives that transaction’s rollback', async () => {
      const user = await newUser();
      const { session } = await newSession(user);
      const address = `tx-${unique()}@example.com`;
      let outside: Promise<unknown> | undefined;
      await expect(
        fork().transactional(async (tx) => {
          await users.create(tx, tenant, { email: address });
          // Another request (its own em, no transaction) reads and writes meanwhile.
          outside = Promise.all([
            store.checkEmail(fork(), tenant.app.id, address),
            store.revokeSession(fork(), session.id, new Date(), 'logout'),
          ]);
          await new Promise((resolve) => setTimeout(resolve, 50));
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      // The other request never saw the uncommitted user, and its revocation is committed.
      expect(await outside).toEqual([{ exists: false, isSocial: false }, true]);
      expect(await store.checkEmail(fork(), tenant.app.id, address)).toEqual({ exists: false, isSocial: false });
      expect((await fork().findOneOrFail(Session, { id: session.id })).revokedReason).toBe('logout');
    });
  });
});
