import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, run } from './helpers/client';
import { CHECK_EMAIL, CHECK_PHONE, CREATE_USER, UPDATE_USER, USER, USERS } from './helpers/documents';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';

let gw: TestGateway;
let a: TestApp;
let b: TestApp;
let aliceId: string;

beforeAll(async () => {
  gw = await startGateway();
  a = await gw.createApp('Brand A');
  b = await gw.createApp('Brand B');
  const created = await run(apolloClient(gw.url, { 'x-api-key': a.secretKey }), CREATE_USER, {
    input: { email: 'alice@example.com', phoneNumber: '+35799111222', externalId: 'ext-1', firstName: 'Alice', lastName: 'Adams' },
  });
  aliceId = created.data!.createUser.id;
});
afterAll(() => gw.close());

describe('tenant isolation (SPEC §1)', () => {
  it("never shows app A's user to app B's keys", async () => {
    const bSecret = apolloClient(gw.url, { 'x-api-key': b.secretKey });
    const bPublic = apolloClient(gw.url, { 'x-api-key': b.publishableKey });
    expect((await run(bPublic, CHECK_EMAIL, { email: 'alice@example.com' })).data!.checkEmail.exists).toBe(false);
    expect((await run(bPublic, CHECK_PHONE, { phoneNumber: '+35799111222' })).data!.checkPhoneNumber.exists).toBe(false);
    for (const lookup of [{ id: aliceId }, { email: 'alice@example.com' }, { externalId: 'ext-1' }, { phoneNumber: '+35799111222' }]) {
      const result = await run(bSecret, USER, lookup);
      expect(result.errors).toEqual([]);
      expect(result.data!.user).toBeNull();
    }
    const list = await run(bSecret, USERS, { filter: {} });
    expect(list.data!.users.totalCount).toBe(0);
    const update = await run(bSecret, UPDATE_USER, { id: aliceId, input: { firstName: 'Mallory' } });
    expect(update.code).toBe('USER_NOT_FOUND');
  });

  it('lets the same email and phone exist once in each app', async () => {
    const result = await run(apolloClient(gw.url, { 'x-api-key': b.secretKey }), CREATE_USER, {
      input: { email: 'ALICE@example.com', phoneNumber: '+35799111222', externalId: 'ext-1' },
    });
    expect(result.errors).toEqual([]);
    expect(result.data!.createUser.id).not.toBe(aliceId);
    const aView = await run(apolloClient(gw.url, { 'x-api-key': a.secretKey }), USER, { id: aliceId });
    expect(aView.data!.user.firstName).toBe('Alice');
  });
});
