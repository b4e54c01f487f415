import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium, driven by playwright-core (no browser download): the flags this machine needs. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function chromiumPath(): string {
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install -y chromium');
  }
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh profile (cookies, storage) per person. */
  context(): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Playwright gives every launch a fresh, temporary --user-data-dir of its own (and refuses one in args). */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  return {
    browser,
    context: () => browser.newContext({ viewport: { width: 1360, height: 900 } }),
    async close() {
      await browser.close();
    },
  };
}

/** Opens `path` of the console, signs in through the dev IdP's login page, and waits for the console. */
export async function signIn(ctx: BrowserContext, baseUrl: string, path: string, username: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(baseUrl + path);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#username').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', `${username}-password`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('me').waitFor({ timeout: 15_000 });
  return page;
}
