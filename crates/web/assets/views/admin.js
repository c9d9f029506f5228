// Admin settings: lines and sources (call tracking), users, routing and its prompts, bridge
// devices, webhooks, number masking, lead exceptions, the dialed-number header order and API
// keys. Every form shows the
// API's error next to the field it names.

import { api, byId, forget } from '../api.js';
import { h, mount, phoneLink, select, toast } from '../dom.js';
import { field, listOf, submitting, valueOf } from '../forms.js';
import { t, fmtDateTime, timeZones } from '../i18n.js';

const TABS = ['lines', 'sources', 'users', 'routing', 'trunks', 'prompts', 'devices', 'webhooks', 'masking', 'exceptions', 'tracking', 'apikeys'];
const ROLES = ['agent', 'supervisor', 'admin'];
const EVENTS = ['call.started', 'call.ringing', 'call.answered', 'call.ended', 'lead.created'];
const LEAD_RULES = ['all', 'incoming', 'outgoing', 'none'];

export async function render(root, { params }) {
  const tab = TABS.includes(params[0]) ? params[0] : 'lines';
  document.title = `${t(`admin.${tab}`)} · ${t('nav.admin')} · Ringbase`;
  const body = h('div', { class: 'admin-body' });
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, t('nav.admin'))),
    h('div', { class: 'admin' },
      h('nav', { class: 'tabs', 'aria-label': t('nav.admin') },
        TABS.map((name) => h('a', { href: `#/admin/${name}`, class: name === tab ? 'active' : '', 'aria-current': name === tab ? 'page' : null }, t(`admin.${name}`)))),
      body));
  await TAB_VIEWS[tab](body);
}

const TAB_VIEWS = { lines, sources, users, routing, trunks, prompts, devices, webhooks, masking, exceptions, tracking, apikeys };

/** Re-renders the current tab (after a create or delete). */
function reload(body, view) {
  return () => view(body);
}

