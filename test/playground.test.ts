import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryLimitsRule } from '../src/graphql/limits';
import { buildServedSchema } from '../src/graphql/schema';
import { PLAYGROUND_COLUMNS, PLAYGROUND_EXAMPLES, playgroundDocument, playgroundVariables } from '../src/server/playground';
import { apolloClient, postRaw, run } from './helpers/client';
import { CHECK_EMAIL, CREATE_USER } from './helpers/documents';
import { CHROMIUM_PATH, hasChromium, launchBrowser, snapshot } from './helpers/browser';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';

/** The self-hosted playground on GET /graphql (SPEC §7), and GraphQL GET beside it. */

let gw: TestGateway;
let app: TestApp;
beforeAll(async () => {
  gw = await startGateway();
  app = await gw.createApp('Playground');
});
afterAll(() => gw.close());

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('the page', () => {
  it('is served to a browser on GET /graphql with security headers', async () => {
    const response = await fetch(`${gw.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await response.text();
    expect(html).toContain('<div id="graphiql">');
    // Everything it loads is ours: no absolute URL to any host, no inline script.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
  });

  it('serves its scripts and styles from node_modules with the right types, gzipped when asked', async () => {
    const assets: [string, RegExp][] = [
      ['/playground/react.production.min.js', /^text\/javascript/],
      ['/playground/react-dom.production.min.js', /^text\/javascript/],
      ['/playground/graphiql.min.js', /^text\/javascript/],
      ['/playground/graphiql.min.css', /^text\/css/],
      ['/playground/app.js', /^text\/javascript/],
    ];
    for (const [path, type] of assets) {
      const response = await fetch(`${gw.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(type);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await response.arrayBuffer()).byteLength, path).toBeGreaterThan(100);
    }
    // fetch() decodes gzip itself; node:http shows the raw encoding.
    const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`${gw.url}/playground/graphiql.min.css`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        }).on('error', reject),
      );
    });
    expect(raw.encoding).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toContain('.graphiql-container');
  });

  it('opens with the example operations, every one valid against the served schema and within the limits', () => {
    const schema = buildServedSchema();
    const document = playgroundDocument();
    expect(validate(schema, parse(document), [queryLimitsRule])).toEqual([]);
    const names = PLAYGROUND_EXAMPLES.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['CheckEmail', 'FindUserByEmail', 'CreateUser']));
    expect(new Set(names).size).toBe(names.length);
    for (const example of PLAYGROUND_EXAMPLES) {
      expect(validate(schema, parse(example.document)), example.name).toEqual([]);
      expect(document).toContain(example.document.trim());
    }
    expect(playgroundVariables()).toMatchObject({ email: 'ada@example.com' });
  });

  it('keeps every line of the default document within PLAYGROUND_COLUMNS (the editor is ~50 columns at 1280 px)', () => {
    const wide = playgroundDocument().split('\n').filter((line) => [...line].length > PLAYGROUND_COLUMNS);
    expect(wide).toEqual([]);
    // Wrapped descriptions keep every word.
    for (const example of PLAYGROUND_EXAMPLES) {
      const after = playgroundDocument().slice(playgroundDocument().indexOf(`# ${example.name}: `)).split('\n');
      const comment = after.slice(0, after.findIndex((line) => !line.startsWith('#')));
      expect(comment.map((line) => line.slice(2)).join(' '), example.name).toBe(`${example.name}: ${example.description}`);
    }
  });

  it('refuses an example list that gives one variable two values', () => {
    const clash = [
      { name: 'A', description: '', document: 'query A($email: String!) { checkEmail(email: $email) { exists } }', variables: { email: 'a@example.com' } },
      { name: 'B', description: '', document: 'query B($email: String!) { checkEmail(email: $email) { exists } }', variables: { email: 'b@example.com' } },
    ];
    expect(() => playgroundVariables(clash)).toThrow(/\$email/);
  });

  it('runs each example against the server with a secret key without a server-side failure', async () => {
    const variables = playgroundVariables();
    for (const example of PLAYGROUND_EXAMPLES) {
      const response = await postRaw(gw.url, JSON.stringify({ query: playgroundDocument(), variables, operationName: example.name }), {
        'x-api-key': app.secretKey,
      });
      const codes = (response.json.errors ?? []).map((e: { extensions: { code: string } }) => e.extensions.code);
      expect(codes, example.name).not.toContain('INTERNAL');
      expect(codes, example.name).not.toContain('QUERY_TOO_COMPLEX');
      // A wrong argument or field in an example would show up here as a validation error.
      expect(response.json.errors?.filter((e: { message: string }) => /Cannot query|Unknown argument|Variable "/.test(e.message)) ?? []).toEqual([]);
    }
  });
});

