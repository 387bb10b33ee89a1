import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (which downloads no browser of its own).
 * .ci/run installs the package when it is missing; tests skip with a message when it is not
 * there at all.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);

const ARGS = [
  '--no-sandbox', // we run as root in a container: Chromium's sandbox cannot start here
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Nothing but the page under test may touch the network: no update checks, no sync.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile (a new user-data-dir), removed on close. */
export async function launchBrowser(): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Saves a screenshot of `page` as `<GATEHOUSE_SCREENSHOTS>/<name>.png` when that variable
 * names a directory, so a person can look at what a browser test saw; otherwise does nothing.
 */
export async function snapshot(page: Page, name: string): Promise<void> {
  const dir = process.env.GATEHOUSE_SCREENSHOTS;
  if (dir) await page.screenshot({ path: join(dir, `${name}.png`) });
}