function table(headers, rows, testid) {
  return h('table', { class: 'list', 'data-testid': testid },
    h('thead', null, h('tr', null, headers.map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', null, rows));
}

function deleteButton(path, after, confirmText) {
  return h('button', { type: 'button', class: 'small danger', onclick: async (e) => {
    if (confirmText && !window.confirm(confirmText)) return;
    e.currentTarget.disabled = true;
    try {
      await api.del(path);
      after();
    } catch (err) {
      toast(err.message, 'error');
      e.target.disabled = false;
    }
  } }, t('action.delete'));
}

function createForm(title, testid, fields, onSubmit) {
  const form = h('form', { class: 'panel stack', 'data-testid': testid, novalidate: true },
    h('h2', null, title), fields,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.create'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const done = await submitting(form, () => onSubmit(form));
    if (done) form.reset();
  });
  return form;
}

/** A secret the API shows only once: a token, a webhook secret, an API key. */
function secretOnce(label, secret) {
  const input = h('input', { readonly: true, value: secret, class: 'secret', 'data-testid': 'secret-once', 'aria-label': label });
  return h('div', { class: 'panel secret-box', role: 'alert' },
    h('h2', null, label), h('p', null, t('admin.shown_once')),
    h('div', { class: 'inline' }, input,
      h('button', { type: 'button', onclick: async () => {
        input.select();
        try { await navigator.clipboard.writeText(secret); toast(t('admin.copied'), 'ok'); } catch { /* selected for manual copy */ }
      } }, t('action.copy'))));
}

// ---- lines ----

async function lines(body) {
  const [{ items }, sources] = await Promise.all([api.get('/api/v1/lines'), byId('/api/v1/sources')]);
  const again = reload(body, lines);
  const sourceOptions = [['', '—'], ...[...sources.values()].map((s) => [s.id, s.name])];
  const rows = items.map((line) => {
    const source = select({ 'aria-label': t('admin.source'), class: 'small' }, sourceOptions, line.source_id ?? '');
    const rule = select({ 'aria-label': t('admin.lead_rule'), class: 'small' }, LEAD_RULES.map((r) => [r, t(`lead_rule.${r}`)]), line.lead_rule);
    const error = h('span', { class: 'field-error', role: 'alert' });
    const patch = async (change) => {
      error.textContent = '';
      try {
        await api.patch(`/api/v1/lines/${line.id}`, change);
        forget('/api/v1/lines');
        toast(t('admin.saved'), 'ok');
      } catch (e) {
        error.textContent = e.message;
      }
    };
    source.addEventListener('change', () => patch({ source_id: source.value ? Number(source.value) : null }));
    rule.addEventListener('change', () => patch({ lead_rule: rule.value }));
    return h('tr', null,
      h('td', null, phoneLink(line.number.e164, line.number.raw)),
      h('td', null, line.name),
      h('td', null, source),
      h('td', null, rule, error),
      h('td', null, t(`line_origin.${line.origin}`)),
      h('td', null, line.origin === 'manual' ? deleteButton(`/api/v1/lines/${line.id}`, () => { forget('/api/v1/lines'); again(); }, t('admin.confirm_delete')) : h('span', { class: 'muted small', title: t('admin.seen_lines_stay') }, t('admin.kept'))));
  });
  mount(body,
    createForm(t('admin.new_line'), 'line-form', [
      h('div', { class: 'row2' },
        field(t('admin.number'), h('input', { name: 'number', required: true, inputmode: 'tel', placeholder: '+49 89 998877' })),
        field(t('admin.name'), h('input', { name: 'name', maxlength: 200 }))),
      h('div', { class: 'row2' },
        field(t('admin.source'), select({ name: 'source_id' }, sourceOptions, '')),
        field(t('admin.lead_rule'), select({ name: 'lead_rule' }, LEAD_RULES.map((r) => [r, t(`lead_rule.${r}`)]), 'all'))),
    ], async (form) => {
      await api.post('/api/v1/lines', {
        number: valueOf(form, 'number') || '',
        name: valueOf(form, 'name') || '',
        source_id: valueOf(form, 'source_id') ? Number(valueOf(form, 'source_id')) : undefined,
        lead_rule: valueOf(form, 'lead_rule'),
      });
      forget('/api/v1/lines');
      setTimeout(again);
      return true;
    }),
    items.length ? table([t('admin.number'), t('admin.name'), t('admin.source'), t('admin.lead_rule'), t('admin.origin'), ''], rows, 'lines')
      : h('p', { class: 'muted' }, t('admin.no_lines')));
}

// ---- sources ----

async function sources(body) {
  const { items } = await api.get('/api/v1/sources');
  const again = reload(body, sources);
  mount(body,
    createForm(t('admin.new_source'), 'source-form', [
      field(t('admin.name'), h('input', { name: 'name', required: true, maxlength: 200, placeholder: 'Google Ads' })),
    ], async (form) => {
      await api.post('/api/v1/sources', { name: valueOf(form, 'name') || '' });
      forget('/api/v1/sources');
      setTimeout(again);
      return true;
    }),
    items.length ? table([t('admin.name'), ''], items.map((s) => h('tr', null, h('td', null, s.name),
      h('td', null, deleteButton(`/api/v1/sources/${s.id}`, () => { forget('/api/v1/sources'); again(); }, t('admin.confirm_delete'))))), 'sources')
      : h('p', { class: 'muted' }, t('admin.no_sources')));
}

// ---- users ----

async function users(body) {
  const [{ items }, phones] = await Promise.all([api.get('/api/v1/users'), registrations()]);
  const again = reload(body, users);
  const rows = items.map((u) => {
    const role = select({ 'aria-label': t('admin.role'), class: 'small' }, ROLES.map((r) => [r, t(`role.${r}`)]), u.role);
    const error = h('span', { class: 'field-error', role: 'alert' });
    role.addEventListener('change', async () => {
      error.textContent = '';
      try {
        await api.patch(`/api/v1/users/${u.id}`, { role: role.value });
        forget('/api/v1/users');
        toast(t('admin.saved'), 'ok');
      } catch (e) {
        role.value = u.role;
        error.textContent = e.message;
      }
    });
    return h('tr', null,
      h('td', null, u.name), h('td', null, u.login), h('td', null, role, error),
      h('td', null, u.extension || ''), h('td', null, u.mobile ? phoneLink(u.mobile.e164, u.mobile.raw) : ''),
      h('td', null, h('span', { class: `state-badge ${u.work_state}` }, t(`state.${u.work_state}`)), u.pause_reason ? ` (${u.pause_reason})` : ''),
      h('td', { dataset: { phone: u.id } }, phoneState(phones.get(u.id)), ' ', sipPasswordButton(u)),
      h('td', null, passwordButton(u)));
  });
  mount(body,
    createForm(t('admin.new_user'), 'user-form', [
      h('div', { class: 'row2' },
        field(t('admin.name'), h('input', { name: 'name', required: true, maxlength: 200 })),
        field(t('admin.login'), h('input', { name: 'login', required: true, maxlength: 100, autocomplete: 'off' }))),
      h('div', { class: 'row3' },
        field(t('admin.role'), select({ name: 'role' }, ROLES.map((r) => [r, t(`role.${r}`)]), 'agent')),
        field(t('admin.extension'), h('input', { name: 'extension', inputmode: 'numeric', maxlength: 6 }), t('admin.extension_hint')),
        field(t('admin.mobile'), h('input', { name: 'mobile', inputmode: 'tel' }))),
      field(t('admin.password'), h('input', { name: 'password', type: 'password', autocomplete: 'new-password' }), t('admin.password_hint')),
    ], async (form) => {
      await api.post('/api/v1/users', {
        name: valueOf(form, 'name') || '',
        login: valueOf(form, 'login') || '',
        role: valueOf(form, 'role'),
        extension: valueOf(form, 'extension') || undefined,
        mobile: valueOf(form, 'mobile') || undefined,
        password: form.elements.namedItem('password').value || undefined,
      });
      forget('/api/v1/users');
      setTimeout(again);
      return true;
    }),
    table([t('admin.name'), t('admin.login'), t('admin.role'), t('admin.extension'), t('admin.mobile'), t('admin.state'), t('admin.sip_phone'), ''], rows, 'users'));
}

/** user id → the phones registered for him (`GET /api/v1/registrations`). */
export async function registrations() {
  const byUser = new Map();
  try {
    const { items } = await api.get('/api/v1/registrations');
    for (const r of items) byUser.set(r.user.id, [...(byUser.get(r.user.id) || []), r]);
  } catch {
    // A server without the SIP registrar answers nothing to show.
  }
  return byUser;
}

/** "registered (Yealink T46U)" or "no phone". */
export function phoneState(list) {
  if (!list || list.length === 0) return h('span', { class: 'phone-state off' }, t('admin.no_phone'));
  const agents = [...new Set(list.map((r) => r.user_agent).filter(Boolean))];
  return h('span', { class: 'phone-state on', title: list.map((r) => `${r.contact} · ${r.transport} ${r.source}`).join('\n') },
    t('admin.registered', { n: list.length }), agents.length ? h('span', { class: 'muted small' }, ` ${agents.join(', ')}`) : null);
}

/** The password a desk or soft phone registers with (digest user name: the login). */
function sipPasswordButton(user) {
  const cell = h('span', { class: 'sip-cell' });
  const open = h('button', { type: 'button', class: 'small', onclick: () => {
    const form = h('form', { class: 'inline', novalidate: true, 'data-testid': 'sip-password-form' },
      field(t('admin.sip_password'), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
      h('button', { type: 'submit', class: 'small' }, t('action.save')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const account = await submitting(form, () => api.put(`/api/v1/users/${user.id}/sip-password`, { password: form.elements.namedItem('password').value }));
      if (account) {
        mount(cell, h('span', { class: 'small', 'data-testid': 'sip-account' }, t('admin.sip_account', { username: account.username, realm: account.realm })));
        toast(t('admin.saved'), 'ok');
      }
    });
    mount(cell, form);
    form.querySelector('input').focus();
  } }, t('admin.set_sip_password'));
  return mount(cell, open);
}

function passwordButton(user) {
  const cell = h('span');
  const open = h('button', { type: 'button', class: 'small', onclick: () => {
    const form = h('form', { class: 'inline', novalidate: true },
      field(t('admin.password'), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
      h('button', { type: 'submit', class: 'small' }, t('action.save')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const done = await submitting(form, () => api.put(`/api/v1/users/${user.id}/password`, { password: form.elements.namedItem('password').value }).then(() => true));
      if (done) { mount(cell, open); toast(t('admin.saved'), 'ok'); }
    });
    mount(cell, form);
    form.querySelector('input').focus();
  } }, t('admin.set_password'));
  return mount(cell, open);
}

// ---- bridge devices ----

async function devices(body) {
  const [{ items }, people] = await Promise.all([api.get('/api/v1/devices'), byId('/api/v1/users')]);
  const again = reload(body, devices);
  const form = createForm(t('admin.new_device'), 'device-form', [
    h('div', { class: 'row2' },
      field(t('admin.name'), h('input', { name: 'name', required: true, maxlength: 100, placeholder: "Anna's Pixel" })),
      field(t('admin.device_user'), select({ name: 'user_id', required: true }, [['', '—'], ...[...people.values()].map((u) => [u.id, u.name])], ''))),
  ], async (f) => {
    const created = await api.post('/api/v1/devices', {
      name: valueOf(f, 'name') || '',
      user_id: Number(valueOf(f, 'user_id')),
    });
    await devices(body);
    body.prepend(secretOnce(t('admin.device_token'), created.token));
    return true;
  });
  mount(body, form,
    items.length ? table([t('admin.name'), t('admin.device_user'), t('admin.created'), t('admin.last_seen'), ''], items.map((d) => h('tr', null,
      h('td', null, d.name), h('td', null, people.get(d.user_id) ? people.get(d.user_id).name : `#${d.user_id}`),
      h('td', null, fmtDateTime(d.created_at)), h('td', null, d.last_seen_at ? fmtDateTime(d.last_seen_at) : '—'),
      h('td', null, deleteButton(`/api/v1/devices/${d.id}`, again, t('admin.confirm_delete'))))), 'devices')
      : h('p', { class: 'muted' }, t('admin.no_devices')));
}

// ---- webhooks ----

async function webhooks(body) {
  const { items } = await api.get('/api/v1/webhooks');
  const again = reload(body, webhooks);
  const deliveriesBox = h('div');
  const eventBoxes = h('div', { class: 'checks' }, EVENTS.map((ev) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'events', value: ev, checked: ev === 'call.ended' }), ev)));
  const form = createForm(t('admin.new_webhook'), 'webhook-form', [
    field(t('admin.url'), h('input', { name: 'url', required: true, type: 'url', placeholder: 'https://crm.example/hooks/ringbase' })),
    h('div', { class: 'field', dataset: { field: 'events' } }, h('span', { class: 'label' }, t('admin.events')), eventBoxes, h('span', { class: 'field-error', role: 'alert' })),
    field(t('admin.secret'), h('input', { name: 'secret', autocomplete: 'off' }), t('admin.secret_hint')),
  ], async (f) => {
    const events = [...f.querySelectorAll('input[name=events]:checked')].map((i) => i.value);
    const created = await api.post('/api/v1/webhooks', { url: valueOf(f, 'url') || '', events, secret: valueOf(f, 'secret') || undefined });
    await webhooks(body);
    body.prepend(secretOnce(t('admin.webhook_secret'), created.secret));
    return true;
  });
  mount(body, form,
    items.length ? table([t('admin.url'), t('admin.events'), t('admin.created'), ''], items.map((w) => h('tr', null,
      h('td', { class: 'wrap' }, w.url), h('td', null, w.events.join(', ')), h('td', null, fmtDateTime(w.created_at)),
      h('td', null,
        h('button', { type: 'button', class: 'small', onclick: () => showDeliveries(deliveriesBox, w) }, t('admin.deliveries')), ' ',
        deleteButton(`/api/v1/webhooks/${w.id}`, again, t('admin.confirm_delete'))))), 'webhooks')
      : h('p', { class: 'muted' }, t('admin.no_webhooks')),
    deliveriesBox);
}

async function showDeliveries(box, hook) {
  try {
    const { items } = await api.get(`/api/v1/webhooks/${hook.id}/deliveries`, { limit: 50 });
    mount(box, h('div', { class: 'panel' }, h('h2', null, `${t('admin.deliveries')}: ${hook.url}`),
      items.length === 0 ? h('p', { class: 'muted' }, t('admin.no_deliveries')) :
        table([t('admin.created'), t('admin.event'), t('admin.state'), t('admin.attempts'), t('admin.last_result')], items.map((d) => h('tr', null,
          h('td', null, fmtDateTime(d.created_at)), h('td', null, d.event),
          h('td', null, h('span', { class: `delivery ${d.state}` }, t(`delivery.${d.state}`))),
          h('td', { class: 'num' }, String(d.attempts)),
          h('td', { class: 'wrap' }, d.last_status ? `HTTP ${d.last_status}` : '', d.last_error ? ` ${d.last_error}` : ''))), 'deliveries')));
  } catch (e) {
    mount(box, h('p', { class: 'form-error' }, e.message));
  }
}

// ---- masking ----

async function masking(body) {
  const policy = await api.get('/api/v1/settings/masking');
  const form = h('form', { class: 'panel stack', 'data-testid': 'masking-form', novalidate: true },
    h('h2', null, t('admin.masking')), h('p', { class: 'muted' }, t('admin.masking_hint')),
    ROLES.map((role) => {
      const rule = policy[role] || { mode: 'none' };
      const count = h('input', { name: `${role}.count`, type: 'number', min: 1, max: 255, value: rule.count ?? 6, disabled: rule.mode !== 'first' });
      const mode = select({ name: `${role}.mode` }, ['none', 'full', 'first'].map((m) => [m, t(`mask.${m}`)]), rule.mode);
      mode.addEventListener('change', () => { count.disabled = mode.value !== 'first'; });
      return h('div', { class: 'row2' }, field(t(`role.${role}`), mode), field(t('admin.mask_count'), count));
    }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.save'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const saved = await submitting(form, () => {
      const next = {};
      for (const role of ROLES) {
        const mode = valueOf(form, `${role}.mode`);
        if (mode === 'first') {
          const raw = valueOf(form, `${role}.count`);
          // Checked here: the API's error for this nested value cannot name the field.
          if (raw === null || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 255) {
            throw Object.assign(new Error(t('admin.mask_count_range')), { field: `${role}.count` });
          }
          next[role] = { mode, count: Number(raw) };
        } else if (mode !== 'none') {
          next[role] = { mode };
        }
      }
      return api.put('/api/v1/settings/masking', next);
    });
    if (saved) toast(t('admin.saved'), 'ok');
  });
  mount(body, form);
}

