// The supervisor's and the admin's screens in a real Chromium: the live board following calls
// and work states, analytics with charts and CSV export, and routing settings (a queue group
// and a line's working hours) that `ringbase simulate` then follows.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser, signIn, ring, reportBridgeCall, registerPhone, screenshot, seed } from './lib.mjs';

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

/** A session token for a seeded user, for API calls made "by him" outside the browser. */
async function tokenOf(user) {
  const r = await fetch(`${s.base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: user.login, password: user.password }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

async function apiAs(token, method, path, body) {
  const r = await fetch(`${s.base}${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path} → ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const agentRow = (id) => page.locator(`[data-testid=board-agents] tr[data-agent-id="${id}"]`);

test('the live board shows who rings, talks and pauses, and missed calls until called back', async () => {
  await signIn(page, s.base, s.users.sue);
  const nav = await page.locator('nav.nav a').allInnerTexts();
  assert.deepEqual(nav, ['Live', 'Contacts', 'Call log', 'Live board', 'Analytics', 'Settings']);
  await page.locator('.live-dot.live').waitFor();
  await page.goto(`${s.base}/#/board`);
  await agentRow(s.users.bert.id).waitFor();
  const people = await page.evaluate(async () => (await (await fetch('/api/v1/users')).json()).items.length);
  assert.equal(await page.locator('[data-testid=board-agents] tbody tr').count(), people, 'every employee has a row');

  // A call rings Bert's phone: the board shows him ringing, with the caller.
  const caller = s.bench[0];
  await ring(s.base, s.devices.bert, caller.number);
  await page.locator(`[data-testid=board-agents] tr[data-agent-id="${s.users.bert.id}"][data-state=ringing]`).waitFor();
  assert.match(await agentRow(s.users.bert.id).innerText(), new RegExp(caller.name));
  assert.match(await page.locator('[data-count=ringing]').innerText(), /Ringing: 1/);

  // The seeded missed calls nobody returned are listed.
  const missed = page.locator('[data-testid=board-missed] tr');
  await missed.first().waitFor();
  const missedText = await page.locator('[data-testid=board-missed]').innerText();
  assert.match(missedText, /\+49 151 2223334/);
  assert.match(missedText, /\+49 171 9998887/);
  await screenshot(page, 'live-board');

  // The call ends: Bert is back to his work state (new employees start off shift).
  await reportBridgeCall(s.base, s.devices.bert, {
    idempotency_key: `board-${Date.now()}`, direction: 'incoming', number: caller.number,
    started_at: new Date(Date.now() - 30_000).toISOString(), ring_s: 3, duration_s: 20, answered: true,
  });
  const bertState = await page.evaluate(async (id) => (await (await fetch(`/api/v1/users/${id}`)).json()).work_state, s.users.bert.id);
  await page.locator(`[data-testid=board-agents] tr[data-agent-id="${s.users.bert.id}"][data-state=${bertState === 'working' ? 'free' : bertState}]`).waitFor();
  assert.doesNotMatch(await agentRow(s.users.bert.id).innerText(), new RegExp(caller.name));

  // Anna calls one missed caller back: he leaves the list.
  await reportBridgeCall(s.base, s.devices.anna, {
    idempotency_key: `callback-${Date.now()}`, direction: 'outgoing', number: '+49 151 2223334',
    started_at: new Date(Date.now() - 60_000).toISOString(), ring_s: 5, duration_s: 40, answered: true,
  });
  await page.waitForFunction(() => !document.querySelector('[data-testid=board-missed]').innerText.includes('2223334'));
  assert.match(await page.locator('[data-testid=board-missed]').innerText(), /9998887/);

  // A missed call on the Google line: the line's counts for today and the missed list follow.
  const googleRow = `[data-testid=board-lines] tr[data-line-id="${s.lines.google}"]`;
  await page.locator(googleRow).waitFor();
  const counts = () => page.locator(`${googleRow} td.num`).allInnerTexts().then((x) => x.map(Number));
  const [calls0, missed0] = await counts();
  const sue = await tokenOf(s.users.sue);
  await apiAs(sue, 'POST', '/api/v1/calls', {
    direction: 'incoming', remote: '+49 30 5550777', line: '+49 89 998877', agent_id: s.users.anna.id,
    started_at: new Date(Date.now() - 90_000).toISOString(), ended_at: new Date(Date.now() - 60_000).toISOString(),
    status: 'missed', idempotency_key: `board-missed-${Date.now()}`,
  });
  await page.waitForFunction(({ row, c, m }) => {
    const cells = [...document.querySelectorAll(`${row} td.num`)].map((td) => Number(td.textContent));
    return cells[0] === c + 1 && cells[1] === m + 1;
  }, { row: googleRow, c: calls0, m: missed0 });
  await page.locator('[data-testid=board-missed]', { hasText: '5550777' }).waitFor();

  // A busy floor: 20 calls end within a second. The board re-reads the call log for the
  // missed list at most once a second, not once per call.
  let reads = 0;
  const count = (r) => { if (r.url().includes('/api/v1/calls?')) reads += 1; };
  page.on('request', count);
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 20 }, (_, i) => reportBridgeCall(s.base, s.devices.anna, {
    idempotency_key: `busy-${t0}-${i}`, direction: 'incoming', number: s.bench[i].number,
    started_at: new Date(t0 - 60_000).toISOString(), ring_s: 2, duration_s: 30, answered: true,
  })));
  const spent = Date.now() - t0;
  await page.waitForTimeout(1500);
  page.off('request', count);
  assert.ok(reads >= 1 && reads <= Math.ceil(spent / 1000) + 2, `${reads} call log reads for 20 ended calls in ${spent} ms`);

  // Bert pauses (in his own app): the board shows it, with the reason, within seconds.
  const bert = await tokenOf(s.users.bert);
  await apiAs(bert, 'PATCH', `/api/v1/users/${s.users.bert.id}`, { work_state: 'paused', pause_reason: 'Training' });
  await page.locator(`[data-testid=board-agents] tr[data-agent-id="${s.users.bert.id}"][data-state=paused]`).waitFor({ timeout: 10_000 });
  assert.match(await agentRow(s.users.bert.id).innerText(), /Training/);
  await apiAs(bert, 'PATCH', `/api/v1/users/${s.users.bert.id}`, { work_state: 'working', pause_reason: null });
});

