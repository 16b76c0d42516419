/**
 * A real Chromium (Debian's, driven by playwright-core) against a real collector on loopback, for the
 * console's tests: pages as a person sees them, with every console error, failed request and dialog
 * recorded, screenshots written under dist/test-artifacts/console/, and an axe-core scan.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CAMPUSWATCH_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(process.cwd(), 'dist', 'test-artifacts', 'console');

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserSkipReason(): string | undefined {
  if (!existsSync(CHROMIUM))
    return `no Chromium at ${CHROMIUM} (apt-get install chromium fonts-noto-cjk, or set CAMPUSWATCH_CHROMIUM)`;
  if (!existsSync('/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc'))
    return 'no CJK font (apt-get install fonts-noto-cjk): Chinese would render as boxes';
  return undefined;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // root needs --no-sandbox; the rest keeps Chromium from reaching out to the network at start
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** A page with what went wrong on it recorded: console errors, script errors, failed requests, dialogs. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  errors: string[];
  failedRequests: string[];
  dialogs: string[];
}

export async function openPage(
  browser: Browser,
  opts: { width?: number; height?: number; baseURL: string; locale?: string } = { baseURL: '' },
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1366, height: opts.height ?? 900 },
    baseURL: opts.baseURL,
    locale: opts.locale ?? 'zh-CN',
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  const w: WatchedPage = { page, context, errors: [], failedRequests: [], dialogs: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') w.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => w.errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    // a request the page's own navigation cancelled (the icon of the sign-in page when it moves on) is not
    // a failure; every other network error is
    const error = r.failure()?.errorText ?? '';
    if (error === 'net::ERR_ABORTED' && !r.isNavigationRequest()) return;
    w.failedRequests.push(`${r.method()} ${r.url()}: ${error}`);
  });
  page.on('response', (r) => {
    // an expected refusal is tested where it is expected; on a page load every response is 2xx/3xx
    if (r.status() >= 400) w.failedRequests.push(`${r.request().method()} ${r.url()}: HTTP ${r.status()}`);
  });
  page.on('dialog', async (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  return w;
}

/** Signs in through the sign-in page as a person does; waits for the page it lands on. */
export async function signIn(page: Page, name: string, password: string, next?: string): Promise<void> {
  await page.goto(next ? `/login?next=${encodeURIComponent(next)}` : '/login');
  await page.locator('input[name="name"]').fill(name);
  await page.locator('input[name="password"]').fill(password);
  await Promise.all([
    page.waitForURL((u) => u.pathname !== '/login'),
    page.locator('button[type="submit"]').click(),
  ]);
}

/** Writes a full-page screenshot under dist/test-artifacts/console/ and returns its path. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * The page's accessibility violations (axe-core, WCAG 2 A/AA rules). axe is evaluated through the
 * debugging protocol, which the page's Content-Security-Policy does not govern (the page is unchanged).
 */
export async function axeScan(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (o: unknown) => Promise<{
            violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
          }>;
        };
      }
    ).axe;
    const r = await axe.run({
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
}

/** An API's answer as the signed-in browser gets it (same cookies, same scope): 200 expected. */
export async function api<T>(page: Page, url: string): Promise<T> {
  const r = await page.context().request.get(url);
  if (r.status() !== 200) throw new Error(`GET ${url}: HTTP ${r.status()}: ${await r.text()}`);
  return (await r.json()) as T;
}

/** The axe-core violations that count as serious or critical. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  return (await axeScan(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** How far the page is wider than the window (≤ 0: nothing to scroll sideways outside the table boxes). */
export function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
}
