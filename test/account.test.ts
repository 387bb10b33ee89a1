import { gql } from '@apollo/client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, run, type Client } from './helpers/client';
import { startSmtpPeer, type SmtpPeer } from './helpers/delivery-peers';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';
import { LOGIN, ME, REFRESH, REGISTER } from './helpers/session-documents';

const REQUEST_RESET = gql`
  mutation RequestReset($input: RequestPasswordResetInput!) {
    requestPasswordReset(input: $input) { sent verificationString resetLink expiresIn }
  }
`;
const RESET = gql`mutation Reset($input: ResetPasswordInput!) { resetPassword(input: $input) }`;
const AUTOLOGIN = gql`
  mutation Autologin($input: AutologinInput!) { autologin(input: $input) { status registered lt loginUrl expiresIn } }
`;
const EXCHANGE = gql`
  mutation Exchange($lt: String!) {
    exchangeLoginTicket(lt: $lt) { accessToken refreshToken registrationRequired user { id externalId firstName } }
  }
`;
const ACCEPT = gql`
  mutation Accept($input: LegalAgreementInput!) { acceptLegalAgreement(input: $input) { id deviceUuid documents acceptedAt } }
`;
const LEGAL_ME = gql`query { me { id legalAccepted } }`;

let gw: TestGateway;
let app: TestApp;
let frontend: Client;
let partner: Client;
let seq = 0;
const email = () => `acct${++seq}-${Date.now()}@example.com`;
const PASSWORD = 'original password';
const bearer = (token: string) => apolloClient(gw.url, { authorization: `Bearer ${token}` });

beforeAll(async () => {
  gw = await startGateway();
  app = await gw.createApp('Account', {
    resetPasswordUrl: 'https://shop.example.com/reset',
    autologinUrl: 'https://a.cstmapp.com/p/898865',
    allowedOrigins: ['https://shop.example.com'],
    clientAutologin: true,
  });
  frontend = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
  partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
});
afterAll(() => gw.close());

async function signUp(address = email()) {
  const result = await run(frontend, REGISTER, { input: { email: address, password: PASSWORD } });
  expect(result.errors).toEqual([]);
  return result.data!.register.auth;
}