describe('GraphQL over GET stays GraphQL', () => {
  it('answers GET /graphql?query=… with JSON when JSON is accepted', async () => {
    const query = encodeURIComponent('query CheckEmail($email: String!) { checkEmail(email: $email) { exists } }');
    const variables = encodeURIComponent(JSON.stringify({ email: 'nobody@example.com' }));
    const response = await fetch(`${gw.url}/graphql?query=${query}&variables=${variables}`, {
      // A content type (or apollo-require-preflight) is what Apollo's CSRF check wants on GET.
      headers: { accept: 'application/json', 'content-type': 'application/json', 'x-api-key': app.publishableKey },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/json/);
    expect(await response.json()).toEqual({ data: { checkEmail: { exists: false } } });
  });

  it('works from Apollo Client with GET for queries', async () => {
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey }, { useGETForQueries: true });
    const result = await run(client, CHECK_EMAIL, { email: 'nobody@example.com' });
    expect(result.errors).toEqual([]);
    expect(result.data).toEqual({ checkEmail: { exists: false, isSocial: false } });
  });

  it('still refuses a bare cross-site-style GET (Apollo CSRF prevention) with a coded error', async () => {
    const response = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('in a real browser', () => {
  it.skipIf(!hasChromium)(
    'fits a 1280×800 window: no line of the default document is wider than the editor, and the run menu shows every example',
    async () => {
      const browser = await launchBrowser();
      try {
        const page = await browser.context.newPage();
        await page.setViewportSize({ width: 1280, height: 800 });
        await page.goto(`${gw.url}/graphql`);
        await page.locator('.graphiql-query-editor').getByText('query CheckEmail').first().waitFor();
        await snapshot(page, 'playground-1280');

        // Measured through CodeMirror itself (every line, rendered or not): where each line ends
        // against the width the editor shows beside its line-number gutter.
        const fit = await page.evaluate(() => {
          // CodeMirror 5 hangs its instance on its wrapper element (the test's tsconfig has no DOM types).
          type Editor = {
            lineCount(): number;
            getLine(n: number): string;
            charCoords(pos: { line: number; ch: number }, mode: 'local'): { left: number };
            getScrollInfo(): { clientWidth: number };
            getGutterElement(): { offsetWidth: number };
          };
          const { document } = globalThis as unknown as { document: { querySelector(selector: string): { CodeMirror: Editor } } };
          const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
          const visible = cm.getScrollInfo().clientWidth - cm.getGutterElement().offsetWidth;
          const lines = Array.from({ length: cm.lineCount() }, (_, n) => ({
            text: cm.getLine(n),
            right: cm.charCoords({ line: n, ch: cm.getLine(n).length }, 'local').left,
          }));
          return { visible, lines };
        });
        expect(fit.lines.length).toBe(playgroundDocument().split('\n').length);
        expect(fit.visible).toBeGreaterThan(300);
        const comments = fit.lines.filter((l) => l.text.startsWith('#'));
        expect(comments.length).toBeGreaterThan(PLAYGROUND_EXAMPLES.length);
        expect(comments.filter((l) => l.right > fit.visible).map((l) => l.text)).toEqual([]);
        expect(fit.lines.filter((l) => l.right > fit.visible).map((l) => l.text)).toEqual([]);

        // The run menu: one entry per example, each inside the menu's visible box and the
        // window, none scrolled out of sight.
        await page.locator('button.graphiql-execute-button').click();
        const items = page.getByRole('menuitem');
        await items.first().waitFor();
        await snapshot(page, 'playground-1280-run-menu');
        expect(await items.allInnerTexts()).toEqual(PLAYGROUND_EXAMPLES.map((e) => e.name));
        const menu = await page.getByRole('menu').evaluate((el) => {
          const box = el.getBoundingClientRect();
          return {
            top: box.top,
            bottom: box.top + el.clientHeight,
            scrolls: el.scrollHeight > el.clientHeight,
            items: Array.from(el.querySelectorAll('[role=menuitem]')).map((item) => {
              const r = (item as typeof el).getBoundingClientRect();
              return { name: (item as typeof el).textContent, top: r.top, bottom: r.bottom };
            }),
          };
        });
        expect(menu.scrolls).toBe(false);
        const hidden = menu.items.filter((i) => i.top < menu.top || i.bottom > menu.bottom || i.bottom > 800).map((i) => i.name);
        expect(hidden).toEqual([]);

        // And the last one runs (with no key the answer is an error; the request is what counts).
        const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url() === `${gw.url}/graphql`);
        await page.getByRole('menuitem', { name: PLAYGROUND_EXAMPLES.at(-1)!.name }).click();
        expect((await sent).postDataJSON().operationName).toBe(PLAYGROUND_EXAMPLES.at(-1)!.name);
      } catch (error) {
        const shot = join(tmpdir(), `gatehouse-playground-1280-failure-${Date.now()}.png`);
        await browser.context.pages().at(-1)?.screenshot({ path: shot }).catch(() => {});
        throw new Error(`${(error as Error).message}\n(screenshot: ${shot})`);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );

  it.skipIf(!hasChromium)(
    `loads, takes an x-api-key in the headers editor and runs checkEmail (needs ${CHROMIUM_PATH}: apt-get install chromium)`,
    async () => {
      // A fresh app, and in it the customer the example's email names, created as a partner server would.
      const own = await gw.createApp('Browser');
      const partner = apolloClient(gw.url, { 'x-api-key': own.secretKey });
      const email = playgroundVariables().email;
      expect((await run(partner, CREATE_USER, { input: { email, firstName: 'Ada' } })).errors).toEqual([]);

      const browser = await launchBrowser();
      try {
        const page = await browser.context.newPage();
        // Offline: any request to another host fails the test (and is not sent).
        const foreign: string[] = [];
        await browser.context.route('**/*', (route) => {
          const url = route.request().url();
          if (url.startsWith(`${gw.url}/`)) return route.continue();
          foreign.push(url);
          return route.abort();
        });
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(message.text());
        });
        page.on('pageerror', (error) => problems.push(error.message));
        const sentKeys: (string | undefined)[] = [];
        page.on('request', (request) => {
          if (request.method() === 'POST' && request.url() === `${gw.url}/graphql`) sentKeys.push(request.headers()['x-api-key']);
        });

        await page.goto(`${gw.url}/graphql`);
        const queryEditor = page.locator('.graphiql-query-editor');
        await queryEditor.getByText('query CheckEmail').first().waitFor();

        // The headers editor is open (defaultEditorToolsVisibility): paste the key into it.
        const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
        await headersEditor.click();
        await page.keyboard.press('Control+A');
        await page.keyboard.insertText(JSON.stringify({ 'x-api-key': own.publishableKey }));

        // Several operations in the editor: the run button asks which one.
        await page.locator('button.graphiql-execute-button').click();
        await page.getByRole('menuitem', { name: 'CheckEmail' }).click();

        const resultWindow = page.locator('.result-window');
        await resultWindow.getByText('"exists": true').waitFor();
        const shown = await resultWindow.innerText();
        expect(shown).toContain('"checkEmail"');
        expect(shown).not.toContain('UNAUTHENTICATED');
        expect(sentKeys).toContain(own.publishableKey);
        expect(foreign).toEqual([]);
        expect(problems.filter((p) => /Content Security Policy|Refused to/i.test(p))).toEqual([]);
      } catch (error) {
        // What the page showed, for whoever reads the failure.
        const shot = join(tmpdir(), `gatehouse-playground-failure-${Date.now()}.png`);
        await browser.context.pages().at(-1)?.screenshot({ path: shot }).catch(() => {});
        throw new Error(`${(error as Error).message}\n(screenshot: ${shot})`);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
