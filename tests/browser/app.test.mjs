// End-to-end tests of the web app in a real Chromium against a seeded `ringbase serve`:
// sign-in, the screen pop driven through the mobile bridge API, the after-call form landing on
// the contact's timeline, the call log's filters, admin forms with the API's field errors,
// agent states and languages. Saves a screenshot of each main page to docs/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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

/** GET through the page's own session (cookie), as the app does. */
function apiInPage(path) {
  return page.evaluate(async (p) => {
    const r = await fetch(p, { headers: { Accept: 'application/json' } });
    return { status: r.status, body: await r.json() };
  }, path);
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('form.login-form').waitFor();
}

test('sign-in refuses a wrong password and lets the agent in with his role', async () => {
  await page.goto(`${s.base}/`);
  await page.locator('form.login-form').waitFor();
  await screenshot(page, 'sign-in');
  await page.locator('input[name=login]').fill('anna');
  await page.locator('input[name=password]').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.login-form .form-error', { hasText: 'wrong login or password' }).waitFor();

  await page.locator('input[name=password]').fill(s.users.anna.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('header.topbar').waitFor();
  assert.equal(await page.locator('.who').innerText().then((x) => x.split('\n')[0]), 'Anna Meier');
  const nav = await page.locator('nav.nav a').allInnerTexts();
  assert.deepEqual(nav, ['Live', 'Contacts', 'Call log', 'Settings'], 'agents get no admin screens');
  await page.locator('.live-dot.live').waitFor();
});

test('a ringing call pops the caller card with name, company, deal and manager', async () => {
  await ring(s.base, s.devices.anna, '+49 30 1234567');
  const pop = page.locator('[data-testid=callpop][data-phase=ringing]');
  await pop.waitFor();
  assert.equal(await pop.locator('[data-testid=caller-name]').innerText(), 'Jan Kowalski');
  const card = await pop.innerText();
  assert.match(card, /Acme GmbH/);
  assert.match(card, /Fleet renewal/);
  assert.match(card, /Anna Meier \(101\)/);
  assert.match(card, /Ringing/);
  // The ring timer runs.
  assert.match(await pop.locator('.timer').innerText(), /^0:0[0-2]$/);
  await pop.locator('.timer', { hasText: '0:02' }).waitFor({ timeout: 4000 });
  await screenshot(page, 'screen-pop');
});

test('after the call the form adds a note, rates the call and moves the deal', async () => {
  const pop = page.locator('[data-testid=callpop]').first();
  const started = new Date(Date.now() - 60_000).toISOString();
  const logged = await reportBridgeCall(s.base, s.devices.anna, {
    idempotency_key: `browser-${Date.now()}`, direction: 'incoming', number: '+49 30 1234567',
    started_at: started, ring_s: 4, duration_s: 42, answered: true,
  });
  const form = pop.locator('[data-testid=aftercall]');
  await form.waitFor();
  assert.match(await pop.locator('.pop-head').innerText(), /0:42/);
  await form.locator('textarea[name=note]').fill('Wants the offer by Friday');
  await form.locator('label.star').nth(4).click();
  await form.locator('select[name=stage]').selectOption('won');
  await screenshot(page, 'after-call');
  await form.getByRole('button', { name: 'Save' }).click();
  await pop.locator('.saved-note').waitFor();

  const call = await apiInPage(`/api/v1/calls/${logged.call.id}`);
  assert.equal(call.body.rating, 5);
  assert.equal(call.body.notes, 'Wants the offer by Friday');
  const deal = await apiInPage(`/api/v1/deals/${s.contacts.jan.deal}`);
  assert.equal(deal.body.stage, 'won');

  await pop.getByRole('link', { name: 'Open timeline' }).click();
  const timeline = page.locator('[data-testid=timeline]');
  await timeline.locator('.entry.note', { hasText: 'Wants the offer by Friday' }).waitFor();
  // The call is on the timeline too, with its rating.
  await timeline.locator('.entry.call .rating').first().waitFor();
  assert.equal(await page.locator('[data-testid=contact-name]').innerText(), 'Jan Kowalski');
  await screenshot(page, 'contact');
});

test('an unknown caller gets a one-click lead, then becomes a contact from the form', async () => {
  await page.goto(`${s.base}/#/live`);
  await ring(s.base, s.devices.anna, '+49 160 4445556');
  const pop = page.locator('[data-testid=callpop][data-phase=ringing]');
  await pop.waitFor();
  assert.equal(await pop.locator('[data-testid=caller-name]').innerText(), 'Unknown caller');
  await pop.locator('[data-testid=create-lead]').click();
  await pop.locator('[data-testid=caller-name]', { hasText: 'Call from +49 160 4445556' }).waitFor();
  await screenshot(page, 'live');
  await pop.getByRole('button', { name: 'Close' }).click();

  // The next ring from that number shows the lead made a moment ago.
  await ring(s.base, s.devices.anna, '+49 160 4445556');
  await page.locator('[data-testid=callpop][data-phase=ringing]').waitFor();
  const again = page.locator('[data-testid=callpop]').first();
  await again.getByText('Lead', { exact: true }).waitFor();
  await again.getByRole('button', { name: 'Notes' }).click();
  const form2 = again.locator('[data-testid=aftercall]');
  await form2.locator('input[name=contact_name]').fill('Peter Neumann');
  await form2.locator('input[name=contact_company]').fill('Neumann Logistik');
  await form2.locator('textarea[name=note]').fill('New customer, 12 trucks');
  await form2.getByRole('button', { name: 'Save' }).click();
  await again.getByRole('link', { name: 'Open timeline' }).click();
  await page.locator('[data-testid=contact-name]', { hasText: 'Peter Neumann' }).waitFor();
  await page.locator('[data-testid=timeline] .entry.note', { hasText: 'New customer, 12 trucks' }).waitFor();
  const converted = await apiInPage('/api/v1/leads?phone=%2B491604445556');
  assert.equal(converted.body.items[0].status, 'converted');
});

test('the contact list searches by name and by number', async () => {
  await page.goto(`${s.base}/#/contacts`);
  const search = page.locator('[data-testid=contact-search]');
  await search.fill('kowal');
  await page.locator('[data-testid=contact-list] tbody tr', { hasText: 'Jan Kowalski' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=contact-list] tbody tr').length === 1);
  await search.fill('+39 02 1234 5678');
  await page.locator('[data-testid=contact-list] tbody tr', { hasText: 'Maria Rossi' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=contact-list] tbody tr').length === 1);
  await search.fill('');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=contact-list] tbody tr').length > 10);
  await screenshot(page, 'contacts');
});

test('agent states: paused with a reason, then working', async () => {
  await page.goto(`${s.base}/#/live`);
  await page.locator('[data-testid=state-paused]').click();
  await page.getByRole('button', { name: 'Lunch' }).click();
  await page.locator('#state-badge', { hasText: 'Paused: Lunch' }).waitFor();
  let me = await apiInPage('/api/v1/me');
  assert.equal(me.body.user.work_state, 'paused');
  assert.equal(me.body.user.pause_reason, 'Lunch');
  await page.locator('[data-testid=state-working]').click();
  await page.locator('#state-badge', { hasText: 'Working' }).waitFor();
  me = await apiInPage('/api/v1/me');
  assert.equal(me.body.user.work_state, 'working');
  assert.equal(me.body.user.pause_reason, null);
});

test('the call log filters by status, direction and day, and keeps saved filters', async () => {
  await page.goto(`${s.base}/#/calls`);
  const rows = page.locator('[data-testid=call-log] tbody tr');
  await rows.first().waitFor();
  const all = await rows.count();
  assert.ok(all >= 5, `anna has at least 5 calls, saw ${all}`);

  await page.locator('[data-testid=call-filters] select[name=status]').selectOption('missed');
  await page.waitForFunction(() => location.hash.includes('status=missed'));
  await page.waitForFunction(() => {
    const r = [...document.querySelectorAll('[data-testid=call-log] tbody tr')];
    return r.length > 0 && r.every((tr) => tr.dataset.status === 'missed');
  });
  const missed = await rows.count();
  assert.equal(missed, 2, 'the two missed calls seeded for anna');
  await screenshot(page, 'call-log');

  // Save it, reset, and bring it back.
  await page.locator('input[name=filter_name]').fill('Missed');
  await page.getByRole('button', { name: 'Save filter' }).click();
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=call-log] tbody tr').length === n, all);
  await page.locator('.saved-filters a', { hasText: 'Missed' }).click();
  await page.waitForFunction(() => location.hash.includes('status=missed'));
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=call-log] tbody tr').length === n, missed);

  await page.getByRole('button', { name: 'Reset' }).click();
  await page.locator('[data-testid=call-filters] select[name=direction]').selectOption('callback');
  await page.waitForFunction(() => {
    const r = [...document.querySelectorAll('[data-testid=call-log] tbody tr')];
    return r.length === 1 && r[0].dataset.direction === 'callback';
  });

  // One day: the seeded calls of yesterday (UTC 09:00 and 11:00) and nothing else.
  await page.getByRole('button', { name: 'Reset' }).click();
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  await page.goto(`${s.base}/#/calls?from=${yesterday}&until=${yesterday}`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=call-log] tbody tr').length > 0);
  const days = await page.evaluate(() => [...document.querySelectorAll('[data-testid=call-log] tbody tr')].map((tr) => tr.dataset.callId));
  assert.ok(days.length >= 2 && days.length < all, `one day's calls: ${days.length} of ${all}`);

  // A number that is not one is the API's field error, shown at the field.
  await page.goto(`${s.base}/#/calls?number=hello`);
  await page.locator('[data-testid=call-filters] [data-field=number] .field-error').waitFor();
});

