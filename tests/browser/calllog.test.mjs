// The call log as a supervisor and as a masked agent: filters by agent, line, source and
// queue; the recording player playing a real recording uploaded by the bridge app; a call's
// transcript next to its rating; numbers
// masked for the agent's role in the log and in the screen pop, with click-to-call withheld.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openBrowser, signIn, ring, reportBridgeCall, screenshot, seed } from './lib.mjs';

const s = seed();
let browser;
let page;

before(async () => {
  browser = await openBrowser();
  page = browser.page;
});

after(async () => {
  assert.deepEqual(browser.errors.map(String), [], 'no uncaught errors in the page');
  await browser.close();
});

async function tokenOf(user) {
  const r = await fetch(`${s.base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: user.login, password: user.password }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

async function apiAs(token, method, path, body, type = 'application/json') {
  const r = await fetch(`${s.base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
    body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path} → ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** One second of a 440 Hz tone: 8 kHz, 16-bit mono PCM in a WAV file. */
function toneWav(seconds = 1, rate = 8000) {
  const samples = seconds * rate;
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + samples * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i += 1) buf.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return buf;
}

const rows = () => page.locator('[data-testid=call-log] tbody tr');

/** Waits until the log shows rows and every row's data attribute has the value. */
async function allRows(attr, value) {
  await page.waitForFunction(({ a, v }) => {
    const r = [...document.querySelectorAll('[data-testid=call-log] tbody tr')];
    return r.length > 0 && r.every((tr) => tr.dataset[a] === String(v));
  }, { a: attr, v: value });
  return rows().count();
}

test('a supervisor filters the log by agent, line, source and queue', async () => {
  const sue = await tokenOf(s.users.sue);
  // A call through the billing queue, so the queue filter has something to find.
  const started = new Date(Date.now() - 7_200_000);
  await apiAs(sue, 'POST', '/api/v1/calls', {
    direction: 'incoming', remote: '+49 30 5559999', line: '+49 89 998866', agent_id: s.users.bert.id, queue: 'billing',
    started_at: started.toISOString(), answered_at: new Date(started.getTime() + 4000).toISOString(),
    ended_at: new Date(started.getTime() + 34_000).toISOString(), status: 'answered', idempotency_key: `billing-${Date.now()}`,
  });

  await signIn(page, s.base, s.users.sue);
  await page.goto(`${s.base}/#/calls`);
  await rows().first().waitFor();
  const total = await rows().count();
  const filters = page.locator('[data-testid=call-filters]');

  await filters.locator('select[name=agent_id]').selectOption({ label: 'Bert Bench' });
  const bert = await allRows('agentId', s.users.bert.id);
  assert.ok(bert >= 1 && bert < total);
  await filters.getByRole('button', { name: 'Reset' }).click();

  await filters.locator('select[name=line_id]').selectOption({ label: 'Instagram DE' });
  await allRows('lineId', s.lines.instagram);
  await filters.getByRole('button', { name: 'Reset' }).click();

  await filters.locator('select[name=source_id]').selectOption({ label: 'Google Ads' });
  await allRows('sourceId', s.sources.google);
  await filters.getByRole('button', { name: 'Reset' }).click();

  await filters.locator('input[name=queue]').fill('billing');
  await filters.locator('input[name=queue]').press('Enter');
  assert.equal(await allRows('queue', 'billing'), 1);
  assert.match(await rows().first().innerText(), /\+49 30 5559999/);
});

test('the recording player plays what the bridge app uploaded', async () => {
  const logged = await reportBridgeCall(s.base, s.devices.anna, {
    idempotency_key: `rec-${Date.now()}`, direction: 'incoming', number: '+49 30 1234567',
    started_at: new Date(Date.now() - 120_000).toISOString(), ring_s: 3, duration_s: 75, answered: true,
  });
  await apiAs(s.devices.anna, 'PUT', `/api/v1/bridge/calls/${logged.call.id}/recording`, toneWav(), 'audio/wav');

  await page.goto(`${s.base}/#/calls?number=%2B49301234567`);
  const row = page.locator(`[data-testid=call-log] tr[data-call-id="${logged.call.id}"]`);
  await row.locator('[data-testid=play]').click();
  const audio = row.locator('audio');
  await audio.waitFor({ state: 'attached' });
  // Chromium decoded the file: its length is the uploaded second.
  await page.waitForFunction((id) => {
    const a = document.querySelector(`[data-testid=call-log] tr[data-call-id="${id}"] audio`);
    return a && a.readyState >= 1 && Math.abs(a.duration - 1) < 0.05;
  }, logged.call.id);
  const href = await row.locator('a[download]').getAttribute('href');
  assert.equal(href, `/api/v1/calls/${logged.call.id}/recording`);
  await screenshot(page, 'call-log-recording');
});

test('a call shows its transcript next to the rating', async () => {
  // A speech-to-text integration writes transcripts with an API key of its own.
  const admin = await tokenOf(s.users.admin);
  const { key } = await apiAs(admin, 'POST', '/api/v1/apikeys', { name: `speech-to-text ${Date.now()}`, role: 'supervisor' });
  const logged = await reportBridgeCall(s.base, s.devices.anna, {
    idempotency_key: `transcript-${Date.now()}`, direction: 'incoming', number: '+49 30 7771234',
    started_at: new Date(Date.now() - 300_000).toISOString(), ring_s: 2, duration_s: 40, answered: true,
  });
  const said = 'Caller: I would like a quote for ten licences.\nAgent: I will send it today.';
  await apiAs(admin, 'PATCH', `/api/v1/calls/${logged.call.id}`, { rating: 4 });
  await apiAs(key, 'PATCH', `/api/v1/calls/${logged.call.id}`, { transcript: said });

  await page.goto(`${s.base}/#/calls?number=%2B49307771234`);
  const row = page.locator(`[data-testid=call-log] tr[data-call-id="${logged.call.id}"]`);
  const transcript = row.locator('[data-testid=transcript]');
  await transcript.waitFor();
  // In the rating's cell, folded until opened.
  const cell = transcript.locator('xpath=..');
  assert.equal(await cell.locator('.rating').getAttribute('aria-label'), 'Rated 4 of 5');
  assert.equal(await transcript.locator('p').isVisible(), false);
  await transcript.locator('summary').click();
  assert.equal(await transcript.locator('p').innerText(), said);
  await screenshot(page, 'call-log-transcript');
});

test('several recordings download as one zip', async () => {
  const uploaded = [];
  for (const seconds of [1, 2]) {
    const logged = await reportBridgeCall(s.base, s.devices.anna, {
      idempotency_key: `zip-${seconds}-${Date.now()}`, direction: 'outgoing', number: '+49 30 1234567',
      started_at: new Date(Date.now() - seconds * 600_000).toISOString(), ring_s: 3, duration_s: 30, answered: true,
    });
    const wav = toneWav(seconds);
    await apiAs(s.devices.anna, 'PUT', `/api/v1/bridge/calls/${logged.call.id}/recording`, wav, 'audio/wav');
    uploaded.push({ id: logged.call.id, wav });
  }
  await page.goto(`${s.base}/#/calls?number=%2B49301234567&direction=outgoing`);
  const zipButton = page.locator('[data-testid=download-zip]');
  await zipButton.waitFor();
  assert.equal(await zipButton.isDisabled(), true, 'nothing picked yet');
  for (const { id } of uploaded) await page.locator(`[data-testid=call-log] tr[data-call-id="${id}"] input[name=pick]`).check();
  const [download] = await Promise.all([page.waitForEvent('download'), zipButton.click()]);
  assert.equal(download.suggestedFilename(), 'ringbase-recordings-2.zip');
  const bytes = readFileSync(await download.path());
  // Two entries (end of central directory), each the uploaded file byte for byte (stored).
  assert.equal(bytes.readUInt32LE(bytes.length - 22), 0x06054b50);
  assert.equal(bytes.readUInt16LE(bytes.length - 12), 2);
  for (const { id, wav } of uploaded) {
    assert.ok(bytes.indexOf(wav) > 0, `call ${id}'s recording is in the zip`);
    assert.ok(bytes.indexOf(Buffer.from(`call-${id}-`)) > 0, `named after call ${id}`);
  }
});

test('a masked role sees masked numbers and cannot click them to call', async () => {
  const admin = await tokenOf(s.users.admin);
  await apiAs(admin, 'PUT', '/api/v1/settings/masking', { agent: { mode: 'first', count: 6 } });
  try {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, s.base, s.users.anna);
    await page.goto(`${s.base}/#/calls`);
    await rows().first().waitFor();
    const numbers = await page.locator('[data-testid=call-log] tbody tr td:nth-child(3)').allInnerTexts();
    assert.ok(numbers.length > 0);
    for (const n of numbers) assert.match(n, /^\*{6}/, `masked: ${n}`);
    assert.equal(await page.locator('[data-testid=call-log] a[href^="tel:"]').count(), 0, 'no click-to-call on masked numbers');
    // Not even inside the automatic titles of leads ("Missed call from +49171…").
    const text = await page.locator('[data-testid=call-log]').innerText();
    assert.doesNotMatch(text, /\+\s?\d{2}/, 'no number shows its country code and prefix');

    // The screen pop masks the caller too, and cannot make a lead from a hidden number.
    await page.locator('.live-dot.live').waitFor();
    await ring(s.base, s.devices.anna, '+49 160 7778889');
    const pop = page.locator('[data-testid=callpop][data-phase=ringing]');
    await pop.waitFor();
    assert.match(await pop.locator('.caller-number').innerText(), /^\*{6}/);
    assert.equal(await pop.locator('[data-testid=create-lead]').isDisabled(), true);
    await screenshot(page, 'masked-agent');
    await pop.getByRole('button', { name: 'Close' }).click();
  } finally {
    await apiAs(admin, 'PUT', '/api/v1/settings/masking', {});
  }
  // Unmasked again: the numbers are links that dial.
  await page.reload();
  await rows().first().waitFor();
  assert.ok(await page.locator('[data-testid=call-log] a[href^="tel:+"]').count() > 0);
});
