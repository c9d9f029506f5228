// Shared by the browser tests: the seeded server (from the seed file the script wrote), a
// Chromium per test file with a fresh profile, sign-in, and the bridge API that rings a phone.

import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const SCREENSHOTS = join(here, '..', '..', 'docs', 'screenshots');
export const VIEWPORT = { width: 1280, height: 720 };

/** The seeded server: base URL, users, device tokens, ids. */
export function seed() {
  const file = process.env.RB_SEED;
  if (!file) throw new Error('RB_SEED is not set: run the tests through scripts/browser-tests.sh');
  return JSON.parse(readFileSync(file, 'utf8'));
}

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Debian's chromium with a fresh user-data-dir; `close()` removes the profile. */
export async function openBrowser({ viewport = VIEWPORT } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'rb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function signIn(page, base, user) {
  await page.goto(`${base}/`);
  await page.locator('input[name=login]').fill(user.login);
  await page.locator('input[name=password]').fill(user.password);
  await page.getByRole('button', { name: /sign in|anmelden|accedi|zaloguj/i }).click();
  await page.locator('header.topbar').waitFor();
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** What the mobile bridge app does when its phone rings: asks who is calling. */
export async function ring(base, deviceToken, number) {
  const response = await fetch(`${base}/api/v1/bridge/caller?number=${encodeURIComponent(number)}`, {
    headers: { Authorization: `Bearer ${deviceToken}` },
  });
  if (!response.ok) throw new Error(`bridge caller → ${response.status} ${await response.text()}`);
  return response.json();
}

/** What the bridge app does after the call: reports it. */
export async function reportBridgeCall(base, deviceToken, call) {
  const response = await fetch(`${base}/api/v1/bridge/calls`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${deviceToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(call),
  });
  if (!response.ok) throw new Error(`bridge calls → ${response.status} ${await response.text()}`);
  return response.json();
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}