test('analytics draws per-manager, per-queue and per-source charts and exports CSV', async () => {
  // Two calls through the sales queue: one answered after 5 s, one abandoned after 40 s.
  const sue = await tokenOf(s.users.sue);
  const now = Date.now();
  for (const [i, answered] of [[1, true], [2, false]]) {
    const started = new Date(now - i * 3_600_000);
    await apiAs(sue, 'POST', '/api/v1/calls', {
      direction: 'incoming', remote: `+49 30 555000${i}`, line: '+49 89 998877', agent_id: s.users.anna.id, queue: 'sales',
      started_at: started.toISOString(),
      answered_at: answered ? new Date(started.getTime() + 5000).toISOString() : undefined,
      ended_at: new Date(started.getTime() + (answered ? 65_000 : 40_000)).toISOString(),
      status: answered ? 'answered' : 'missed', idempotency_key: `queue-${i}-${now}`,
    });
  }
  const day = (ago) => new Date(Date.now() - ago * 86_400_000).toISOString().slice(0, 10);
  await page.goto(`${s.base}/#/analytics?from=${day(7)}&until=${day(0)}&sl=20`);
  const managers = page.locator('[data-testid=analytics-managers]');
  await managers.waitFor();

  const anna = managers.locator(`tr[data-agent-id="${s.users.anna.id}"]`);
  const cells = await anna.locator('td').allInnerTexts();
  assert.equal(cells[0], 'Anna Meier');
  assert.ok(Number(cells[4]) >= 3, `Anna missed at least 3 calls: ${cells}`);

  const sales = page.locator('[data-testid=analytics-queues] tr[data-queue=sales]');
  const q = await sales.locator('td').allInnerTexts();
  assert.deepEqual(q.slice(0, 6), ['sales', '2', '1', '1', '50 %', '1']);

  const google = page.locator(`[data-testid=analytics-sources] tr[data-source-id="${s.sources.google}"]`);
  assert.equal((await google.locator('td').allInnerTexts())[0], 'Google Ads');

  // The charts: bars per manager (answered and missed), per queue and per source.
  assert.equal(await page.locator('svg.chart').count(), 4);
  const annaMissedBar = await page.locator('svg.chart').first().locator('g[data-series=missed]').evaluateAll((gs) => gs.map((g) => Number(g.dataset.value)));
  assert.ok(annaMissedBar.some((v) => v >= 3));
  await screenshot(page, 'analytics');

  // CSV export: one file with the three tables.
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=export-csv]').click()]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(download.suggestedFilename(), /^ringbase-analytics-.*\.csv$/);
  assert.match(csv, /^Manager,agent_id,incoming,outgoing,answered,missed,talk_total_s/);
  assert.match(csv, new RegExp(`\\r\\nAnna Meier,${s.users.anna.id},`));
  assert.match(csv, /\r\nsales,2,1,1,0\.5,1,/);
  assert.match(csv, /\r\nGoogle Ads,/);

  // A service level the API refuses is named at its field.
  await page.locator('[data-testid=analytics-period] input[name=sl]').fill('0');
  await page.locator('[data-testid=analytics-period]').getByRole('button', { name: 'Filter' }).click();
  await page.locator('[data-testid=analytics-period] [data-field=service_level_s] .field-error', { hasText: 'between 1 and 3600' }).waitFor();
});

