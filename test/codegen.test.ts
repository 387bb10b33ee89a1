import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kind, parse } from 'graphql';
import type { TypedDocumentNode } from '@apollo/client';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouseClient, memoryTokenStore } from '../client/apollo-client';
import { apolloClient, run } from './helpers/client';
import { startGateway, type TestGateway } from './helpers/gateway';

/**
 * Typed consumers (SPEC §7): what a frontend team does with our codegen.yml — generate, type
 * check their Apollo Client code against the result, and run a typed document for real.
 */

const ROOT = resolve(__dirname, '..');
const GENERATED = join(ROOT, 'client', 'generated');
const OPERATIONS = join(ROOT, 'client', 'operations');
const APOLLO_CLIENT = join(ROOT, 'client', 'apollo-client.ts');

/** The ```ts blocks of the README's "For frontend teams" section. */
function readmeFrontendSnippets(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## For frontend teams'), readme.indexOf('\n## ', readme.indexOf('## For frontend teams') + 1));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

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

  it('type-checks Apollo Client 4 code that uses the typed documents under strict, and refuses misuse', () => {
    const relative = (file: string) => join('..', '..', 'client', 'generated', file);
    writeFileSync(
      join(work, 'usage.ts'),
      `import type { ApolloClient } from '@apollo/client';
import { CheckEmailDocument, CreateUserDocument } from '${relative('graphql')}';

export async function lookUp(client: ApolloClient): Promise<boolean> {
  const { data } = await client.query({ query: CheckEmailDocument, variables: { email: 'ada@example.com' } });
  const exists: boolean = data?.checkEmail.exists ?? false;
  const created = await client.mutate({ mutation: CreateUserDocument, variables: { input: { email: 'ada@example.com', optInEmail: 'CONFIRMED' } } });
  const id: string | undefined = created.data?.createUser.id;

  // Each line below must be a type error; if the generated types were loose, tsc would
  // report the directive as unused and this check would fail.
  // @ts-expect-error Apollo Client 4: data is possibly undefined
  void data.checkEmail.exists;
  // @ts-expect-error email is a String
  await client.query({ query: CheckEmailDocument, variables: { email: 42 } });
  // @ts-expect-error email is required
  await client.query({ query: CheckEmailDocument, variables: {} });
  // @ts-expect-error there is no such field in the result
  void data?.checkEmail.password;
  // @ts-expect-error enum values are checked
  await client.mutate({ mutation: CreateUserDocument, variables: { input: { optInEmail: 'MAYBE' } } });
  return exists && id !== undefined;
}
`,
    );
    // The README's frontend snippets, as they are: imports on top, each body in a function.
    const snippets = readmeFrontendSnippets().filter((code) => code !== readFileSync(APOLLO_CLIENT, 'utf8'));
    expect(snippets).toHaveLength(2);
    const imports = new Set<string>();
    const bodies = snippets.map((code, i) => {
      const lines = code.split('\n');
      for (const line of lines.filter((l) => l.startsWith('import '))) {
        imports.add(line.replace("'./generated/graphql'", `'${relative('graphql')}'`).replace("'./apollo-client'", "'../../client/apollo-client'"));
      }
      return `export async function readmeExample${i}() {\n${lines.filter((l) => !l.startsWith('import ')).join('\n')}\n}\n`;
    });
    writeFileSync(join(work, 'readme.ts'), `${[...imports].join('\n')}\n\n${bodies.join('\n')}`);
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
        // client/apollo-client.ts too, as browser code: DOM, no Node types
        files: ['usage.ts', 'readme.ts', relative('index.ts'), APOLLO_CLIENT],
      }),
    );
    const checked = exec('npx', ['tsc', '-p', join(work, 'tsconfig.json')]);
    expect(checked.output.replace(/npm warn.*\n?/g, '').trim()).toBe('');
    expect(checked.status).toBe(0);
  });

  it('shows client/apollo-client.ts in the README as it is', () => {
    expect(readmeFrontendSnippets()).toContain(readFileSync(APOLLO_CLIENT, 'utf8'));
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
  it('a frontend session end to end with Apollo Client 4: sign up, me, expiry, automatic refresh, me again, logout', async () => {
    // The generated documents (typed in the type-check above; loaded here at run time, untyped for tsc
    // since client/generated/ exists only after codegen).
    const { RegisterWithPasswordDocument, MeDocument, LogoutDocument } = (await import(join(GENERATED, 'graphql.ts'))) as Record<string, TypedDocumentNode<any, any>>;
    const app = await gw.createApp('Frontend');
    const tokens = memoryTokenStore();
    const client = createGatehouseClient({ uri: `${gw.url}/graphql`, publishableKey: app.publishableKey, tokens });

    const signedUp = await client.mutate({
      mutation: RegisterWithPasswordDocument,
      variables: { input: { email: 'frontend@example.com', password: 'correct horse battery', firstName: 'Ada' } },
    });
    const auth = signedUp.data!.register.auth!;
    tokens.set(auth);
    const me = await client.query({ query: MeDocument, fetchPolicy: 'network-only' });
    expect(me.data!.me).toMatchObject({ id: auth.user.id, email: 'frontend@example.com', firstName: 'Ada' });

    // The access token expires (15 minutes); the refresh token does not.
    gw.clock.advance(16 * 60 * 1000);
    const again = await client.query({ query: MeDocument, fetchPolicy: 'network-only' });
    expect(again.data!.me.id).toBe(auth.user.id);
    const renewed = tokens.get()!;
    expect(renewed.accessToken).not.toBe(auth.accessToken);
    expect(renewed.refreshToken).not.toBe(auth.refreshToken); // rotated

    const loggedOut = await client.mutate({ mutation: LogoutDocument });
    expect(loggedOut.data!.logout).toBe(true);
    // The session is over (reason session_ended): no refresh can help, so the link drops the
    // tokens and the UNAUTHENTICATED reaches the app (sign in again).
    const after = await client.query({ query: MeDocument, fetchPolicy: 'network-only' }).then(() => null, (error: unknown) => error);
    expect(CombinedGraphQLErrors.is(after) && after.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'session_ended' });
    expect(tokens.get()).toBeNull();
  });
});
