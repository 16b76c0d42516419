import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, launchBrowser, openPage, screenshot, signIn } from '../helpers/browser.js';
import { type ConsoleCity, consoleCity } from '../helpers/console-city.js';
import { skipping } from '../helpers/skip.js';

const skip = browserSkipReason();
describe.skipIf(skipping(skip))(`console smoke${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let city: ConsoleCity;
  let browser: Browser;
  beforeAll(async () => {
    [city, browser] = await Promise.all([consoleCity(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await city?.world.cleanup();
  });
  it('overview', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password);
    expect(new URL(w.page.url()).pathname).toBe('/overview');
    await screenshot(w.page, 'smoke-overview-1366');
    await w.page.setViewportSize({ width: 375, height: 800 });
    await screenshot(w.page, 'smoke-overview-375');
    expect(w.errors).toEqual([]);
    expect(w.dialogs).toEqual([]);
  });
});