test('an admin configures a queue and a line; ringbase simulate follows them', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, s.base, s.users.admin);
  await page.goto(`${s.base}/#/admin/routing`);
  const queueForm = page.locator('[data-testid=queue-form]');
  await queueForm.waitFor();
  await queueForm.locator('input[name=name]').fill('support');
  await queueForm.locator('select[name=strategy]').selectOption('in_order');
  await queueForm.locator('input[name=rings]').fill('99');
  // Members ring in the order they are ticked: Bert, then Anna — then Anna moved first.
  await queueForm.getByLabel('Bert Bench').check();
  await queueForm.getByLabel('Anna Meier').check();
  await queueForm.getByRole('button', { name: 'Save' }).click();
  // The routing validation names queues["support"].rings: shown at the rings field.
  await queueForm.locator('[data-field=rings] .field-error', { hasText: 'between 1 and 60' }).waitFor();
  await queueForm.locator('input[name=rings]').fill('3');
  await queueForm.getByRole('button', { name: 'Save' }).click();
  const supportRow = page.locator('[data-testid=queues] tr[data-queue=support]');
  await supportRow.waitFor();
  assert.match(await supportRow.innerText(), /Bert Bench, Anna Meier/);
  await supportRow.getByRole('button', { name: 'Edit' }).click();
  await queueForm.getByLabel('Bert Bench').uncheck();
  await queueForm.getByLabel('Bert Bench').check();
  await queueForm.getByRole('button', { name: 'Save' }).click();
  await page.locator('[data-testid=queues] tr[data-queue=support]', { hasText: 'Anna Meier, Bert Bench' }).waitFor();

  const lineForm = page.locator('[data-testid=routing-line-form]');
  await lineForm.locator('input[name=name]').fill('Hotline');
  await lineForm.locator('input[name=number]').fill('+49895550100');
  await lineForm.locator('select[name=time_zone]').selectOption('Europe/Berlin');
  await lineForm.locator('input[name=weekdays]').fill('9-18');
  await lineForm.locator('select[name=queue]').selectOption('support');
  await lineForm.getByRole('button', { name: 'Save' }).click();
  await lineForm.locator('[data-field=weekdays] .field-error', { hasText: 'HH:MM' }).waitFor();
  await lineForm.locator('input[name=weekdays]').fill('09:00-18:00');
  await lineForm.locator('input[name=holidays]').fill('12-25 Christmas');
  await lineForm.getByRole('button', { name: 'Save' }).click();
  await page.locator('[data-testid=routing-lines] tr[data-line=Hotline]').waitFor();
  await page.evaluate(() => { window.scrollTo(0, 0); document.getElementById('toasts')?.replaceChildren(); });
  await screenshot(page, 'admin-routing');

  const stored = await page.evaluate(async () => (await fetch('/api/v1/settings/routing')).json());
  assert.deepEqual(stored.queues.map((x) => [x.name, x.strategy, x.members, x.rings]), [['support', 'in_order', [s.users.anna.id, s.users.bert.id], 3]]);
  assert.deepEqual(stored.lines[0].working_hours.monday, ['09:00-18:00']);

  // The simulator reads the stored settings: a Tuesday call rings Anna first, then Bert.
  const bin = process.env.RB_BIN;
  const data = process.env.RB_DATA;
  assert.ok(bin && data, 'RB_BIN and RB_DATA are set by scripts/browser-tests.sh');
  const dir = mkdtempSync(join(tmpdir(), 'rb-sim-'));
  try {
    const scenario = join(dir, 'scenario.toml');
    writeFileSync(scenario, [
      'start = "2026-11-24T10:00:00"', 'time_zone = "Europe/Berlin"', '',
      '[[agents]]', `id = ${s.users.bert.id}`, 'behaviour = "answer"', 'answer_after_seconds = 4', '',
      '[[calls]]', 'caller = "+4917612345678"', 'dialed = "+49895550100"', '',
    ].join('\n'));
    const run = spawnSync(bin, ['simulate', scenario, '--data-dir', data], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout;
    const annaAt = out.search(new RegExp(`ring agent ${s.users.anna.id} for 15 s`));
    const bertAt = out.search(new RegExp(`ring agent ${s.users.bert.id} for 15 s`));
    assert.ok(annaAt >= 0 && bertAt > annaAt, `Anna then Bert, 15 s each:\n${out}`);
    assert.match(out, /answered/i);

    // On Christmas Day the line is closed: nobody is rung.
    writeFileSync(scenario, readFileSync(scenario, 'utf8').replace('2026-11-24T10:00:00', '2026-12-25T10:00:00'));
    const closed = spawnSync(bin, ['simulate', scenario, '--data-dir', data], { encoding: 'utf8' });
    assert.equal(closed.status, 0, closed.stderr);
    assert.doesNotMatch(closed.stdout, /ring agent/, closed.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an IVR menu set up in the app: the call flow tree shows it and the simulator follows a key', async () => {
  await page.goto(`${s.base}/#/admin/routing`);
  const form = page.locator('[data-testid=ivr-form]');
  await form.waitFor();
  await form.locator('input[name=name]').fill('main');
  await form.locator('input[name=prompt]').fill('main-menu');
  // A typo in an action is named with its line, at the keys field, before any request.
  await form.locator('textarea[name=options]').fill(`1: queue support\n2: agnet ${s.users.bert.id}`);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.locator('[data-field=options] .field-error', { hasText: 'Line 2: unknown action "agnet"' }).waitFor();
  // A menu that does not exist is the routing validation's error, shown at the same field.
  await form.locator('textarea[name=options]').fill(`1: queue support\n2: agent ${s.users.bert.id}\n3: menu nowhere`);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.locator('[data-field=options] .field-error', { hasText: 'nowhere' }).waitFor();
  await form.locator('textarea[name=options]').fill(`1: queue support\n2: agent ${s.users.bert.id}\n9: repeat`);
  await form.getByRole('button', { name: 'Save' }).click();
  // A prompt that was never uploaded is refused at the prompt field.
  await form.locator('[data-field=prompt] .field-error', { hasText: '"main-menu"' }).waitFor();
  // Routing names only uploaded prompts: the menu's is uploaded (Admin → Prompts), then it saves.
  const uploaded = await page.evaluate(async () => {
    const rate = 8000;
    const body = new DataView(new ArrayBuffer(44 + rate * 2));
    const text = (at, s) => [...s].forEach((c, i) => body.setUint8(at + i, c.charCodeAt(0)));
    text(0, 'RIFF'); body.setUint32(4, 36 + rate * 2, true); text(8, 'WAVEfmt ');
    body.setUint32(16, 16, true); body.setUint16(20, 1, true); body.setUint16(22, 1, true);
    body.setUint32(24, rate, true); body.setUint32(28, rate * 2, true); body.setUint16(32, 2, true);
    body.setUint16(34, 16, true); text(36, 'data'); body.setUint32(40, rate * 2, true);
    const r = await fetch('/api/v1/prompts/main-menu', { method: 'PUT', headers: { 'Content-Type': 'audio/wav' }, body: body.buffer });
    return r.status;
  });
  assert.equal(uploaded, 200);
  await form.getByRole('button', { name: 'Save' }).click();
  await page.locator('[data-testid=ivr-menus] tr[data-menu=main]').waitFor();

  // The Hotline plays the menu.
  await page.locator('[data-testid=routing-lines] tr[data-line=Hotline]').getByRole('button', { name: 'Edit' }).click();
  const lineForm = page.locator('[data-testid=routing-line-form]');
  await lineForm.locator('select[name=ivr]').selectOption('main');
  await lineForm.getByRole('button', { name: 'Save' }).click();
  const flow = page.locator('[data-testid=call-flow] li[data-line=Hotline]');
  await flow.locator('li[data-digit="2"]', { hasText: 'Bert Bench' }).waitFor();
  assert.match(await flow.locator('li[data-digit="1"]').innerText(), /Queue support \(In order: Anna Meier, Bert Bench\)/);
  assert.match(await flow.locator('li[data-digit="9"]').innerText(), /Repeat the menu/);
  await page.evaluate(() => { window.scrollTo(0, 0); document.getElementById('toasts')?.replaceChildren(); });
  await screenshot(page, 'admin-call-flow');

  // The caller presses 2 after the menu prompt: only Bert is rung.
  const dir = mkdtempSync(join(tmpdir(), 'rb-sim-'));
  try {
    const scenario = join(dir, 'ivr.toml');
    writeFileSync(scenario, [
      'start = "2026-11-24T10:00:00"', 'time_zone = "Europe/Berlin"', 'prompt_seconds = 3', '',
      '[[agents]]', `id = ${s.users.bert.id}`, 'behaviour = "answer"', 'answer_after_seconds = 2', '',
      '[[calls]]', 'caller = "+4917612345678"', 'dialed = "+49895550100"', 'digits = [{ at_seconds = 4, keys = "2" }]', '',
    ].join('\n'));
    const run = spawnSync(process.env.RB_BIN, ['simulate', scenario, '--data-dir', process.env.RB_DATA], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /main-menu/, run.stdout);
    assert.match(run.stdout, new RegExp(`ring agent ${s.users.bert.id}\\b`), run.stdout);
    assert.doesNotMatch(run.stdout, new RegExp(`ring agent ${s.users.anna.id}\\b`), run.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a SIP password set in the app lets a desk phone register; the board and the users list show it', async () => {
  assert.ok(process.env.RB_SIP, 'RB_SIP is set by scripts/browser-tests.sh');
  await page.goto(`${s.base}/#/admin/users`);
  const anna = page.locator('[data-testid=users] tr', { hasText: 'Anna Meier' });
  await anna.getByRole('button', { name: 'SIP password' }).click();
  await anna.locator('input[name=password]').fill('anna-desk-phone-1');
  await anna.getByRole('button', { name: 'Save' }).click();
  await anna.locator('[data-testid=sip-account]', { hasText: 'Phone account: anna · realm ringbase-test' }).waitFor();

  // A wrong password is refused; the right one registers.
  assert.equal(await registerPhone(process.env.RB_SIP, { username: 'anna', password: 'not-her-password' }), 403);
  assert.equal(await registerPhone(process.env.RB_SIP, { username: 'anna', password: 'anna-desk-phone-1', userAgent: 'Yealink T46U' }), 200);

  await page.reload();
  await page.locator(`[data-testid=users] td[data-phone="${s.users.anna.id}"] .phone-state.on`, { hasText: 'registered (1)' }).waitFor();
  assert.match(await page.locator(`[data-testid=users] td[data-phone="${s.users.anna.id}"]`).innerText(), /Yealink T46U/);
  await page.goto(`${s.base}/#/board`);
  await page.locator(`[data-testid=board-agents] tr[data-agent-id="${s.users.anna.id}"] .phone-state.on`).waitFor();
  assert.match(await page.locator(`[data-testid=board-agents] tr[data-agent-id="${s.users.bert.id}"]`).innerText(), /no phone/);
});
