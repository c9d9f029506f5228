// Trunks in the admin screens of a real Chromium: a host the API refuses is named at its
// field, a trunk with an account is saved (its password never comes back), and its status
// badge turns from pending to registered while the page is open, because a tiny registrar
// on loopback (a UDP socket in this test) accepts Ringbase's REGISTER.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { openBrowser, signIn, screenshot, seed } from './lib.mjs';

const s = seed();
let browser;
let page;
let registrar;
const registers = [];

/** Answers every REGISTER 200 with `Expires: 600`, echoing what RFC 3261 says to echo. */
function startRegistrar() {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, from) => {
    const text = msg.toString('utf8');
    if (!text.startsWith('REGISTER ')) return;
    registers.push(text);
    const lines = text.split('\r\n');
    const copy = (name) => lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const contact = copy('Contact')[0] || '';
    const answer = [
      'SIP/2.0 200 OK',
      ...copy('Via'), ...copy('From'), `${copy('To')[0]};tag=reg1`, ...copy('Call-ID'), ...copy('CSeq'),
      contact ? `${contact};expires=600` : null, 'Expires: 600', 'Content-Length: 0', '', '',
    ].filter((l) => l !== null).join('\r\n');
    socket.send(answer, from.port, from.address);
  });
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

before(async () => {
  registrar = await startRegistrar();
  browser = await openBrowser();
  page = browser.page;
  await signIn(page, s.base, s.users.admin);
});

after(async () => {
  // Leave the shared server without this test's trunks.
  await page.evaluate(async () => fetch('/api/v1/trunks', {
    method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ trunks: [] }),
  }));
  assert.deepEqual(browser.errors.map(String), [], 'no uncaught errors in the page');
  await browser.close();
  registrar.close();
});

test('an admin adds a trunk, sees field errors, and watches it register', async () => {
  await page.goto(`${s.base}/#/admin/trunks`);
  const form = page.locator('[data-testid=trunk-form]');
  await form.locator('input[name=name]').fill('provider');
  await form.locator('input[name=host]').fill('sip.provider.example:99999');
  await form.locator('input[name=username]').fill('acc1');
  await form.locator('input[name=password]').fill('trunk-secret-1');
  await form.getByRole('button', { name: 'Save' }).click();
  const hostError = form.locator('[data-field=host] .field-error');
  await hostError.waitFor();
  assert.match(await hostError.innerText(), /port/);
  assert.equal(await form.locator('input[name=host]').getAttribute('aria-invalid'), 'true');

  const port = registrar.address().port;
  await form.locator('input[name=host]').fill(`127.0.0.1:${port}`);
  await form.locator('input[name=domain]').fill('provider.test');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/trunks') && r.request().method() === 'PUT'),
    form.getByRole('button', { name: 'Save' }).click(),
  ]);
  assert.equal(response.status(), 200);
  assert.ok(!JSON.stringify(await response.json()).includes('trunk-secret-1'), 'the password never comes back');

  // Registered within the SIP service's reload (1 s) and the page's refresh (3 s).
  const row = page.locator('[data-testid=trunks] tr[data-trunk=provider]');
  await row.waitFor();
  await row.locator('[data-testid=trunk-state][data-state=registered]').waitFor({ timeout: 15000 });
  assert.match(await row.innerText(), /registered for 600 s/);
  assert.ok(registers.some((r) => r.includes('sip:acc1@provider.test')), 'the REGISTER is for the account');
  await screenshot(page, 'admin-trunks');

  // Edited without typing the password again: the saved one stays.
  await row.getByRole('button', { name: 'Edit' }).click();
  assert.equal(await form.locator('input[name=password]').inputValue(), '');
  await form.locator('input[name=number]').fill('+49 30 123456');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.locator('[data-testid=trunks] tr[data-trunk=provider]', { hasText: '123456' }).waitFor();
  const listed = await page.evaluate(async () => (await (await fetch('/api/v1/trunks')).json()));
  const trunk = listed.items.find((t) => t.name === 'provider');
  assert.equal(trunk.password_set, true);
  assert.equal(trunk.number, '+4930123456');
  assert.equal(trunk.password, undefined);
});