describe('password reset, server to server (SessionM)', () => {
  it('gives a secret key the verification string and link, resets once, and ends every session', async () => {
    const address = email();
    const auth = await signUp(address);
    const requested = await run(partner, REQUEST_RESET, { input: { email: address.toUpperCase(), sendEmail: false } });
    expect(requested.errors).toEqual([]);
    const { verificationString, resetLink, expiresIn, sent } = requested.data!.requestPasswordReset;
    expect(sent).toBe(false);
    expect(expiresIn).toBe(3600);
    expect(resetLink).toBe(`https://shop.example.com/reset?token=${encodeURIComponent(verificationString)}`);

    const weak = await run(frontend, RESET, { input: { token: verificationString, password: 'short' } });
    expect(weak.code).toBe('WEAK_PASSWORD');
    const reset = await run(frontend, RESET, { input: { token: verificationString, password: 'a new password' } });
    expect(reset.errors).toEqual([]);

    expect((await run(frontend, LOGIN, { input: { email: address, password: PASSWORD } })).code).toBe('INVALID_CREDENTIALS');
    expect((await run(frontend, LOGIN, { input: { email: address, password: 'a new password' } })).errors).toEqual([]);
    expect((await run(frontend, REFRESH, { refreshToken: auth.refreshToken })).code).toBe('INVALID_REFRESH_TOKEN');
    expect((await run(bearer(auth.accessToken), ME)).code).toBe('UNAUTHENTICATED');
    const again = await run(frontend, RESET, { input: { token: verificationString, password: 'another password' } });
    expect(again.code).toBe('INVALID_RESET_TOKEN');
  });

  it('accepts userId, replaces an older link with a newer one, and expires after an hour', async () => {
    const auth = await signUp();
    const first = (await run(partner, REQUEST_RESET, { input: { userId: auth.user.id, sendEmail: false } })).data!.requestPasswordReset;
    const second = (await run(partner, REQUEST_RESET, { input: { userId: auth.user.id, sendEmail: false } })).data!.requestPasswordReset;
    expect((await run(frontend, RESET, { input: { token: first.verificationString, password: 'a new password' } })).code).toBe('INVALID_RESET_TOKEN');
    gw.clock.advance(3601 * 1000);
    try {
      expect((await run(frontend, RESET, { input: { token: second.verificationString, password: 'a new password' } })).code).toBe('INVALID_RESET_TOKEN');
    } finally {
      gw.clock.advance(-3601 * 1000);
    }
  });

  it('answers USER_NOT_FOUND to a secret key, and never gives a publishable key the verification string', async () => {
    expect((await run(partner, REQUEST_RESET, { input: { email: email(), sendEmail: false } })).code).toBe('USER_NOT_FOUND');
    const address = email();
    await signUp(address);
    const forbidden = await run(frontend, REQUEST_RESET, { input: { email: address, sendEmail: false } });
    expect(forbidden.code).toBe('FORBIDDEN');
    const unknown = await run(frontend, REQUEST_RESET, { input: { email: email() } });
    expect(unknown.errors).toEqual([]);
    expect(unknown.data!.requestPasswordReset).toEqual({ sent: true, verificationString: null, resetLink: null, expiresIn: null });
  });

  it('refuses a made-up token with INVALID_RESET_TOKEN', async () => {
    for (const token of ['prt_' + 'A'.repeat(43), 'nope', 'x'.repeat(300)]) {
      expect((await run(frontend, RESET, { input: { token, password: 'a new password' } })).code).toBe('INVALID_RESET_TOKEN');
    }
  });
});

describe('password reset by email (publishable key)', () => {
  let smtp: SmtpPeer;
  let mailing: TestGateway;
  let shop: Client;

  beforeAll(async () => {
    smtp = await startSmtpPeer();
    mailing = await startGateway({ smtpUrl: smtp.url, emailFrom: 'Shop <no-reply@shop.example.com>' });
    const mailApp = await mailing.createApp('Mail shop', { brandName: 'Shop', resetPasswordUrl: 'https://shop.example.com/reset' });
    shop = apolloClient(mailing.url, { 'x-api-key': mailApp.publishableKey });
  });
  afterAll(async () => {
    await mailing.close();
    await smtp.close();
  });

  it('mails the link to a real SMTP server and returns nothing secret; the mailed token resets the password', async () => {
    const address = email();
    expect((await run(shop, REGISTER, { input: { email: address, password: PASSWORD } })).errors).toEqual([]);
    const requested = await run(shop, REQUEST_RESET, { input: { email: address } });
    expect(requested.errors).toEqual([]);
    expect(requested.data!.requestPasswordReset).toEqual({ sent: true, verificationString: null, resetLink: null, expiresIn: null });
    await mailing.delivered();
    const mails = smtp.to(address);
    expect(mails).toHaveLength(1);
    expect(mails[0].subject).toBe('Reset your Shop password');
    const token = /https:\/\/shop\.example\.com\/reset\?token=(\S+)/.exec(mails[0].text)?.[1];
    expect(token).toBeDefined();
    expect((await run(shop, RESET, { input: { token: decodeURIComponent(token!), password: 'mailed new password' } })).errors).toEqual([]);
    expect((await run(shop, LOGIN, { input: { email: address, password: 'mailed new password' } })).errors).toEqual([]);
  });

  it('sends nothing for an unknown email and answers the same', async () => {
    const address = email();
    const requested = await run(shop, REQUEST_RESET, { input: { email: address } });
    expect(requested.data!.requestPasswordReset).toEqual({ sent: true, verificationString: null, resetLink: null, expiresIn: null });
    await mailing.delivered();
    expect(smtp.to(address)).toHaveLength(0);
  });

  it('answers at once while the SMTP server refuses; the link goes out once the server accepts again', async () => {
    const address = email();
    await run(shop, REGISTER, { input: { email: address, password: PASSWORD } });
    smtp.fail = true;
    try {
      expect((await run(shop, REQUEST_RESET, { input: { email: address } })).errors).toEqual([]);
      await mailing.delivered();
      expect(smtp.to(address)).toHaveLength(0);
    } finally {
      smtp.fail = false;
    }
    // the courier's next attempt (5 s later on the gateway's clock)
    mailing.clock.advance(6_000);
    await mailing.drainOutbox();
    const token = /token=(\S+)/.exec(smtp.to(address)[0].text)?.[1];
    expect((await run(shop, RESET, { input: { token: decodeURIComponent(token!), password: 'retried new password' } })).errors).toEqual([]);
  });
});