// ---- lead exceptions ----

async function exceptions(body) {
  const { items } = await api.get('/api/v1/lead-exceptions');
  const again = reload(body, exceptions);
  mount(body,
    createForm(t('admin.new_exception'), 'exception-form', [
      field(t('admin.number'), h('input', { name: 'number', required: true, inputmode: 'tel' }), t('admin.exception_hint')),
    ], async (f) => {
      await api.post('/api/v1/lead-exceptions', { number: valueOf(f, 'number') || '' });
      setTimeout(again);
      return true;
    }),
    items.length ? table([t('admin.number'), ''], items.map((p) => h('tr', null,
      h('td', null, phoneLink(p.e164, p.raw)),
      h('td', null, deleteButton(`/api/v1/lead-exceptions/${encodeURIComponent(p.e164)}`, again)))), 'exceptions')
      : h('p', { class: 'muted' }, t('admin.no_exceptions')));
}

// ---- prompts ----

/** Seconds with one decimal, in the user's locale: "12.5 s". */
function fmtSeconds(ms) {
  return t('admin.seconds', { n: (Math.round(ms / 100) / 10).toLocaleString(document.documentElement.lang || undefined) });
}

async function prompts(body) {
  const { items } = await api.get('/api/v1/prompts');
  const again = reload(body, prompts);
  const form = h('form', { class: 'panel stack', 'data-testid': 'prompt-form', novalidate: true },
    h('h2', null, t('admin.new_prompt')),
    h('div', { class: 'row2' },
      field(t('admin.prompt_name'), h('input', { name: 'name', required: true, maxlength: 64, pattern: '[A-Za-z0-9][A-Za-z0-9_-]*', placeholder: 'welcome' }), t('admin.prompt_name_hint')),
      field(t('admin.prompt_file'), h('input', { name: 'body', type: 'file', required: true, accept: 'audio/wav,.wav' }), t('admin.prompt_file_hint'))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('admin.upload'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const done = await submitting(form, async () => {
      const name = valueOf(form, 'name') || '';
      const file = form.elements.namedItem('body').files[0];
      // Browsers type .wav files differently (audio/x-wav, audio/wave, or nothing): the server
      // checks the content, so it is always sent as audio/wav.
      const saved = await api.upload(`/api/v1/prompts/${encodeURIComponent(name)}`, 'audio/wav', file);
      toast(t('admin.prompt_saved', { name: saved.name }), 'ok');
      return saved;
    });
    if (done) setTimeout(again);
  });
  mount(body,
    form,
    items.length ? table([t('admin.name'), t('admin.prompt_length'), t('admin.prompt_rate'), t('admin.prompt_size'), t('admin.prompt_listen'), ''],
      items.map((p) => h('tr', { dataset: { prompt: p.name } },
        h('td', null, h('code', null, p.name)),
        h('td', null, fmtSeconds(p.duration_ms)),
        h('td', null, `${p.sample_rate.toLocaleString(document.documentElement.lang || undefined)} Hz`),
        h('td', null, `${Math.max(1, Math.round(p.size_bytes / 1024))} KiB`),
        h('td', null, h('audio', { controls: true, preload: 'none', src: `/api/v1/prompts/${encodeURIComponent(p.name)}/audio`, 'aria-label': t('admin.prompt_listen_to', { name: p.name }) })),
        h('td', null, deleteButton(`/api/v1/prompts/${encodeURIComponent(p.name)}`, again, t('admin.confirm_delete'))))), 'prompts')
      : h('p', { class: 'muted' }, t('admin.no_prompts')),
    h('p', { class: 'muted small' }, t('admin.prompts_hint')));
}

// ---- tracking ----

async function tracking(body) {
  const settings = await api.get('/api/v1/settings/tracking');
  const orders = ['diversion,to', 'to,diversion', 'to', 'diversion'];
  const form = h('form', { class: 'panel stack', 'data-testid': 'tracking-form', novalidate: true },
    h('h2', null, t('admin.tracking')),
    field(t('admin.dialed_priority'), select({ name: 'dialed_number_priority' },
      orders.map((o) => [o, t(`tracking.${o}`)]), settings.dialed_number_priority), t('admin.tracking_hint')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.save'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const saved = await submitting(form, () => api.put('/api/v1/settings/tracking', { dialed_number_priority: valueOf(form, 'dialed_number_priority') }));
    if (saved) toast(t('admin.saved'), 'ok');
  });
  mount(body, form);
}

// ---- API keys ----

async function apikeys(body) {
  const { items } = await api.get('/api/v1/apikeys');
  const again = reload(body, apikeys);
  const form = createForm(t('admin.new_apikey'), 'apikey-form', [
    h('div', { class: 'row2' },
      field(t('admin.name'), h('input', { name: 'name', required: true, maxlength: 100 })),
      field(t('admin.role'), select({ name: 'role' }, ROLES.map((r) => [r, t(`role.${r}`)]), 'supervisor'))),
  ], async (f) => {
    const created = await api.post('/api/v1/apikeys', { name: valueOf(f, 'name') || '', role: valueOf(f, 'role') });
    await apikeys(body);
    body.prepend(secretOnce(t('admin.apikey'), created.key));
    return true;
  });
  mount(body, form,
    table([t('admin.name'), t('admin.role'), t('admin.prefix'), t('admin.created'), ''], items.map((k) => h('tr', null,
      h('td', null, k.name), h('td', null, t(`role.${k.role}`)), h('td', null, h('code', null, `${k.prefix}…`)),
      h('td', null, fmtDateTime(k.created_at)),
      h('td', null, deleteButton(`/api/v1/apikeys/${k.id}`, again, t('admin.confirm_revoke'))))), 'apikeys'));
}


// ---- trunks: provider lines, their registration status ----

const TRUNK_STATES = ['registered', 'pending', 'failed', 'not_registering'];

/**
 * The form field an error of `PUT /api/v1/trunks` is about when `index` is the trunk being
 * edited: `trunks[2].allow[1]` → `allow`; another trunk's error stays for the whole form.
 */
export function trunkField(path, index) {
  const m = (path || '').match(/^trunks\[(\d+)\]\.([a-z_]+)/);
  return m && Number(m[1]) === index ? m[2] : null;
}

/** A trunk as `PUT /api/v1/trunks` takes it; without `password` the stored one stays. */
function trunkInput(trunk) {
  const out = {
    name: trunk.name, number: trunk.number ?? null, username: trunk.username ?? null, domain: trunk.domain ?? null,
    host: trunk.host, outbound_proxy: trunk.outbound_proxy ?? null, register: trunk.register, expires: trunk.expires,
    allow: trunk.allow || [],
  };
  if (trunk.password !== undefined) out.password = trunk.password;
  return out;
}

function trunkBadge(status) {
  const state = status ? status.state : 'pending';
  const label = TRUNK_STATES.includes(state) ? t(`trunk_state.${state}`) : state;
  return h('span', { class: `state-badge trunk-${state}`, 'data-testid': 'trunk-state', 'data-state': state, title: status ? status.detail : '' }, label);
}

async function trunks(body) {
  const { items } = await api.get('/api/v1/trunks');
  const again = () => trunks(body);
  const editable = items.filter((tr) => !tr.read_only);
  let editing = null; // the name of the trunk in the form, when editing one

  const password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', maxlength: 128 });
  const form = h('form', { class: 'panel stack', 'data-testid': 'trunk-form', novalidate: true },
    h('h2', null, t('admin.new_trunk')),
    h('div', { class: 'row3' },
      field(t('admin.name'), h('input', { name: 'name', required: true, maxlength: 64, placeholder: 'provider' })),
      field(t('admin.trunk_number'), h('input', { name: 'number', inputmode: 'tel', placeholder: '+4930123456' }), t('admin.trunk_number_hint')),
      field(t('admin.trunk_host'), h('input', { name: 'host', required: true, placeholder: 'sip.provider.example:5060' }))),
    h('div', { class: 'row3' },
      field(t('admin.trunk_username'), h('input', { name: 'username', autocomplete: 'off', maxlength: 128 })),
      field(t('admin.trunk_password'), password, t('admin.trunk_password_hint')),
      field(t('admin.trunk_domain'), h('input', { name: 'domain', placeholder: 'sip.provider.example' }), t('admin.trunk_domain_hint'))),
    h('div', { class: 'row3' },
      field(t('admin.trunk_proxy'), h('input', { name: 'outbound_proxy', placeholder: 'proxy.provider.example:5060' })),
      field(t('admin.trunk_expires'), h('input', { name: 'expires', type: 'number', min: 60, max: 86400, value: 3600 })),
      field(t('admin.trunk_allow'), h('input', { name: 'allow', placeholder: '203.0.113.5; 203.0.113.6:5060' }), t('admin.trunk_allow_hint'))),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'register', checked: true }), t('admin.trunk_register')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.save'))));

  const edit = (trunk) => {
    editing = trunk.name;
    for (const name of ['name', 'number', 'host', 'username', 'domain', 'outbound_proxy', 'expires']) {
      form.elements.namedItem(name).value = trunk[name] ?? '';
    }
    form.elements.namedItem('allow').value = (trunk.allow || []).join('; ');
    form.elements.namedItem('register').checked = trunk.register;
    password.value = '';
    password.placeholder = trunk.password_set ? t('admin.trunk_password_kept') : '';
    form.querySelector('input').focus();
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const saved = await submitting(form, async () => {
      const expires = valueOf(form, 'expires');
      if (expires !== null && !/^\d+$/.test(expires)) throw Object.assign(new Error(t('admin.whole_number')), { field: 'expires' });
      const trunk = {
        name: valueOf(form, 'name') || '', number: valueOf(form, 'number'), host: valueOf(form, 'host') || '',
        username: valueOf(form, 'username'), domain: valueOf(form, 'domain'), outbound_proxy: valueOf(form, 'outbound_proxy'),
        expires: Number(expires ?? 3600), allow: listOf(form, 'allow'),
        // Registering needs an account; without one the box means nothing.
        register: form.elements.namedItem('register').checked && valueOf(form, 'username') !== null,
      };
      // Write-only: an empty box keeps the stored password.
      if (password.value !== '') trunk.password = password.value;
      const others = editable.filter((tr) => tr.name !== (editing ?? trunk.name));
      const at = editable.findIndex((tr) => tr.name === (editing ?? trunk.name));
      const list = others.map(trunkInput);
      const index = at < 0 ? list.length : at;
      list.splice(index, 0, trunkInput(trunk));
      try {
        return await api.put('/api/v1/trunks', { trunks: list });
      } catch (err) {
        const own = trunkField(err.field, index);
        if (own) err.field = own;
        throw err;
      }
    });
    if (saved) { toast(t('admin.saved'), 'ok'); setTimeout(again); }
  });

  const remove = async (trunk) => {
    if (!window.confirm(t('admin.confirm_delete'))) return;
    try {
      await api.put('/api/v1/trunks', { trunks: editable.filter((tr) => tr.name !== trunk.name).map(trunkInput) });
      again();
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  const statusCell = (trunk) => h('td', { 'data-trunk-status': trunk.name },
    trunkBadge(trunk.status),
    trunk.status && trunk.status.detail ? h('div', { class: 'muted small', 'data-testid': 'trunk-detail' }, trunk.status.detail) : null,
    trunk.status && trunk.status.expires_at ? h('div', { class: 'muted small' }, t('admin.trunk_until', { time: fmtDateTime(trunk.status.expires_at) })) : null);
  const list = table([t('admin.name'), t('admin.trunk_host'), t('admin.trunk_number'), t('admin.trunk_username'), t('admin.trunk_status'), ''],
    items.map((trunk) => h('tr', { 'data-trunk': trunk.name },
      h('td', null, trunk.name),
      h('td', null, h('code', null, trunk.host), trunk.outbound_proxy ? h('div', { class: 'muted small' }, `${t('admin.trunk_proxy')}: ${trunk.outbound_proxy}`) : null),
      h('td', null, trunk.number ? phoneLink(trunk.number, trunk.number) : '—'),
      h('td', null, trunk.username || '—'),
      statusCell(trunk),
      h('td', null, trunk.read_only
        ? h('span', { class: 'muted small', title: t('admin.trunk_cli_hint') }, t('admin.trunk_cli'))
        : [h('button', { type: 'button', class: 'small', onclick: () => edit(trunk) }, t('action.edit')), ' ',
          h('button', { type: 'button', class: 'small danger', onclick: () => remove(trunk) }, t('action.delete'))]))),
    'trunks');
  mount(body, form, list);

  // The status is live: refreshed while this tab is shown.
  const timer = setInterval(async () => {
    if (!document.body.contains(list)) { clearInterval(timer); return; }
    try {
      const fresh = await api.get('/api/v1/trunks');
      for (const trunk of fresh.items) {
        const cell = list.querySelector(`td[data-trunk-status="${CSS.escape(trunk.name)}"]`);
        if (cell) cell.replaceWith(statusCell(trunk));
      }
    } catch { /* the next tick tries again */ }
  }, 3000);
}

// ---- routing: queue groups, lines' working hours and queue, and the whole settings ----

const STRATEGIES = ['evenly', 'in_order', 'all_at_once'];
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'];

/**
 * The form field an error of `PUT /api/v1/settings/routing` is about. Validation names keys as
 * `queues["sales"].members[1]`, the JSON reader as `queues[0].rings`; both end in the key.
 */
export function routingField(path, section) {
  if (!path) return null;
  const m = path.match(new RegExp(`^${section}\\[[^\\]]*\\]\\.?(.*)$`));
  if (!m) return null;
  const rest = m[1];
  if (rest === '') return 'name';
  const key = rest.replace(/\[.*$/, '').split('.')[0];
  if (section === 'lines' && key === 'working_hours') return /saturday|sunday/.test(rest) ? 'saturday' : 'weekdays';
  if (section === 'lines' && (key === 'holidays' || key === 'days_off')) return 'holidays';
  return key;
}

async function putRouting(config, section) {
  try {
    return await api.put('/api/v1/settings/routing', config);
  } catch (e) {
    const fieldName = routingField(e.field, section);
    throw Object.assign(e, { field: fieldName || e.field });
  }
}

/** Every queue member must be a routing agent: add the employees the form picked. */
function withAgents(config, ids, people) {
  const agents = [...(config.agents || [])];
  for (const id of ids) {
    if (agents.some((a) => a.id === id)) continue;
    const u = people.get(id);
    const agent = { id, name: u ? u.name : `#${id}` };
    if (u && u.extension) agent.extension = u.extension;
    agents.push(agent);
  }
  return { ...config, agents };
}

function hoursText(list) {
  return (list || []).join(', ');
}

function hoursList(text) {
  return text ? text.split(/[,;]+/).map((s) => s.trim()).filter(Boolean) : [];
}

async function routing(body) {
  const [config, people] = await Promise.all([api.get('/api/v1/settings/routing'), byId('/api/v1/users')]);
  const again = () => routing(body);
  const queues = config.queues || [];
  const lines = config.lines || [];
  const menus = config.ivr_menus || [];
  const nameOf = (id) => (people.get(id) ? people.get(id).name : `#${id}`);

  // Queue groups.
  const memberChecks = h('div', { class: 'checks' }, [...people.values()].map((u) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'members', value: String(u.id) }), u.name)));
  const queueForm = h('form', { class: 'panel stack', 'data-testid': 'queue-form', novalidate: true },
    h('h2', null, t('admin.queue_group')),
    h('div', { class: 'row3' },
      field(t('admin.name'), h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'sales' })),
      field(t('admin.strategy'), select({ name: 'strategy' }, STRATEGIES.map((s) => [s, t(`strategy.${s}`)]), 'evenly')),
      field(t('admin.rings'), h('input', { name: 'rings', type: 'number', min: 1, max: 60, value: 4 }), t('admin.rings_hint'))),
    h('div', { class: 'row2' },
      field(t('admin.extension'), h('input', { name: 'extension', inputmode: 'numeric', maxlength: 6 })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'skip_off_shift', checked: true }), t('admin.skip_off_shift'))),
    h('div', { class: 'field', dataset: { field: 'members' } }, h('span', { class: 'label' }, t('admin.members')), memberChecks,
      h('small', { class: 'hint' }, t('admin.members_hint')), h('span', { class: 'field-error', role: 'alert' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.save'))));
  let ticks = 0;
  memberChecks.addEventListener('change', (e) => {
    if (e.target.name === 'members') { e.target.dataset.order = e.target.checked ? String(ticks) : ''; ticks += 1; }
  });
  const editQueue = (q) => {
    queueForm.elements.namedItem('name').value = q.name;
    queueForm.elements.namedItem('strategy').value = q.strategy;
    queueForm.elements.namedItem('rings').value = q.rings;
    queueForm.elements.namedItem('extension').value = q.extension || '';
    queueForm.elements.namedItem('skip_off_shift').checked = q.skip_off_shift !== false;
    for (const box of queueForm.querySelectorAll('input[name=members]')) {
      box.checked = q.members.includes(Number(box.value));
      box.dataset.order = box.checked ? String(q.members.indexOf(Number(box.value))) : '';
    }
    ticks = q.members.length;
    queueForm.querySelector('input').focus();
  };
  queueForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const saved = await submitting(queueForm, async () => {
      const name = valueOf(queueForm, 'name');
      const rings = valueOf(queueForm, 'rings');
      if (rings !== null && !/^\d+$/.test(rings)) throw Object.assign(new Error(t('admin.whole_number')), { field: 'rings' });
      // In the order they were ticked: that is the order "in order" rings them.
      const members = [...queueForm.querySelectorAll('input[name=members]:checked')]
        .sort((a, b) => Number(a.dataset.order) - Number(b.dataset.order)).map((i) => Number(i.value));
      if (members.length === 0) throw Object.assign(new Error(t('admin.pick_members')), { field: 'members' });
      const current = await api.get('/api/v1/settings/routing');
      const old = (current.queues || []).find((q) => q.name === name);
      const queue = { ...(old || {}), name, strategy: valueOf(queueForm, 'strategy'), members, rings: Number(rings ?? 4),
        skip_off_shift: queueForm.elements.namedItem('skip_off_shift').checked };
      const extension = valueOf(queueForm, 'extension');
      if (extension) queue.extension = extension; else delete queue.extension;
      const next = withAgents({ ...current, queues: [...(current.queues || []).filter((q) => q.name !== name), queue] }, members, people);
      return putRouting(next, 'queues');
    });
    if (saved) { toast(t('admin.saved'), 'ok'); setTimeout(again); }
  });
  const removeFrom = (section, name) => async () => {
    if (!window.confirm(t('admin.confirm_delete'))) return;
    try {
      const current = await api.get('/api/v1/settings/routing');
      await api.put('/api/v1/settings/routing', { ...current, [section]: (current[section] || []).filter((x) => x.name !== name) });
      again();
    } catch (err) {
      toast(err.message, 'error');
    }
  };
  const queueTable = queues.length ? table([t('admin.name'), t('admin.strategy'), t('admin.members'), t('admin.rings'), ''], queues.map((q) => h('tr', { dataset: { queue: q.name } },
    h('td', null, q.name, q.extension ? h('span', { class: 'muted small' }, ` ${q.extension}`) : null),
    h('td', null, t(`strategy.${q.strategy}`)),
    h('td', null, q.members.map(nameOf).join(', ')),
    h('td', { class: 'num' }, String(q.rings)),
    h('td', null, h('button', { type: 'button', class: 'small', onclick: () => editQueue(q) }, t('action.edit')), ' ',
      h('button', { type: 'button', class: 'small danger', onclick: removeFrom('queues', q.name) }, t('action.delete'))))), 'queues')
    : h('p', { class: 'muted' }, t('admin.no_queues'));

  // Lines: number, working hours, holidays and the queue calls go to.
  const zones = timeZones();
  const lineForm = h('form', { class: 'panel stack', 'data-testid': 'routing-line-form', novalidate: true },
    h('h2', null, t('admin.routing_line')),
    h('div', { class: 'row3' },
      field(t('admin.name'), h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'Sales' })),
      field(t('admin.number'), h('input', { name: 'number', required: true, inputmode: 'tel', placeholder: '+4989998877' }), t('admin.e164_hint')),
      field(t('settings.time_zone'), select({ name: 'time_zone' }, zones.map((z) => [z, z]), zones.includes('Europe/Berlin') ? 'Europe/Berlin' : 'UTC'))),
    h('div', { class: 'row3' },
      field(t('admin.weekdays'), h('input', { name: 'weekdays', value: '09:00-18:00' }), t('admin.hours_hint')),
      field(t('admin.saturday'), h('input', { name: 'saturday', placeholder: '10:00-14:00' })),
      field(t('admin.queue'), select({ name: 'queue' }, [['', '—'], ...queues.map((q) => [q.name, q.name])], ''))),
    h('div', { class: 'row2' },
      field(t('admin.ivr'), select({ name: 'ivr' }, [['', '—'], ...menus.map((m) => [m.name, m.name])], '')),
      h('span')),
    field(t('admin.holidays'), h('input', { name: 'holidays', placeholder: '12-25 Christmas, 2026-04-03 Good Friday' }), t('admin.holidays_hint')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.save'))));
  lineForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const saved = await submitting(lineForm, async () => {
      const name = valueOf(lineForm, 'name');
      const current = await api.get('/api/v1/settings/routing');
      const old = (current.lines || []).find((l) => l.name === name) || {};
      const hours = {};
      for (const day of WEEKDAYS) hours[day] = hoursList(valueOf(lineForm, 'weekdays'));
      hours.saturday = hoursList(valueOf(lineForm, 'saturday'));
      const holidays = hoursList(valueOf(lineForm, 'holidays')).map((entry) => {
        const [date, ...rest] = entry.split(/\s+/);
        return { date, name: rest.join(' ') || date };
      });
      const line = { ...old, name, number: valueOf(lineForm, 'number'), time_zone: valueOf(lineForm, 'time_zone'), working_hours: hours, holidays };
      const queue = valueOf(lineForm, 'queue');
      if (queue) line.queue = queue; else delete line.queue;
      const ivr = valueOf(lineForm, 'ivr');
      if (ivr) line.ivr = ivr; else delete line.ivr;
      return putRouting({ ...current, lines: [...(current.lines || []).filter((l) => l.name !== name), line] }, 'lines');
    });
    if (saved) { toast(t('admin.saved'), 'ok'); setTimeout(again); }
  });
  const editLine = (l) => {
    lineForm.elements.namedItem('name').value = l.name;
    lineForm.elements.namedItem('number').value = l.number;
    lineForm.elements.namedItem('time_zone').value = l.time_zone || 'UTC';
    lineForm.elements.namedItem('weekdays').value = hoursText(l.working_hours && l.working_hours.monday);
    lineForm.elements.namedItem('saturday').value = hoursText(l.working_hours && l.working_hours.saturday);
    lineForm.elements.namedItem('queue').value = l.queue || '';
    lineForm.elements.namedItem('ivr').value = l.ivr || '';
    lineForm.elements.namedItem('holidays').value = (l.holidays || []).map((x) => `${x.date} ${x.name}`).join(', ');
    lineForm.querySelector('input').focus();
  };
  const lineTable = lines.length ? table([t('admin.name'), t('admin.number'), t('admin.weekdays'), t('admin.saturday'), t('admin.queue'), ''], lines.map((l) => h('tr', { dataset: { line: l.name } },
    h('td', null, l.name), h('td', null, phoneLink(l.number, l.number)),
    h('td', null, l.working_hours ? hoursText(l.working_hours.monday) || t('admin.closed') : t('admin.always_open')),
    h('td', null, l.working_hours ? hoursText(l.working_hours.saturday) || t('admin.closed') : t('admin.always_open')),
    h('td', null, l.queue || l.ivr || ''),
    h('td', null, h('button', { type: 'button', class: 'small', onclick: () => editLine(l) }, t('action.edit')), ' ',
      h('button', { type: 'button', class: 'small danger', onclick: removeFrom('lines', l.name) }, t('action.delete'))))), 'routing-lines')
    : h('p', { class: 'muted' }, t('admin.no_routing_lines'));

  // Everything else (IVR menus, outbound rules, callbacks): the settings as JSON.
  const raw = h('textarea', { name: 'settings', rows: 12, spellcheck: 'false', class: 'code', value: JSON.stringify(config, null, 2) });
  const rawForm = h('form', { class: 'panel stack', 'data-testid': 'routing-json-form', novalidate: true },
    h('h2', null, t('admin.routing_all')), h('p', { class: 'muted' }, t('admin.routing_all_hint')),
    field(t('admin.settings_json'), raw),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.save'))));
  rawForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const saved = await submitting(rawForm, async () => {
      let parsed;
      try {
        parsed = JSON.parse(raw.value);
      } catch (err) {
        throw Object.assign(new Error(err.message), { field: 'settings' });
      }
      try {
        return await api.put('/api/v1/settings/routing', parsed);
      } catch (err) {
        // One textarea holds every key: name the key in the message, at the textarea.
        throw Object.assign(new Error(err.field && err.field !== 'settings' ? `${err.field}: ${err.message}` : err.message), { field: 'settings' });
      }
    });
    if (saved) { toast(t('admin.saved'), 'ok'); setTimeout(again); }
  });

  // IVR menus: one option per line of text, `1: queue sales`.
  const menuForm = h('form', { class: 'panel stack', 'data-testid': 'ivr-form', novalidate: true },
    h('h2', null, t('admin.ivr_menu')),
    h('div', { class: 'row3' },
      field(t('admin.name'), h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'main' })),
      field(t('admin.prompt'), h('input', { name: 'prompt', required: true, placeholder: 'main-menu' }), t('admin.prompt_hint')),
      field(t('admin.timeout_s'), h('input', { name: 'timeout_seconds', type: 'number', min: 1, max: 60, value: 5 }))),
    field(t('admin.ivr_options'), h('textarea', { name: 'options', rows: 5, class: 'code', spellcheck: 'false', placeholder: '1: queue sales\n2: menu billing\n3: agent 4\n0: number +4930987654\n9: repeat' }), t('admin.ivr_options_hint')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.save'))));
  const editMenu = (m) => {
    menuForm.elements.namedItem('name').value = m.name;
    menuForm.elements.namedItem('prompt').value = m.prompt;
    menuForm.elements.namedItem('timeout_seconds').value = m.timeout_seconds ?? 5;
    menuForm.elements.namedItem('options').value = Object.entries(m.options || {}).map(([digit, a]) => `${digit}: ${ivrText(a)}`).join('\n');
    menuForm.querySelector('input').focus();
  };
  menuForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const saved = await submitting(menuForm, async () => {
      const options = parseIvrOptions(menuForm.elements.namedItem('options').value);
      const name = valueOf(menuForm, 'name');
      const timeout = valueOf(menuForm, 'timeout_seconds');
      if (timeout !== null && !/^\d+$/.test(timeout)) throw Object.assign(new Error(t('admin.whole_number')), { field: 'timeout_seconds' });
      const current = await api.get('/api/v1/settings/routing');
      const old = (current.ivr_menus || []).find((m) => m.name === name) || {};
      const menu = { ...old, name, prompt: valueOf(menuForm, 'prompt'), timeout_seconds: Number(timeout ?? 5), options };
      const agentIds = Object.values(options).filter((a) => a.action === 'user').map((a) => a.agent);
      const next = withAgents({ ...current, ivr_menus: [...(current.ivr_menus || []).filter((m) => m.name !== name), menu] },
        agentIds.filter((id) => people.has(id)), people);
      return putRouting(next, 'ivr_menus');
    });
    if (saved) { toast(t('admin.saved'), 'ok'); setTimeout(again); }
  });
  const menuTable = menus.length ? table([t('admin.name'), t('admin.ivr_options'), ''], menus.map((m) => h('tr', { dataset: { menu: m.name } },
    h('td', null, m.name), h('td', { class: 'small' }, Object.entries(m.options || {}).map(([d, a]) => h('div', null, h('code', null, d), ' ', ivrText(a)))),
    h('td', null, h('button', { type: 'button', class: 'small', onclick: () => editMenu(m) }, t('action.edit')), ' ',
      h('button', { type: 'button', class: 'small danger', onclick: removeFrom('ivr_menus', m.name) }, t('action.delete'))))), 'ivr-menus')
    : h('p', { class: 'muted' }, t('admin.no_ivr'));

  mount(body,
    h('div', { class: 'panel' }, h('h2', null, t('admin.call_flow')), callFlow(config, nameOf)),
    h('div', { class: 'grid2' }, queueForm, h('div', null, h('h2', null, t('admin.queues')), queueTable)),
    h('div', { class: 'grid2' }, lineForm, h('div', null, h('h2', null, t('admin.routing_lines')), lineTable)),
    h('div', { class: 'grid2' }, menuForm, h('div', null, h('h2', null, t('admin.ivr_menus')), menuTable)),
    rawForm);
}

