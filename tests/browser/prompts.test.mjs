// Prompts in the admin screens, in a real Chromium against a seeded `ringbase serve`: the
// admin uploads a WAV file, sees it listed with its length and a player that plays it, gets a
// refused file's reason next to the file field and a bad name's next to the name field, and
// deletes the prompt.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser, signIn, screenshot, seed } from './lib.mjs';

const s = seed();
const dir = mkdtempSync(join(tmpdir(), 'rb-prompts-'));
let browser;
let page;

/** A PCM WAV file: `seconds` of a 440 Hz tone. */
function wav({ channels = 1, rate = 8000, seconds = 1 } = {}) {
  const frames = Math.round(rate * seconds);
  const data = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames * channels; i += 1) {
    data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * Math.floor(i / channels)) / rate)), i * 2);
  }
  const head = Buffer.alloc(44);
  head.write('RIFF', 0); head.writeUInt32LE(36 + data.length, 4); head.write('WAVE', 8);
  head.write('fmt ', 12); head.writeUInt32LE(16, 16); head.writeUInt16LE(1, 20);
  head.writeUInt16LE(channels, 22); head.writeUInt32LE(rate, 24);
  head.writeUInt32LE(rate * channels * 2, 28); head.writeUInt16LE(channels * 2, 32); head.writeUInt16LE(16, 34);
  head.write('data', 36); head.writeUInt32LE(data.length, 40);
  return Buffer.concat([head, data]);
}

before(async () => {
  browser = await openBrowser();
  page = browser.page;
  await signIn(page, s.base, s.users.admin);
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(browser.errors.map(String), [], 'no uncaught errors in the page');
  await browser.close();
});

test('an admin uploads, plays and deletes a prompt', async () => {
  const good = join(dir, 'welcome.wav');
  const stereo = join(dir, 'stereo.wav');
  writeFileSync(good, wav({ seconds: 2.5 }));
  writeFileSync(stereo, wav({ channels: 2 }));

  await page.goto(`${s.base}/#/admin/prompts`);
  const form = page.locator('[data-testid=prompt-form]');
  await form.waitFor();
  const nameError = form.locator('.field[data-field=name] .field-error');
  const fileError = form.locator('.field[data-field=body] .field-error');

  // A stereo file is refused, and the reason stands at the file field.
  await form.locator('input[name=name]').fill('welcome');
  await form.locator('input[name=body]').setInputFiles(stereo);
  await form.getByRole('button', { name: 'Upload' }).click();
  await assert.doesNotReject(fileError.filter({ hasText: /mono/ }).waitFor());
  assert.equal(await nameError.textContent(), '');

  // A name with a dot is refused at the name field.
  await form.locator('input[name=name]').fill('welcome.wav');
  await form.locator('input[name=body]').setInputFiles(good);
  await form.getByRole('button', { name: 'Upload' }).click();
  await nameError.filter({ hasText: /letters, digits/ }).waitFor();
  assert.equal(await fileError.textContent(), '');

  await form.locator('input[name=name]').fill('welcome');
  await form.locator('input[name=body]').setInputFiles(good);
  await form.getByRole('button', { name: 'Upload' }).click();
  const row = page.locator('[data-testid=prompts] tr[data-prompt=welcome]');
  await row.waitFor();
  assert.match(await row.textContent(), /2\.5 s/);
  assert.match(await row.textContent(), /8,000 Hz/);

  // The player loads the stored audio and knows its length.
  const duration = await row.locator('audio').evaluate((audio) => new Promise((resolve, reject) => {
    audio.addEventListener('loadedmetadata', () => resolve(audio.duration), { once: true });
    audio.addEventListener('error', () => reject(new Error(`audio error ${audio.error && audio.error.code}`)), { once: true });
    audio.load();
  }));
  assert.ok(Math.abs(duration - 2.5) < 0.05, `duration ${duration}`);
  await screenshot(page, 'admin-prompts');

  page.once('dialog', (d) => d.accept());
  await row.getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  await page.locator('text=No prompts yet.').waitFor();
  const list = await page.evaluate(async () => (await fetch('/api/v1/prompts')).json());
  assert.deepEqual(list.items, []);
});