describe('autologin (Easypromos)', () => {
  it('creates the user once by externalId (registered true, then false) and issues a ticket and login URL', async () => {
    const input = { externalId: 'my_user_id', firstName: 'John', lastName: 'Smith' };
    const first = await run(partner, AUTOLOGIN, { input });
    expect(first.errors).toEqual([]);
    expect(first.data!.autologin).toMatchObject({ status: 1, registered: true, expiresIn: 300 });
    expect(first.data!.autologin.loginUrl).toBe(`https://a.cstmapp.com/p/898865?lt=${encodeURIComponent(first.data!.autologin.lt)}`);
    const second = await run(partner, AUTOLOGIN, { input });
    expect(second.data!.autologin.registered).toBe(false);
    expect(second.data!.autologin.lt).not.toBe(first.data!.autologin.lt);

    const session = await run(frontend, EXCHANGE, { lt: first.data!.autologin.lt });
    expect(session.errors).toEqual([]);
    expect(session.data!.exchangeLoginTicket.user).toMatchObject({ externalId: 'my_user_id', firstName: 'John' });
    expect(session.data!.exchangeLoginTicket.registrationRequired).toBe(false);
    expect((await run(bearer(session.data!.exchangeLoginTicket.accessToken), ME)).errors).toEqual([]);
  });

  it('treats a numeric externalId as the same string', async () => {
    const a = await run(partner, AUTOLOGIN, { input: { externalId: 4242, firstName: 'N', lastName: 'Um' } });
    const b = await run(partner, AUTOLOGIN, { input: { externalId: '4242', firstName: 'N', lastName: 'Um' } });
    expect(a.data!.autologin.registered).toBe(true);
    expect(b.data!.autologin.registered).toBe(false);
  });

  it('uses a ticket once, only within 5 minutes, only at its own app', async () => {
    const lt = async () => (await run(partner, AUTOLOGIN, { input: { externalId: 'ticket-user', firstName: 'T', lastName: 'U' } })).data!.autologin.lt;
    const once = await lt();
    expect((await run(frontend, EXCHANGE, { lt: once })).errors).toEqual([]);
    expect((await run(frontend, EXCHANGE, { lt: once })).code).toBe('INVALID_LOGIN_TICKET');

    const late = await lt();
    gw.clock.advance(301 * 1000);
    try {
      expect((await run(frontend, EXCHANGE, { lt: late })).code).toBe('INVALID_LOGIN_TICKET');
    } finally {
      gw.clock.advance(-301 * 1000);
    }
    const elsewhere = await lt();
    const other = await gw.createApp('Other promo');
    expect((await run(apolloClient(gw.url, { 'x-api-key': other.publishableKey }), EXCHANGE, { lt: elsewhere })).code).toBe('INVALID_LOGIN_TICKET');
    expect((await run(frontend, EXCHANGE, { lt: 'lt_garbage_garbage' })).code).toBe('INVALID_LOGIN_TICKET');
  });

  it('marks the session registrationRequired when skipRegistration is false', async () => {
    const result = await run(partner, AUTOLOGIN, { input: { externalId: 'needs-form', firstName: 'F', lastName: 'Orm', skipRegistration: false } });
    const session = await run(frontend, EXCHANGE, { lt: result.data!.autologin.lt });
    expect(session.data!.exchangeLoginTicket.registrationRequired).toBe(true);
  });

  it('maps the reference errors: missing fields name the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ externalId: ' ', firstName: 'A', lastName: 'B' }, 'externalId'],
      [{ externalId: 'x', firstName: '', lastName: 'B' }, 'firstName'],
      [{ externalId: 'x', firstName: 'A', lastName: '  ' }, 'lastName'],
      [{ externalId: 'x', lastName: 'B' }, 'firstName'],
    ];
    for (const [input, field] of cases) {
      const result = await run(partner, AUTOLOGIN, { input });
      expect(result.code, JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(result.errors[0].extensions!.field).toBe(field);
    }
  });

  it('works client side from an allowed origin with no credentials, and refuses a foreign origin or a key', async () => {
    const input = { externalId: 'browser-user', firstName: 'Web', lastName: 'User', appId: app.appId };
    const allowed = await run(apolloClient(gw.url, { origin: 'https://shop.example.com' }), AUTOLOGIN, { input });
    expect(allowed.errors).toEqual([]);
    expect(allowed.data!.autologin.status).toBe(1);
    const foreign = await run(apolloClient(gw.url, { origin: 'https://evil.example.net' }), AUTOLOGIN, { input });
    expect(foreign.code).toBe('INVALID_DOMAIN');
    const noOrigin = await run(apolloClient(gw.url), AUTOLOGIN, { input });
    expect(noOrigin.code).toBe('INVALID_DOMAIN');
    const withKey = await run(apolloClient(gw.url, { origin: 'https://shop.example.com', 'x-api-key': app.publishableKey }), AUTOLOGIN, { input });
    expect(withKey.code).toBe('NO_TOKEN_ALLOWED');
    const withBadToken = await run(apolloClient(gw.url, { origin: 'https://shop.example.com', authorization: 'Bearer nope' }), AUTOLOGIN, { input });
    expect(withBadToken.code).toBe('NO_TOKEN_ALLOWED');
    const publishableServerSide = await run(frontend, AUTOLOGIN, { input });
    expect(publishableServerSide.code).toBe('FORBIDDEN');
  });
});

