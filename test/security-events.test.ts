import { gql } from '@apollo/client/core';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { App, SecurityEvent } from '../src/db/entities';
import { gatehouse as runCli } from './helpers/cli';
import { apolloClient, run, type Client, type GqlResult } from './helpers/client';
import { startSmtpPeer, startWebhookPeer, type SmtpPeer, type WebhookPeer } from './helpers/delivery-peers';
import { startGateway, TEST_DATABASE_URL, type TestApp, type TestGateway } from './helpers/gateway';
import {
  CONFIRM_CONTACT_CHANGE,
  DELETE_USER,
  REINSTATE_USER,
  REQUEST_EMAIL_CHANGE,
  SECURITY_EVENTS,
  SET_USER_CONTACT,
  SUSPEND_USER,
} from './helpers/lifecycle-documents';
import { REQUEST_OTP, VALIDATE_OTP } from './helpers/otp-documents';
import { CHANGE_PASSWORD, LOGIN, REFRESH, REGISTER } from './helpers/session-documents';

/**
 * Security events and their webhooks (SPEC §4.10): each occurrence recorded once, readable
 * with a secret key, and POSTed signed to a real HTTP receiver that checks the signature as
 * the README tells partners to — including across a kill -9 of the gateway.
 */

const PASSWORD = 'events password 1';
let n = 0;
const email = (name = 'ev') => `${name}+${++n}.${Date.now()}@example.com`;

interface EventNode {
  id: string;
  type: string;
  userId: string | null;
  ip: string | null;
  at: string;
  detail: Record<string, unknown>;
}

async function allEvents(client: Client, filter: Record<string, unknown> = {}): Promise<EventNode[]> {
  const out: EventNode[] = [];
  let after: string | null = null;
  for (;;) {
    const page: GqlResult = await run(client, SECURITY_EVENTS, { filter, first: 7, after });
    expect(page.errors).toEqual([]);
    out.push(...page.data!.securityEvents.edges.map((e: { node: EventNode }) => e.node));
    if (!page.data!.securityEvents.pageInfo.hasNextPage) return out;
    after = page.data!.securityEvents.pageInfo.endCursor;
  }
}

function countByType(events: EventNode[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.type] = (counts[e.type] ?? 0) + 1;
  return counts;
}

