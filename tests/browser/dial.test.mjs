// Click-to-call in a real Chromium: clicking a customer's number asks Ringbase to ring the
// agent's own phone and then dial the customer (POST /api/v1/calls/originate); whatever the
// server answers is shown to the agent. Here the agent has no registered desk phone, so the
// server's reason is what she sees.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, signIn, seed } from './lib.mjs';

const s = seed();
let browser;
let page;

before(async () => {
  browser = await openBrowser();
  page = browser.page;
  await signIn(page, s.base, s.users.anna);
});

after(async () => {
  assert.deepEqual(browser.errors.map(String), [], 'no uncaught errors in the page');
  await browser.close();
});

test('clicking a number originates a call for the signed-in agent and shows the answer', async () => {
  const unique = String(Date.now()).slice(-6);
  const number = `+49 30 66${unique}`;
  const created = await page.evaluate(async (n) => {
    const r = await fetch('/api/v1/contacts', {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Dora Dialer', phones: [n] }),
    });
    return { status: r.status, body: await r.json() };
  }, number);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const e164 = created.body.phones[0].e164;

  const me = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()));
  await page.goto(`${s.base}/#/contacts/${created.body.id}`);
  const link = page.locator('a.phone', { hasText: /66/ }).first();
  await link.waitFor();
  assert.match(await link.getAttribute('href'), /^tel:/, 'the tel: address stays for "open with"');

  const [request, response] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/api/v1/calls/originate') && r.method() === 'POST'),
    page.waitForResponse((r) => r.url().endsWith('/api/v1/calls/originate')),
    link.click(),
  ]);
  const sent = JSON.parse(request.postData());
  assert.equal(sent.user, (me.user || me).id, 'the call is for the signed-in agent');
  assert.equal(sent.number.replace(/\s/g, ''), e164.replace(/\s/g, ''));

  // No desk phone registered for her: the server refuses, and she is told why.
  assert.ok(response.status() >= 400 && response.status() < 600, `status ${response.status()}`);
  const body = await response.json();
  const toast = page.locator('#toasts .toast.error').last();
  await toast.waitFor();
  const text = await toast.textContent();
  assert.ok(text.includes(body.error.message), `toast "${text}" shows "${body.error.message}"`);
  assert.equal(page.url().startsWith('tel:'), false, 'the page did not navigate away');
});
