/**
 * What the GraphQL layers cost per field on `me` and `user(...)`, in one process, with storage
 * stubbed out: graphql-js alone (the bare type-graphql schema), then the served schema (the
 * shield's rules, the call limits). CPU µs per execute(), the document parsed and validated
 * once (as Apollo's cache does), so only execution is measured.
 *
 *   npx tsx bench/field-cost.ts
 *
 * "4 fields" is the bench's `me { id email firstName lastName }`; "all" selects every scalar
 * and list field of User (38, and the 6 of its one identifier and one phone number). The difference between the two, per extra field, is the
 * per-field cost of each schema.
 */
import 'reflect-metadata';
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { DEFAULT_APP_SETTINGS } from '../src/config/app-settings';
import type { UserRecord } from '../src/db/fast';
import type { RequestContext } from '../src/graphql/context';
import { buildBareSchema, buildServedSchema } from '../src/graphql/schema';

const CALLS = 4000;
const ROUNDS = 5;

const USER_ID = '01a2345b-0000-7000-8000-000000000001';
const APP_ID = '01a2345b-0000-7000-8000-0000000000aa';
const now = new Date();
const record = {
  id: USER_ID, appId: APP_ID, email: 'ada@example.com', emailKey: 'ada@example.com', emailVerified: true, phoneNumber: '+35799123456', phoneKey: '+35799123456',
  phoneVerified: false, passwordHash: 'x', externalId: 'ext-1', externalIdType: null, identifiers: [{ externalId: 'ext-1', externalIdType: null }], firstName: 'Ada',
  lastName: 'Lovelace', nameKey: 'ada lovelace', title: null, gender: null, dob: '1815-12-10', address: null, city: 'London', state: null, zip: null, country: 'GB',
  dma: null, locale: 'en', optedIn: false, optInEmail: 'PENDING', optInSms: 'PENDING', optInPush: 'PENDING', activated: true, suspended: false, testAccount: false,
  isSocial: false, accountStatus: 'good', proxyIds: [], tierLevels: [], phoneNumbers: [{ phoneNumber: '+35799123456', phoneType: 'mobile', preferenceFlags: ['primary'], verifiedOwnership: false }],
  profilePhotoUrl: null, referrerCode: 'ADALOV12', registeredAt: now, legalAcceptedAt: null, createdAt: now, updatedAt: now,
} as unknown as UserRecord;

const services = {
  users: {
    viewById: async () => record,
    view: async () => record,
  },
  callLimits: { take: async () => undefined },
};

function context(kind: 'bearer' | 'secret'): RequestContext {
  const app = { id: APP_ID, name: 'Bench', settings: {}, createdAt: now, updatedAt: now };
  const caller =
    kind === 'bearer'
      ? { kind, app, settings: DEFAULT_APP_SETTINGS, userId: USER_ID, sessionId: 's', scope: 'openid profile email phone', participant: false }
      : { kind, app, settings: DEFAULT_APP_SETTINGS, keyId: 'k' };
  return {
    requestId: 'r', ip: '127.0.0.1', origin: null, crossOrigin: false, userAgent: null, caller, em: undefined, reader: undefined, services,
    revealedUserIds: new Set<string>(), participantUserIds: new Set<string>(), reply: { requestError: false },
  } as unknown as RequestContext;
}

const ALL_FIELDS = `id externalId identifiers { externalId externalIdType } email emailVerified phoneNumber phoneVerified
  phoneNumbers { phoneNumber phoneType preferenceFlags verifiedOwnership } firstName lastName title gender dob address city state zip country dma locale
  optedIn optInEmail optInSms optInPush activated suspended testAccount isSocial accountStatus proxyIds tierLevels profilePhotoUrl referrerCode
  legalAccepted hasPassword registeredAt createdAt updatedAt`;

async function measure(label: string, schema: GraphQLSchema, document: DocumentNode, kind: 'bearer' | 'secret'): Promise<number> {
  const errors = validate(schema, document);
  if (errors.length) throw new Error(`${label}: ${errors[0].message}`);
  const once = async () => {
    const result = await execute({ schema, document, contextValue: context(kind), variableValues: { id: USER_ID } });
    if (result.errors?.length) throw new Error(`${label}: ${result.errors[0].message}`);
  };
  for (let i = 0; i < 500; i++) await once();
  const perCall: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage();
    for (let done = 0; done < CALLS; done += 50) await Promise.all(Array.from({ length: 50 }, once));
    const used = process.cpuUsage(start);
    perCall.push((used.user + used.system) / CALLS);
  }
  perCall.sort((a, b) => a - b);
  const median = perCall[Math.floor(ROUNDS / 2)];
  console.log(`${label.padEnd(58)} ${median.toFixed(1).padStart(7)} µs  (${perCall.map((v) => v.toFixed(0)).join(' / ')})`);
  return median;
}

async function main(): Promise<void> {
  const bare = buildBareSchema();
  const served = buildServedSchema();
  const documents = {
    me4: parse('query { me { id email firstName lastName } }'),
    meAll: parse(`query { me { ${ALL_FIELDS} } }`),
    user4: parse('query($id: ID) { user(id: $id) { id email firstName lastName } }'),
    userAll: parse(`query($id: ID) { user(id: $id) { ${ALL_FIELDS} } }`),
  };
  const fields = { few: 4, all: 38 };
  console.log(`node ${process.version}; CPU µs per execute(), median of ${ROUNDS} × ${CALLS}, 50 in flight; storage stubbed\n`);
  for (const [name, schema] of [['bare (type-graphql, no middleware)', bare], ['served (shield + call limits)', served]] as const) {
    const me4 = await measure(`${name}: me, 4 fields`, schema, documents.me4, 'bearer');
    const meAll = await measure(`${name}: me, all fields`, schema, documents.meAll, 'bearer');
    const user4 = await measure(`${name}: user(id), 4 fields`, schema, documents.user4, 'secret');
    const userAll = await measure(`${name}: user(id), all fields`, schema, documents.userAll, 'secret');
    const perField = ((meAll - me4) + (userAll - user4)) / 2 / (fields.all - fields.few);
    console.log(`${`${name}: per extra User field`.padEnd(58)} ${perField.toFixed(2).padStart(7)} µs\n`);
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