/** `queue sales`, `menu billing`, `agent 4`, `number +4930…`, `voicemail`, `repeat`, `back`, `hangup`. */
export function parseIvrOptions(text) {
  const options = {};
  const lines = String(text || '').split('\n').map((l) => l.trim()).filter(Boolean);
  lines.forEach((line, index) => {
    const m = line.match(/^([0-9*#])\s*[:=]\s*(\S+)(?:\s+(.+))?$/);
    const bad = (message) => Object.assign(new Error(t('admin.ivr_line', { n: index + 1, message })), { field: 'options' });
    if (!m) throw bad(t('admin.ivr_shape'));
    const [, digit, word, arg] = m;
    if (digit in options) throw bad(t('admin.ivr_twice', { digit }));
    const need = () => { if (!arg) throw bad(t('admin.ivr_needs', { action: word })); return arg.trim(); };
    switch (word) {
      case 'queue': options[digit] = { action: 'queue', queue: need() }; break;
      case 'menu': options[digit] = { action: 'submenu', menu: need() }; break;
      case 'agent': {
        const id = need();
        if (!/^\d+$/.test(id)) throw bad(t('admin.whole_number'));
        options[digit] = { action: 'user', agent: Number(id) };
        break;
      }
      case 'number': options[digit] = { action: 'external', number: need() }; break;
      case 'voicemail': case 'repeat': case 'back': options[digit] = { action: word }; break;
      case 'hangup': options[digit] = { action: 'hang_up' }; break;
      default: throw bad(t('admin.ivr_unknown', { action: word }));
    }
  });
  return options;
}

function ivrText(a) {
  switch (a.action) {
    case 'queue': return `queue ${a.queue}`;
    case 'submenu': return `menu ${a.menu}`;
    case 'user': return `agent ${a.agent}`;
    case 'external': return `number ${a.number}`;
    case 'hang_up': return 'hangup';
    default: return a.action;
  }
}

/** The call flow as a tree: line → IVR menu → digit → queue (members), employee, menu, number. */
function callFlow(config, nameOf) {
  const queues = new Map((config.queues || []).map((q) => [q.name, q]));
  const menus = new Map((config.ivr_menus || []).map((m) => [m.name, m]));
  const queueNode = (name) => {
    const q = queues.get(name);
    return h('span', { class: 'flow queue' }, `${t('admin.queue')} ${name}`,
      q ? h('span', { class: 'muted' }, ` (${t(`strategy.${q.strategy}`)}: ${q.members.map(nameOf).join(', ')})`) : h('span', { class: 'field-error' }, ` ${t('admin.unknown')}`));
  };
  const actionNode = (a, seen) => {
    switch (a.action) {
      case 'queue': return queueNode(a.queue);
      case 'user': return h('span', { class: 'flow agent' }, nameOf(a.agent));
      case 'external': return h('span', { class: 'flow external' }, `→ ${a.number}`);
      case 'submenu': return menuNode(a.menu, seen);
      default: return h('span', { class: 'flow other' }, t(`ivr_action.${a.action}`));
    }
  };
  const menuNode = (name, seen) => {
    const m = menus.get(name);
    if (!m) return h('span', { class: 'flow menu' }, `${t('admin.ivr')} ${name}`, h('span', { class: 'field-error' }, ` ${t('admin.unknown')}`));
    if (seen.has(name)) return h('span', { class: 'flow menu' }, `${t('admin.ivr')} ${name} ↺`);
    const next = new Set(seen).add(name);
    return h('span', { class: 'flow menu' }, `${t('admin.ivr')} ${name}`,
      h('ul', { class: 'tree' }, Object.entries(m.options || {}).map(([digit, a]) => h('li', { dataset: { digit } }, h('kbd', null, digit), ' ', actionNode(a, next)))));
  };
  const lines = config.lines || [];
  if (lines.length === 0) return h('p', { class: 'muted' }, t('admin.no_routing_lines'));
  return h('ul', { class: 'tree root', 'data-testid': 'call-flow' }, lines.map((l) => h('li', { dataset: { line: l.name } },
    h('strong', null, l.name), ' ', h('span', { class: 'muted' }, l.number),
    h('ul', { class: 'tree' },
      l.ivr ? h('li', null, menuNode(l.ivr, new Set())) : null,
      l.queue ? h('li', null, queueNode(l.queue)) : null,
      !l.ivr && !l.queue ? h('li', { class: 'muted' }, t('admin.flow_backup')) : null))));
}