describe('security events and webhooks (SPEC §4.10)', () => {
  let gw: TestGateway;
  let smtp: SmtpPeer;
  let hooks: WebhookPeer;
  let app: TestApp;
  let frontend: Client;
  let partner: Client;
  const bearer = (token: string) => apolloClient(gw.url, { 'x-api-key': app.publishableKey, authorization: `Bearer ${token}` });
  const drain = () => gw.gateway.services.courier.drain();

  beforeAll(async () => {
    [smtp, hooks] = await Promise.all([startSmtpPeer(), startWebhookPeer()]);
    gw = await startGateway({ smtpUrl: smtp.url });
    app = await gw.createApp('Evented', { webhookUrl: hooks.url });
    hooks.secret = await gw.gateway.services.lifecycle.webhookSecrets.rotate(gw.gateway.orm.em.fork(), app.appId);
    frontend = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([smtp?.close(), hooks?.close()]);
  });

  it('records every event type once per occurrence, pages them for the partner, and the receiver gets each one signed', async () => {
    // sign-up (which signs in), a failed and a good login, a failed login on an unknown email
    const address = email('ada');
    const signedUp = await run(frontend, REGISTER, { input: { email: address, password: PASSWORD } });
    const ada = signedUp.data!.register.auth;
    expect((await run(frontend, LOGIN, { input: { email: address, password: 'not the password' } })).code).toBe('INVALID_CREDENTIALS');
    const session = (await run(frontend, LOGIN, { input: { email: address, password: PASSWORD } })).data!.login;
    expect((await run(frontend, LOGIN, { input: { email: email('nobody'), password: 'whatever it is' } })).code).toBe('INVALID_CREDENTIALS');
    // a wrong code, then the right one (sign-in by code)
    expect((await run(frontend, REQUEST_OTP, { input: { email: address, purpose: 'LOGIN' } })).errors).toEqual([]);
    await gw.delivered();
    const loginCode = smtp.codeFor(address);
    expect((await run(frontend, VALIDATE_OTP, { input: { email: address, code: loginCode === '000000' ? '111111' : '000000' } })).code).toBe('INVALID_OTP');
    expect((await run(frontend, VALIDATE_OTP, { input: { email: address, code: loginCode } })).errors).toEqual([]);
    // password change, then a reset
    expect((await run(bearer(session.accessToken), CHANGE_PASSWORD, { currentPassword: PASSWORD, newPassword: 'events password 2' })).errors).toEqual([]);
    const reset = await run(partner, gql`mutation($e: String!) { requestPasswordReset(input: { email: $e, sendEmail: false }) { verificationString } }`, { e: address });
    expect((await run(frontend, gql`mutation($t: String!) { resetPassword(input: { token: $t, password: "events password 3" }) }`, { t: reset.data!.requestPasswordReset.verificationString })).errors).toEqual([]);
    // email change by the customer, phone set by the partner
    const fresh = (await run(frontend, LOGIN, { input: { email: address, password: 'events password 3' } })).data!.login;
    const next = email('ada-new');
    expect((await run(bearer(fresh.accessToken), REQUEST_EMAIL_CHANGE, { newEmail: next })).errors).toEqual([]);
    await gw.delivered();
    expect((await run(bearer(fresh.accessToken), CONFIRM_CONTACT_CHANGE, { code: smtp.codeFor(next) })).errors).toEqual([]);
    expect((await run(partner, SET_USER_CONTACT, { id: ada.user.id, input: { phoneNumber: '+35799471234', verified: true } })).errors).toEqual([]);
    // a refresh token used after its rotation (past the grace interval)
    expect((await run(frontend, REFRESH, { refreshToken: fresh.refreshToken })).errors).toEqual([]);
    gw.clock.advance(11_000);
    expect((await run(frontend, REFRESH, { refreshToken: fresh.refreshToken })).code).toBe('REFRESH_TOKEN_REUSED');
    // suspension and reinstatement; suspending twice is one occurrence
    expect((await run(partner, SUSPEND_USER, { id: ada.user.id, reason: 'manual review' })).errors).toEqual([]);
    expect((await run(partner, SUSPEND_USER, { id: ada.user.id, reason: 'manual review' })).errors).toEqual([]);
    expect((await run(partner, REINSTATE_USER, { id: ada.user.id })).errors).toEqual([]);

    // a lockout on another account: five failures lock it (one login.locked), the refused sixth records nothing
    const bobAddress = email('bob');
    const bob = (await run(frontend, REGISTER, { input: { email: bobAddress, password: PASSWORD } })).data!.register.auth;
    for (let i = 0; i < 5; i++) expect((await run(frontend, LOGIN, { input: { email: bobAddress, password: `wrong ${i} password` } })).code).toBe('INVALID_CREDENTIALS');
    expect((await run(frontend, LOGIN, { input: { email: bobAddress, password: PASSWORD } })).code).toBe('TOO_MANY_ATTEMPTS');
    // and the erasure of that account
    expect((await run(partner, DELETE_USER, { id: bob.user.id })).errors).toEqual([]);

    const adaEvents = await allEvents(partner, { userId: ada.user.id });
    expect(countByType(adaEvents)).toEqual({
      'user.signed_up': 1,
      'login.succeeded': 4,
      'login.failed': 2,
      'password.changed': 1,
      'password.reset': 1,
      'email.changed': 1,
      'phone.changed': 1,
      'refresh_token.reused': 1,
      'user.suspended': 1,
      'user.reinstated': 1,
    });
    const bobEvents = await allEvents(partner, { userId: bob.user.id });
    expect(countByType(bobEvents)).toEqual({ 'user.signed_up': 1, 'login.succeeded': 1, 'login.failed': 5, 'login.locked': 1, 'user.deleted': 1 });
    // The erased customer's events keep their type and time, not where they came from.
    expect(bobEvents.filter((e) => e.type !== 'user.deleted').every((e) => e.ip === null && Object.keys(e.detail).length === 0)).toBe(true);
    const everything = await allEvents(partner);
    expect(everything.filter((e) => e.userId === null)).toMatchObject([{ type: 'login.failed', detail: { reason: 'invalid_credentials' } }]);
    expect(adaEvents.find((e) => e.type === 'user.suspended')!.detail).toEqual({ by: 'partner', reason: 'manual review' });
    expect(adaEvents.filter((e) => e.type === 'login.failed').map((e) => [e.detail.reason, e.ip])).toEqual([
      ['invalid_credentials', '127.0.0.1'],
      ['invalid_code', '127.0.0.1'],
    ]);
    // nothing secret or contact-like in any event
    expect(JSON.stringify(everything)).not.toMatch(/@example\.com|\+3579947|rt_|prt_|\$argon2/);
    // filters: by type and by time
    expect((await allEvents(partner, { type: 'login.locked' })).map((e) => e.userId)).toEqual([bob.user.id]);
    const last = everything.at(-1)!;
    expect((await allEvents(partner, { after: last.at })).map((e) => e.id)).toContain(last.id);
    expect((await run(partner, SECURITY_EVENTS, { filter: { type: 'login.maybe' } })).errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.type' });
    expect((await run(partner, SECURITY_EVENTS, { first: 101 })).code).toBe('BAD_USER_INPUT');
    // another app sees none of them
    const other = await gw.createApp('Unrelated');
    expect((await run(apolloClient(gw.url, { 'x-api-key': other.secretKey }), SECURITY_EVENTS, {})).data!.securityEvents.totalCount).toBe(0);

    // The receiver: every event once, with a valid signature, as the README's contract says.
    await drain();
    expect(hooks.badSignatures).toBe(0);
    expect(hooks.events.map((e) => e.id).sort()).toEqual(everything.map((e) => e.id).sort());
    for (const received of hooks.events) {
      const recorded = everything.find((e) => e.id === received.id)!;
      expect(received).toMatchObject({ type: recorded.type, appId: app.appId, userId: recorded.userId, eventIdHeader: received.id });
      expect(new Date(received.at).toISOString()).toBe(new Date(recorded.at).toISOString());
    }
    expect(hooks.events.find((e) => e.type === 'user.suspended')!.data).toEqual({ by: 'partner', reason: 'manual review' });
  });

  it('retries a refused delivery with the courier’s backoff, then marks it failed, visible in /metrics and the CLI', { timeout: 60_000 }, async () => {
    const before = hooks.events.length;
    hooks.fail = true;
    try {
      const signedUp = await run(frontend, REGISTER, { input: { email: email('retry'), password: PASSWORD } });
      const userId = signedUp.data!.register.user.id;
      await drain();
      expect(hooks.events).toHaveLength(before);
      // Not again before its backoff is over…
      const requests = hooks.requests;
      await drain();
      expect(hooks.requests).toBe(requests);
      // …then again, and delivered once the receiver is back.
      hooks.fail = false;
      gw.clock.advance(5_000);
      await drain();
      // Both delivered once; retried messages due at the same moment go in no set order (at least
      // once, not in order: receivers order by the event's `at`).
      expect(hooks.events.slice(before).map((e) => [e.type, e.userId]).sort()).toEqual([
        ['login.succeeded', userId],
        ['user.signed_up', userId],
      ]);

      hooks.fail = true;
      expect((await run(partner, SUSPEND_USER, { id: userId, reason: 'never delivered' })).errors).toEqual([]);
      // WEBHOOK_MAX_ATTEMPTS (12) attempts, each after its backoff (at most 15 minutes apart).
      for (let attempt = 0; attempt < 12; attempt++) {
        await drain();
        gw.clock.advance(15 * 60_000);
      }
      const suspendedEvent = (await allEvents(partner, { userId, type: 'user.suspended' }))[0];
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toMatch(/gatehouse_outbox_failed_total\{channel="webhook"\} 1\b/);
      expect(Number(/gatehouse_outbox_retries_total\{channel="webhook"\} (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(12);
      expect(Number(/gatehouse_webhooks_delivered_total (\d+)/.exec(metrics)![1])).toBe(hooks.events.length);
      const listed = await runCli(gw.gateway.config.databaseUrl, 'outbox', '--app', app.appId, '--failed', '--json');
      expect(listed.code).toBe(0);
      const failed = JSON.parse(listed.stdout);
      expect(failed).toHaveLength(1);
      // The failed delivery is the event's id: the partner reads what it was with securityEvents.
      expect(failed[0]).toMatchObject({ id: suspendedEvent.id, appId: app.appId, channel: 'WEBHOOK', to: hooks.url, status: 'failed', attempts: 12, lastError: expect.stringContaining('HTTP 503') });
      expect(hooks.events.filter((e) => e.type === 'user.suspended' && e.userId === userId)).toEqual([]);
    } finally {
      hooks.fail = false;
    }
  });
});

describe('retention (SPEC §4.10)', () => {
  it('purges events past their app’s retention on its own, keeping a longer-retention app’s', async () => {
    const gw = await startGateway({ securityEventPurgeIntervalMs: 50 });
    try {
      const shortApp = await gw.createApp('Default retention');
      const longApp = await gw.createApp('Kept a year', { securityEventRetentionDays: 365 });
      for (const a of [shortApp, longApp]) {
        const client = apolloClient(gw.url, { 'x-api-key': a.publishableKey });
        expect((await run(client, REGISTER, { input: { email: email('kept'), password: PASSWORD } })).errors).toEqual([]);
      }
      const em = () => gw.gateway.orm.em.fork();
      const countOf = (appId: string) => em().count(SecurityEvent, { app: appId });
      expect(await countOf(shortApp.appId)).toBe(2);
      gw.clock.advance(91 * 86_400_000);
      await vi.waitFor(async () => expect(await countOf(shortApp.appId)).toBe(0), { timeout: 5_000, interval: 25 });
      expect(await countOf(longApp.appId)).toBe(2);
      expect(await em().count(App, {})).toBe(2);
    } finally {
      await gw.close();
    }
  });
});

describe.skipIf(Boolean(TEST_DATABASE_URL))('webhooks across a crash (SPEC §4.10, §6)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-webhook-crash-'));
  const databaseUrl = `sqlite:${join(dir, 'gatehouse.db')}`;
  const bin = join(__dirname, '..', 'bin', 'gatehouse.js');
  const children: ChildProcess[] = [];
  let hooks: WebhookPeer;
  beforeAll(async () => {
    hooks = await startWebhookPeer();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await hooks?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function serve(extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, [bin, 'serve'], {
      env: { ...process.env, GATEHOUSE_FROM_SOURCE: '1', DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', COURIER_POLL_MS: '100', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match && /Demo app/.test(stdout)) resolve({ child, url: match[1] });
      });
      child.on('exit', (code, signal) => reject(new Error(`gatehouse serve exited (${code ?? signal}) before listening`)));
    });
  }

  it('delivers an event committed before a kill -9 once the gateway is back', { timeout: 120_000 }, async () => {
    const created = await runCli(databaseUrl, 'app', 'create', '--name', 'Hooked', '--settings', JSON.stringify({ webhookUrl: hooks.url }), '--json');
    expect(created.code).toBe(0);
    const { appId, publishableKey } = JSON.parse(created.stdout);
    hooks.secret = /Webhook signing secret \(shown only this once\): (whsec_\S+)/.exec(created.stderr)![1];

    // The courier of the first process delivers nothing for a minute: the kill comes first.
    const first = await serve({ COURIER_START_DELAY_MS: '60000' });
    const response = await fetch(`${first.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': publishableKey, connection: 'close' },
      body: JSON.stringify({ query: 'mutation R($input: RegisterInput!) { register(input: $input) { user { id } } }', variables: { input: { email: 'crash@example.com', password: PASSWORD } } }),
    });
    const userId = ((await response.json()) as { data: { register: { user: { id: string } } } }).data.register.user.id;
    // The events are committed with their deliveries; nothing has been sent. Kill the gateway now.
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;
    expect(hooks.requests).toBe(0);

    // Meanwhile the operator replaces the signing secret: what is sent from now on is signed with the new one.
    const rotated = await runCli(databaseUrl, 'app', 'webhook-secret', appId);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout.trim()).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(rotated.stdout.trim()).not.toBe(hooks.secret);
    hooks.secret = rotated.stdout.trim();
    await serve();
    await vi.waitFor(() => expect(hooks.events.map((e) => e.type).sort()).toEqual(['login.succeeded', 'user.signed_up']), { timeout: 30_000, interval: 50 });
    expect(hooks.events.every((e) => e.appId === appId && e.userId === userId)).toBe(true);
    expect(hooks.badSignatures).toBe(0);
  });
});
