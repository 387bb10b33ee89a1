import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kind, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, run } from './helpers/client';
import { startGateway, type TestGateway } from './helpers/gateway';

/**
 * Typed consumers (SPEC §7): what a frontend team does with our codegen.yml — generate, type
 * check their Apollo Client code against the result, and run a typed document for real.
 */

const ROOT = resolve(__dirname, '..');
const GENERATED = join(ROOT, 'client', 'generated');
const OPERATIONS = join(ROOT, 'client', 'operations');

function exec(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}`.trim() };
}

let gw: TestGateway;
let work: string;
beforeAll(async () => {
  // The configured output (client/generated/, git-ignored), exactly as `npm run codegen` writes it.
  const generated = exec('npx', ['graphql-codegen', '--config', 'codegen.yml']);
  expect(generated.status, generated.output).toBe(0);
  // Inside the repository so that node_modules resolves; .vitest-tmp/ is git-ignored.
  mkdirSync(join(ROOT, '.vitest-tmp'), { recursive: true });
  work = mkdtempSync(join(ROOT, '.vitest-tmp', 'codegen-'));
  gw = await startGateway();
}, 60_000);
afterAll(async () => {
  await gw?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('codegen', () => {
  it('generates a typed document for every operation in client/operations', () => {
    const code = readFileSync(join(GENERATED, 'graphql.ts'), 'utf8');
    const names = readdirSync(OPERATIONS)
      .filter((f) => f.endsWith('.graphql'))
      .flatMap((f) => parse(readFileSync(join(OPERATIONS, f), 'utf8')).definitions)
      .flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION && d.name ? [d.name.value] : []));
    expect(names).toContain('CheckEmail');
    for (const name of names) expect(code, name).toContain(`export const ${name}Document = `);
    expect(code).toMatch(/export type CheckEmailQueryVariables = Exact<\{\s*email: (string|Scalars\['String'\]\['input'\]);\s*\}>/);
  });

  it('type-checks Apollo Client code that uses the typed documents, and refuses misuse', () => {
    const relative = (file: string) => join('..', '..', 'client', 'generated', file);
    writeFileSync(
      join(work, 'usage.ts'),
      `import type { ApolloClient, NormalizedCacheObject } from '@apollo/client/core';
import { CheckEmailDocument, CreateUserDocument } from '${relative('graphql')}';

export async function lookUp(client: ApolloClient<NormalizedCacheObject>): Promise<boolean> {
  const { data } = await client.query({ query: CheckEmailDocument, variables: { email: 'ada@example.com' } });
  const exists: boolean = data.checkEmail.exists;
  const created = await client.mutate({ mutation: CreateUserDocument, variables: { input: { email: 'ada@example.com', optInEmail: 'CONFIRMED' } } });
  const id: string | undefined = created.data?.createUser.id;

  // Each line below must be a type error; if the generated types were loose, tsc would
  // report the directive as unused and this check would fail.
  // @ts-expect-error email is a String
  await client.query({ query: CheckEmailDocument, variables: { email: 42 } });
  // @ts-expect-error email is required
  await client.query({ query: CheckEmailDocument, variables: {} });
  // @ts-expect-error there is no such field in the result
  void data.checkEmail.password;
  // @ts-expect-error enum values are checked
  await client.mutate({ mutation: CreateUserDocument, variables: { input: { optInEmail: 'MAYBE' } } });
  return exists && id !== undefined;
}
`,
    );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['usage.ts', relative('index.ts')],
      }),
    );
    const checked = exec('npx', ['tsc', '-p', join(work, 'tsconfig.json')]);
    expect(checked.output.replace(/npm warn.*\n?/g, '').trim()).toBe('');
    expect(checked.status).toBe(0);
  });

  it('runs a generated document against a live server', async () => {
    const { CheckEmailDocument, CreateUserDocument } = await import(join(GENERATED, 'graphql.ts'));
    const app = await gw.createApp('Typed');
    const partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
    const created = await run(partner, CreateUserDocument, { input: { email: 'typed@example.com', firstName: 'Typed' } });
    expect(created.errors).toEqual([]);
    expect(created.data!.createUser).toMatchObject({ email: 'typed@example.com', firstName: 'Typed' });
    const web = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const found = await run(web, CheckEmailDocument, { email: 'typed@example.com' });
    expect(found.errors).toEqual([]);
    expect(found.data).toEqual({ checkEmail: { exists: true, isSocial: false } });
  });
});