describe('legal acceptance (Menu.app)', () => {
  it('shows legalAccepted false until the user accepts, when the app requires it', async () => {
    const strict = await gw.createApp('Legal', { requireLegalAcceptance: true });
    const client = apolloClient(gw.url, { 'x-api-key': strict.publishableKey });
    const auth = (await run(client, REGISTER, { input: { email: email(), password: PASSWORD } })).data!.register.auth;
    expect((await run(bearer(auth.accessToken), LEGAL_ME)).data!.me.legalAccepted).toBe(false);
    const accepted = await run(bearer(auth.accessToken), ACCEPT, { input: { deviceUuid: 'device-1', documents: ['terms-v3', 'privacy-v2'] } });
    expect(accepted.errors).toEqual([]);
    expect(accepted.data!.acceptLegalAgreement).toMatchObject({ deviceUuid: 'device-1', documents: ['terms-v3', 'privacy-v2'] });
    expect(Date.parse(accepted.data!.acceptLegalAgreement.acceptedAt)).not.toBeNaN();
    expect((await run(bearer(auth.accessToken), LEGAL_ME)).data!.me.legalAccepted).toBe(true);
    const empty = await run(bearer(auth.accessToken), ACCEPT, { input: { deviceUuid: 'device-1', documents: [] } });
    expect(empty.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'documents' });
  });

  it('counts as accepted for an app that does not require it', async () => {
    const auth = await signUp();
    expect((await run(bearer(auth.accessToken), LEGAL_ME)).data!.me.legalAccepted).toBe(true);
  });
});
