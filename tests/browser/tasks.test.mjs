// Tasks from the after-call form, in a real Chromium against a seeded `ringbase serve`: the
// agent types a task and picks the next call; both become real tasks on the contact (not text
// in a note), show in "My tasks" with the due call back first, appear on the contact's
// timeline, and a task is marked done from the list.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, signIn, reportBridgeCall, screenshot, seed } from './lib.mjs';

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

/** A request through the page's own session (cookie), as the app does. */
function apiInPage(method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, {
      method: m,
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    return { status: r.status, body: await r.json() };
  }, [method, path, body]);
}

/** `YYYY-MM-DDTHH:MM` for a datetime-local input, `daysFromNow` days away at 09:00. */
function wallTime(daysFromNow) {
  const d = new Date(Date.now() + daysFromNow * 86_400_000);
  return `${d.toISOString().slice(0, 10)}T09:00`;
}

test('the after-call form creates a task and a call back that show in My tasks and on the timeline', async () => {
  // A customer of our own, so the test does not depend on what other files did to the seed.
  const unique = String(Date.now()).slice(-6);
  const number = `+49 30 77${unique}`;
  const created = await apiInPage('POST', '/api/v1/contacts', { name: 'Tomasz Nowak', phones: [number] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const contactId = created.body.id;

  await page.goto(`${s.base}/#/live`);
  const panel = page.locator('[data-testid=my-tasks]');
  await panel.locator('h2').waitFor();

  // The bridge app reports the finished call: the after-call form opens.
  const logged = await reportBridgeCall(s.base, s.devices.anna, {
    idempotency_key: `tasks-${unique}`, direction: 'incoming', number,
    started_at: new Date(Date.now() - 90_000).toISOString(), ring_s: 3, duration_s: 61, answered: true,
  });
  const pop = page.locator('[data-testid=callpop]', { hasText: 'Tomasz Nowak' }).first();
  const form = pop.locator('[data-testid=aftercall]');
  await form.waitFor();
  await form.locator('textarea[name=note]').fill('Interested in 3 vans');
  await form.locator('input[name=task]').fill('Send the price list');
  // Yesterday's date: the call back is due already, so it must come first.
  await form.locator('input[name=next_call]').fill(wallTime(-1));
  await screenshot(page, 'after-call-tasks');
  await form.getByRole('button', { name: 'Save' }).click();
  await pop.locator('.saved-note').waitFor();

  // Two real tasks on the contact, assigned to Anna, linked to the call.
  const tasks = await apiInPage('GET', `/api/v1/tasks?contact_id=${contactId}`);
  assert.equal(tasks.status, 200);
  const [callBack, task] = tasks.body.items;
  assert.equal(tasks.body.items.length, 2, JSON.stringify(tasks.body));
  assert.equal(callBack.kind, 'call_back');
  assert.equal(callBack.title, 'Call back Tomasz Nowak');
  assert.ok(Date.parse(callBack.due_at) < Date.now(), callBack.due_at);
  assert.ok(Date.now() - Date.parse(callBack.due_at) < 3 * 86_400_000, callBack.due_at);
  assert.equal(task.kind, 'task');
  assert.equal(task.title, 'Send the price list');
  assert.equal(task.due_at, null);
  for (const t of [callBack, task]) {
    assert.equal(t.assignee_id, s.users.anna.id);
    assert.equal(t.call_id, logged.call.id);
    assert.deepEqual(t.subject, { kind: 'contact', id: contactId });
  }
  // The note is only the note now: the task is not smuggled into it as text.
  const call = await apiInPage('GET', `/api/v1/calls/${logged.call.id}`);
  assert.equal(call.body.notes, 'Interested in 3 vans');

  // My tasks: the due call back first, marked due; then the task without a due time.
  const callBackItem = panel.locator('li.task', { hasText: 'Call back Tomasz Nowak' });
  const taskItem = panel.locator('li.task', { hasText: 'Send the price list' });
  await callBackItem.waitFor();
  await taskItem.waitFor();
  const order = await panel.locator('li.task .task-title').allInnerTexts();
  assert.ok(order.indexOf('Call back Tomasz Nowak') < order.indexOf('Send the price list'), order.join(' | '));
  assert.match(await callBackItem.getAttribute('class'), /overdue/);
  assert.doesNotMatch(await taskItem.getAttribute('class'), /overdue/);
  await screenshot(page, 'my-tasks');

  // Both are on the contact's timeline, reached from the task's link.
  await taskItem.getByRole('link', { name: 'Send the price list' }).click();
  await page.locator('[data-testid=contact-name]', { hasText: 'Tomasz Nowak' }).waitFor();
  const timeline = page.locator('[data-testid=timeline]');
  await timeline.locator('.entry.task_created', { hasText: 'Send the price list' }).waitFor();
  await timeline.locator('.entry.task_created', { hasText: 'Call back Tomasz Nowak' }).waitFor();
  await timeline.locator('.entry.note', { hasText: 'Interested in 3 vans' }).waitFor();

  // Done from the list: it leaves My tasks and is done in the API.
  await page.goto(`${s.base}/#/live`);
  await taskItem.waitFor();
  await taskItem.locator('[data-testid=task-done]').click();
  await taskItem.waitFor({ state: 'detached' });
  await callBackItem.waitFor();
  const after = await apiInPage('GET', `/api/v1/tasks/${task.id}`);
  assert.ok(after.body.done_at, JSON.stringify(after.body));
  const open = await apiInPage('GET', `/api/v1/tasks?contact_id=${contactId}&done=false`);
  assert.deepEqual(open.body.items.map((t) => t.title), ['Call back Tomasz Nowak']);
});

test('without a contact or lead the form says where the task cannot go', async () => {
  // A call from a hidden number: no contact, no lead, so a task has no timeline to go on.
  await page.goto(`${s.base}/#/live`);
  await reportBridgeCall(s.base, s.devices.anna, {
    idempotency_key: `tasks-anon-${Date.now()}`, direction: 'incoming', number: 'anonymous',
    started_at: new Date(Date.now() - 30_000).toISOString(), ring_s: 2, duration_s: 12, answered: true,
  });
  const pop = page.locator('[data-testid=callpop]', { has: page.locator('[data-testid=aftercall]') }).first();
  const form = pop.locator('[data-testid=aftercall]');
  await form.waitFor();
  await form.locator('input[name=task]').fill('Find out who that was');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.locator('[data-field=task] .field-error', { hasText: 'create a lead' }).waitFor();
  await pop.getByRole('button', { name: 'Skip' }).click();
});