test('admin forms show the API error next to the field', async () => {
  await signOut();
  await signIn(page, s.base, s.users.admin);
  const nav = await page.locator('nav.nav a').allInnerTexts();
  assert.ok(nav.includes('Admin'));

  await page.goto(`${s.base}/#/admin/lines`);
  const lineForm = page.locator('[data-testid=line-form]');
  await lineForm.locator('input[name=number]').fill('hello');
  await lineForm.getByRole('button', { name: 'Create' }).click();
  const error = lineForm.locator('[data-field=number] .field-error');
  await error.waitFor();
  assert.match(await error.innerText(), /phone number/);
  assert.equal(await lineForm.locator('input[name=number]').getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'admin-lines');

  // A good one is created and listed; the field error is gone.
  await lineForm.locator('input[name=number]').fill('+49 89 123450');
  await lineForm.locator('input[name=name]').fill('Radio spot');
  await lineForm.getByRole('button', { name: 'Create' }).click();
  await page.locator('[data-testid=lines] tr', { hasText: 'Radio spot' }).waitFor();

  // Users: the extension rule and a duplicate login are both named at their field.
  await page.goto(`${s.base}/#/admin/users`);
  const userForm = page.locator('[data-testid=user-form]');
  await userForm.locator('input[name=name]').fill('Carla Bianchi');
  await userForm.locator('input[name=login]').fill('carla');
  await userForm.locator('input[name=extension]').fill('1');
  await userForm.getByRole('button', { name: 'Create' }).click();
  await userForm.locator('[data-field=extension] .field-error', { hasText: '2 to 6 digits' }).waitFor();
  await userForm.locator('input[name=extension]').fill('105');
  await userForm.locator('input[name=password]').fill('carla-secret-1');
  await userForm.getByRole('button', { name: 'Create' }).click();
  await page.locator('[data-testid=users] tr', { hasText: 'Carla Bianchi' }).waitFor();
  await screenshot(page, 'admin-users');

  // A SIP password for Carla's desk phone: too short is named at the field; then the phone
  // account (digest user name and realm) is shown, and no phone is registered yet.
  const carla = page.locator('[data-testid=users] tr', { hasText: 'Carla Bianchi' });
  await carla.getByRole('button', { name: 'SIP password' }).click();
  const sipForm = carla.locator('[data-testid=sip-password-form]');
  await sipForm.locator('input[name=password]').fill('short');
  await sipForm.getByRole('button', { name: 'Save' }).click();
  await sipForm.locator('[data-field=password] .field-error', { hasText: 'at least' }).waitFor();
  await sipForm.locator('input[name=password]').fill('desk-phone-secret');
  await sipForm.getByRole('button', { name: 'Save' }).click();
  await carla.locator('[data-testid=sip-account]', { hasText: 'Phone account: carla' }).waitFor();
  assert.match(await carla.innerText(), /no phone/);

  // Required fields are checked before any request.
  const sourceForm = async () => {
    await page.goto(`${s.base}/#/admin/sources`);
    const form = page.locator('[data-testid=source-form]');
    await form.getByRole('button', { name: 'Create' }).click();
    await form.locator('[data-field=name] .field-error', { hasText: 'Required' }).waitFor();
  };
  await sourceForm();

  // Bridge devices: the token is shown once.
  await page.goto(`${s.base}/#/admin/devices`);
  const deviceForm = page.locator('[data-testid=device-form]');
  await deviceForm.locator('input[name=name]').fill('Carla phone');
  await deviceForm.locator('select[name=user_id]').selectOption({ label: 'Carla Bianchi' });
  await deviceForm.getByRole('button', { name: 'Create' }).click();
  const token = await page.locator('[data-testid=secret-once]').inputValue();
  assert.match(token, /^rbd_/);

  // Webhooks: a URL that is not http(s) is refused at the url field.
  await page.goto(`${s.base}/#/admin/webhooks`);
  const hookForm = page.locator('[data-testid=webhook-form]');
  await hookForm.locator('input[name=url]').fill('ftp://example.invalid/x');
  await hookForm.getByRole('button', { name: 'Create' }).click();
  await hookForm.locator('[data-field=url] .field-error', { hasText: 'http' }).waitFor();

  // Masking: a count out of range is named at the role's count.
  await page.goto(`${s.base}/#/admin/masking`);
  const masking = page.locator('[data-testid=masking-form]');
  await masking.locator('select[name="agent.mode"]').selectOption('first');
  await masking.locator('input[name="agent.count"]').fill('999');
  await masking.getByRole('button', { name: 'Save' }).click();
  await masking.locator('[data-field="agent.count"] .field-error', { hasText: '1 to 255' }).waitFor();
  await screenshot(page, 'admin-masking');
  await masking.locator('input[name="agent.count"]').fill('6');
  await masking.getByRole('button', { name: 'Save' }).click();
  await page.locator('.toast', { hasText: 'Saved' }).first().waitFor();
  let policy = await apiInPage('/api/v1/settings/masking');
  assert.deepEqual(policy.body.agent, { mode: 'first', count: 6 });
  // Back to no masking, so agents see whole numbers in the other tests.
  await masking.locator('select[name="agent.mode"]').selectOption('none');
  // Wait for the PUT itself: a poll that reads the policy could win the race against it.
  const put = page.waitForResponse((r) => r.url().endsWith('/api/v1/settings/masking') && r.request().method() === 'PUT');
  await masking.getByRole('button', { name: 'Save' }).click();
  assert.equal((await put).status(), 200);
  policy = await apiInPage('/api/v1/settings/masking');
  assert.equal(policy.body.agent, undefined);
});

