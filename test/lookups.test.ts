import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, run, type Client } from './helpers/client';
import { CHECK_EMAIL, CHECK_PHONE, CREATE_USER, UPDATE_USER, USER, USERS } from './helpers/documents';
import { startGateway, type TestGateway } from './helpers/gateway';

let gw: TestGateway;
let partner: Client;
let frontend: Client;

beforeAll(async () => {
  gw = await startGateway();
  const app = await gw.createApp('Lookups');
  partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
  frontend = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
});
afterAll(() => gw.close());

describe('S2S create and lookups (SessionM steps 1, 2, 5, 6)', () => {
  it('creates a profile and finds it by email case-insensitively, by id, by externalId and by phone', async () => {
    const created = await run(partner, CREATE_USER, {
      input: {
        email: 'Zzz@Example.com', firstName: 'John', lastName: 'Smith', externalId: '888888888', externalIdType: 'facebook',
        dob: '1980-01-01', country: 'USA', phoneNumber: '+16175550123',
        phoneNumbers: [{ phoneNumber: '2025550143', countryCode: 'US', phoneType: 'home', preferenceFlags: ['primary'] }],
      },
    });
    expect(created.errors).toEqual([]);
    const user = created.data!.createUser;
    expect(user.email).toBe('Zzz@Example.com');
    expect(user.country).toBe('US');
    expect(user.referrerCode).toMatch(/^JOHNS-[2-9A-Z]{6}$/);
    expect(user.identifiers).toEqual([{ externalId: '888888888', externalIdType: 'facebook' }]);
    expect(user.phoneNumbers).toEqual([
      { phoneNumber: '+16175550123', phoneType: 'mobile', preferenceFlags: [], verifiedOwnership: false },
      { phoneNumber: '+12025550143', phoneType: 'home', preferenceFlags: ['primary'], verifiedOwnership: false },
    ]);

    const check = await run(frontend, CHECK_EMAIL, { email: 'zzz@EXAMPLE.com' });
    expect(check.data!.checkEmail).toEqual({ exists: true, isSocial: false });
    expect((await run(frontend, CHECK_EMAIL, { email: 'nobody@example.com' })).data!.checkEmail.exists).toBe(false);

    for (const lookup of [{ email: 'ZZZ@example.COM' }, { id: user.id }, { externalId: '888888888' }, { phoneNumber: '+1 617 555 0123' }]) {
      const found = await run(partner, USER, lookup);
      expect(found.errors, JSON.stringify(lookup)).toEqual([]);
      expect(found.data!.user.id).toBe(user.id);
    }
    expect((await run(partner, USER, { email: 'missing@example.com' })).data!.user).toBeNull();
  });

  it('checks phone numbers given in E.164 or national form with an alpha-2 or alpha-3 country', async () => {
    await run(partner, CREATE_USER, { input: { phoneNumber: '99478231', countryCode: 'CYP', firstName: 'Ahmed', lastName: 'Samir' } });
    for (const args of [{ phoneNumber: '+35799478231' }, { phoneNumber: '99478231', countryCode: 'CY' }, { phoneNumber: '99 478 231', countryCode: 'CYP' }]) {
      const result = await run(frontend, CHECK_PHONE, args);
      expect(result.errors).toEqual([]);
      expect(result.data!.checkPhoneNumber.exists).toBe(true);
    }
    expect((await run(frontend, CHECK_PHONE, { phoneNumber: '+35799478239' })).data!.checkPhoneNumber.exists).toBe(false);
  });

  it('updates a profile and refuses a duplicate email with EMAIL_TAKEN', async () => {
    const a = (await run(partner, CREATE_USER, { input: { email: 'upd-a@example.com' } })).data!.createUser;
    const updated = await run(partner, UPDATE_USER, { id: a.id, input: { firstName: 'Ada', lastName: 'Lovelace', dob: '1815-12-10', country: 'GBR' } });
    expect(updated.errors).toEqual([]);
    expect(updated.data!.updateUser).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', dob: '1815-12-10', country: 'GB' });
  });

  it('answers EMAIL_TAKEN for a second profile with the same email in any case', async () => {
    await run(partner, CREATE_USER, { input: { email: 'dup@example.com' } });
    const again = await run(partner, CREATE_USER, { input: { email: 'DUP@example.com' } });
    expect(again.code).toBe('EMAIL_TAKEN');
  });

  it('answers PHONE_TAKEN for a second profile with the same phone number', async () => {
    await run(partner, CREATE_USER, { input: { phoneNumber: '+447911123456' } });
    const again = await run(partner, CREATE_USER, { input: { phoneNumber: '07911 123456', countryCode: 'GB' } });
    expect(again.code).toBe('PHONE_TAKEN');
  });

  it('answers USER_NOT_FOUND when updating a user that does not exist', async () => {
    const result = await run(partner, UPDATE_USER, { id: '01a20828-0000-7000-8000-000000000000', input: { firstName: 'X' } });
    expect(result.code).toBe('USER_NOT_FOUND');
  });

  it('filters users by name and date of birth and pages with cursors', async () => {
    for (let i = 0; i < 5; i++) {
      await run(partner, CREATE_USER, { input: { email: `page${i}@example.com`, firstName: 'Page', lastName: 'Turner', dob: '1990-05-0' + (i + 1) } });
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const result: any = await run(partner, USERS, { filter: { firstName: 'page', lastName: 'TURNER' }, first: 2, after });
      expect(result.errors).toEqual([]);
      expect(result.data.users.totalCount).toBe(5);
      seen.push(...result.data.users.edges.map((e: any) => e.node.email));
      after = result.data.users.pageInfo.endCursor;
      expect(result.data.users.pageInfo.hasNextPage).toBe(page < 2);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `page${i}@example.com`));
    const byDob = await run(partner, USERS, { filter: { dob: '1990-05-03' } });
    expect(byDob.data!.users.edges.map((e: any) => e.node.email)).toEqual(['page2@example.com']);
  });

  it('refuses first outside 1–100 and a malformed cursor with BAD_USER_INPUT naming the argument', async () => {
    for (const first of [0, -1, 101, 100000]) {
      const result = await run(partner, USERS, { filter: {}, first });
      expect(result.code).toBe('BAD_USER_INPUT');
      expect(result.errors[0].extensions!.field).toBe('first');
    }
    // SPEC: `first: Int = 20`, so an explicit null means the default
    const defaulted = await run(partner, USERS, { filter: {}, first: null });
    expect(defaulted.errors).toEqual([]);
    expect(defaulted.data!.users.edges.length).toBe(Math.min(20, defaulted.data!.users.totalCount));
    const bad = await run(partner, USERS, { filter: {}, after: 'not-a-cursor' });
    expect(bad.code).toBe('BAD_USER_INPUT');
    expect(bad.errors[0].extensions!.field).toBe('after');
  });
});
