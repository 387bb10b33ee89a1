import { gql } from '@apollo/client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, postRaw, run, type Client } from './helpers/client';
import { CHECK_EMAIL, CHECK_PHONE, CREATE_USER, USER, USERS } from './helpers/documents';
import { startGateway, type TestGateway } from './helpers/gateway';

let gw: TestGateway;
let partner: Client;
let secretKey: string;
const long = 'x'.repeat(5000);

beforeAll(async () => {
  gw = await startGateway();
  const app = await gw.createApp('Bad input');
  secretKey = app.secretKey;
  partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
});
afterAll(() => gw.close());

/** Each row: an operation with one bad value, and the field the answer must name. */
const CASES: { name: string; document: ReturnType<typeof gql>; variables: Record<string, unknown>; field: string }[] = [
  { name: 'malformed email in checkEmail', document: CHECK_EMAIL, variables: { email: 'not-an-email' }, field: 'email' },
  { name: 'email without domain', document: CHECK_EMAIL, variables: { email: 'ada@' }, field: 'email' },
  { name: '5,000-character email', document: CHECK_EMAIL, variables: { email: `${long}@example.com` }, field: 'email' },
  { name: 'homoglyph local part', document: CHECK_EMAIL, variables: { email: 'аda@example.com' }, field: 'email' },
  { name: 'wrong phone number', document: CHECK_PHONE, variables: { phoneNumber: '12345' }, field: 'phoneNumber' },
  { name: 'letters as phone number', document: CHECK_PHONE, variables: { phoneNumber: '+1-call-me' }, field: 'phoneNumber' },
  { name: 'unknown country code', document: CHECK_PHONE, variables: { phoneNumber: '99478230', countryCode: 'XYZ' }, field: 'countryCode' },
  { name: '5,000-character phone', document: CHECK_PHONE, variables: { phoneNumber: long }, field: 'phoneNumber' },
  { name: 'malformed email in createUser', document: CREATE_USER, variables: { input: { email: 'a@b' } }, field: 'email' },
  { name: '5,000-character first name', document: CREATE_USER, variables: { input: { firstName: long } }, field: 'firstName' },
  { name: '5,000-character address', document: CREATE_USER, variables: { input: { address: long } }, field: 'address' },
  { name: '5,000-character externalId', document: CREATE_USER, variables: { input: { externalId: long } }, field: 'externalId' },
  { name: 'impossible date of birth', document: CREATE_USER, variables: { input: { dob: '1990-02-30' } }, field: 'dob' },
  { name: 'future date of birth', document: CREATE_USER, variables: { input: { dob: '2999-01-01' } }, field: 'dob' },
  { name: 'wrong phone in createUser', document: CREATE_USER, variables: { input: { phoneNumber: '+999' } }, field: 'phoneNumber' },
  { name: 'wrong phone in phoneNumbers list', document: CREATE_USER, variables: { input: { phoneNumbers: [{ phoneNumber: '000' }] } }, field: 'phoneNumbers.0.phoneNumber' },
  { name: 'bad country', document: CREATE_USER, variables: { input: { country: 'Narnia' } }, field: 'country' },
  { name: 'malformed email in user lookup', document: USER, variables: { email: 'nope' }, field: 'email' },
  { name: 'malformed email in users filter', document: USERS, variables: { filter: { email: 'nope' } }, field: 'email' },
  { name: 'first name without last name in users filter', document: USERS, variables: { filter: { firstName: 'Ada' } }, field: 'lastName' },
  { name: 'wrong variable type', document: CHECK_EMAIL, variables: { email: 42 }, field: 'email' },
  { name: 'wrong enum value', document: CREATE_USER, variables: { input: { optInEmail: 'MAYBE' } }, field: 'optInEmail' },
];

describe('bad input answers BAD_USER_INPUT naming the field, never INTERNAL', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const result = await run(partner, c.document, c.variables);
      expect(result.code).toBe('BAD_USER_INPUT');
      expect(result.errors[0].extensions!.field).toBe(c.field);
      expect(JSON.stringify(result.errors)).not.toMatch(/stack|\.ts:|node_modules|SELECT|sqlite/i);
    });
  }

  it('leaves nothing behind after a refused createUser', async () => {
    await run(partner, CREATE_USER, { input: { email: 'half@example.com', dob: 'yesterday' } });
    const found = await run(partner, USER, { email: 'half@example.com' });
    expect(found.data!.user).toBeNull();
  });

  it('answers a body that is not JSON with 400 and BAD_USER_INPUT', async () => {
    const response = await postRaw(gw.url, '{"query": ', { 'x-api-key': secretKey });
    expect(response.status).toBe(400);
    expect(response.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('answers a body over 100 KB with 413', async () => {
    const response = await postRaw(gw.url, JSON.stringify({ query: '{ __typename }', variables: { x: 'y'.repeat(200_000) } }), { 'x-api-key': secretKey });
    expect(response.status).toBe(413);
  });

  it('refuses batched (array) requests', async () => {
    const response = await postRaw(gw.url, JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]), { 'x-api-key': secretKey });
    expect(response.status).toBe(400);
    expect(response.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});