test('the language switch translates the app and formats in the locale', async () => {
  await page.goto(`${s.base}/#/settings`);
  await page.locator('[data-testid=language]').selectOption('de');
  await page.locator('nav.nav a', { hasText: 'Anrufliste' }).waitFor();
  await page.goto(`${s.base}/#/calls`);
  await page.locator('h1', { hasText: 'Anrufliste' }).waitFor();
  await page.locator('[data-testid=call-log] tbody tr').first().waitFor();
  // German dates: day.month.year.
  const started = await page.locator('[data-testid=call-log] tbody tr td').first().innerText();
  assert.match(started, /^\d{2}\.\d{2}\.\d{2,4}/);
  for (const [lang, word] of [['it', 'Registro chiamate'], ['pl', 'Rejestr połączeń']]) {
    await page.goto(`${s.base}/#/settings`);
    await page.locator('[data-testid=language]').selectOption(lang);
    await page.locator('nav.nav a', { hasText: word }).waitFor();
  }
  // Kept per user: a reload keeps Polish.
  await page.reload();
  await page.locator('nav.nav a', { hasText: 'Rejestr połączeń' }).waitFor();
  await screenshot(page, 'settings-polish');
  await page.locator('[data-testid=language]').selectOption('en');
  await page.locator('nav.nav a', { hasText: 'Call log' }).waitFor();
});
