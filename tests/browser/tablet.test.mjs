// On a tablet (768×1024): every main page fits the width (wide tables scroll inside their box,
// the page itself never scrolls sideways), and the screen pop becomes a bottom sheet.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, signIn, ring, screenshot, seed } from './lib.mjs';

const s = seed();
const TABLET = { width: 768, height: 1024 };
let browser;
let page;

before(async () => {
  browser = await openBrowser({ viewport: TABLET });
  page = browser.page;
});

after(async () => {
  assert.deepEqual(browser.errors.map(String), [], 'no uncaught errors in the page');
  await browser.close();
});

async function fitsWidth(hash, ready) {
  await page.goto(`${s.base}/#/${hash}`);
  await page.locator(ready).first().waitFor();
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `#/${hash} is ${scroll} px wide on a ${width} px screen`);
}

test('the supervisor\'s pages fit a tablet', async () => {
  await signIn(page, s.base, s.users.sue);
  await fitsWidth('live', '.state-panel');
  await fitsWidth('calls', '[data-testid=call-log]');
  await fitsWidth('contacts', '[data-testid=contact-list] tbody tr');
  await fitsWidth('board', '[data-testid=board-agents]');
  await fitsWidth('analytics', 'svg.chart');
  await fitsWidth('settings', '[data-testid=language]');
  await screenshot(page, 'tablet-analytics');
});

test('on a tablet the screen pop is a bottom sheet over the page', async () => {
  await browser.context.clearCookies();
  await signIn(page, s.base, s.users.anna);
  await page.locator('.live-dot.live').waitFor();
  await page.goto(`${s.base}/#/calls`);
  await page.locator('[data-testid=call-log]').waitFor();
  await ring(s.base, s.devices.anna, '+49 30 1234567');
  const pop = page.locator('[data-testid=callpop][data-phase=ringing]');
  await pop.waitFor();
  assert.equal(await pop.locator('[data-testid=caller-name]').innerText(), 'Jan Kowalski');
  const sheet = await page.locator('#callpop').boundingBox();
  assert.ok(Math.abs(sheet.y + sheet.height - TABLET.height) <= 1, `at the bottom: ${JSON.stringify(sheet)}`);
  assert.ok(sheet.width >= TABLET.width - 20, `full width: ${JSON.stringify(sheet)}`);
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width);
  await screenshot(page, 'tablet-screen-pop');
  await pop.getByRole('button', { name: 'Close' }).click();
});
