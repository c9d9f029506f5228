// The call log: filters kept in the address (so a filtered view can be bookmarked or shared),
// saved filters in localStorage, paging, the recording player, the rating and the transcript.

import { api, byId, nameOf } from '../api.js';
import { h, mount, phoneLink, select, maskLike, toast } from '../dom.js';
import { t, fmtDateTime, fmtDuration, dayStartUtc, nextDay } from '../i18n.js';
import { zip } from '../zip.js';
import { hasRole, navigate, session } from '../app.js';

const PAGE_SIZE = 25;
const FILTER_KEYS = ['from', 'until', 'direction', 'status', 'agent_id', 'line_id', 'source_id', 'queue', 'number'];

export function ratingStars(rating) {
  if (!rating) return '';
  return h('span', { class: 'rating', title: t('calls.rating_of', { n: rating }), 'aria-label': t('calls.rating_of', { n: rating }) },
    '★'.repeat(rating), h('span', { class: 'off' }, '★'.repeat(5 - rating)));
}

/** Who the call was with: the contact's or lead's name, when linked. */
export function callName(call) {
  const remote = call.direction === 'incoming' ? call.caller : call.called;
  const masked = (name) => maskLike(name, remote.raw);
  if (call.contact_id) return nameOf('contacts', call.contact_id).then(masked);
  if (call.lead_id) return nameOf('leads', call.lead_id).then(masked);
  if (call.company_id) return nameOf('companies', call.company_id).then(masked);
  return Promise.resolve('');
}

function savedKey() {
  const me = session.me && session.me.user ? session.me.user.id : 'api';
  return `rb.callfilters.${me}`;
}

function loadSaved() {
  try {
    return JSON.parse(localStorage.getItem(savedKey()) || '{}');
  } catch {
    return {};
  }
}

function storeSaved(saved) {
  localStorage.setItem(savedKey(), JSON.stringify(saved));
}

function filtersOf(query) {
  const f = {};
  for (const k of FILTER_KEYS) if (query[k]) f[k] = query[k];
  return f;
}

/** The API's query for the address's filters: days become instants in the user's time zone. */
function apiQuery(filters, offset) {
  const q = { ...filters, limit: PAGE_SIZE, offset };
  q.from = filters.from ? dayStartUtc(filters.from) : undefined;
  // "until" is inclusive for people: calls up to the end of that day.
  q.until = filters.until ? dayStartUtc(nextDay(filters.until)) : undefined;
  return q;
}

export async function render(root, { query }) {
  document.title = `${t('nav.calls')} · Ringbase`;
  const filters = filtersOf(query);
  const offset = Math.max(0, Number(query.offset) || 0);
  const supervisor = hasRole('supervisor');
  const [users, lines, sources] = await Promise.all([
    supervisor ? byId('/api/v1/users') : Promise.resolve(new Map()),
    byId('/api/v1/lines'),
    byId('/api/v1/sources'),
  ]);

  const apply = (next) => navigate('calls', { ...next }, { replace: true });
  const form = h('form', { class: 'filters', 'data-testid': 'call-filters', novalidate: true },
    filterField(t('calls.from'), h('input', { type: 'date', name: 'from', value: filters.from || '' })),
    filterField(t('calls.until'), h('input', { type: 'date', name: 'until', value: filters.until || '' })),
    filterField(t('calls.direction'), select({ name: 'direction' },
      [['', t('calls.any')], ...['incoming', 'outgoing', 'callback'].map((d) => [d, t(`direction.${d}`)])], filters.direction)),
    filterField(t('calls.status'), select({ name: 'status' },
      [['', t('calls.any')], ...['answered', 'missed', 'busy', 'failed', 'voicemail'].map((s) => [s, t(`status.${s}`)])], filters.status)),
    supervisor ? filterField(t('calls.agent'), select({ name: 'agent_id' },
      [['', t('calls.any')], ...[...users.values()].map((u) => [u.id, u.name])], filters.agent_id)) : null,
    filterField(t('calls.line'), select({ name: 'line_id' },
      [['', t('calls.any')], ...[...lines.values()].map((l) => [l.id, l.name || l.number.raw])], filters.line_id)),
    filterField(t('calls.source'), select({ name: 'source_id' },
      [['', t('calls.any')], ...[...sources.values()].map((s) => [s.id, s.name])], filters.source_id)),
    filterField(t('calls.queue'), h('input', { name: 'queue', value: filters.queue || '', size: 8 })),
    filterField(t('calls.number'), h('input', { name: 'number', type: 'search', value: filters.number || '', size: 14, inputmode: 'tel' })),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary' }, t('action.filter')),
      h('button', { type: 'button', class: 'link', onclick: () => apply({}) }, t('action.reset'))));
  const read = () => {
    const next = {};
    for (const k of FILTER_KEYS) {
      const el = form.elements.namedItem(k);
      if (el && String(el.value).trim() !== '') next[k] = String(el.value).trim();
    }
    return next;
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(read()); });
  // Selects and dates apply at once; text fields on Enter.
  form.addEventListener('change', (e) => { if (e.target.tagName === 'SELECT' || e.target.type === 'date') apply(read()); });

  const savedBox = h('div', { class: 'saved-filters' });
  const renderSaved = () => {
    const saved = loadSaved();
    const names = Object.keys(saved).sort();
    const nameInput = h('input', { name: 'filter_name', placeholder: t('calls.filter_name'), size: 14, 'aria-label': t('calls.filter_name') });
    const saveForm = h('form', { class: 'inline', novalidate: true }, nameInput,
      h('button', { type: 'submit', disabled: Object.keys(filters).length === 0 }, t('calls.save_filter')));
    saveForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = nameInput.value.trim();
      if (!name) { nameInput.focus(); return; }
      storeSaved({ ...loadSaved(), [name]: filters });
      renderSaved();
    });
    mount(savedBox,
      names.length ? h('span', { class: 'label' }, t('calls.saved_filters')) : null,
      names.map((name) => h('span', { class: 'chip' },
        h('a', { href: '#', onclick: (e) => { e.preventDefault(); apply(saved[name]); } }, name),
        h('button', { type: 'button', class: 'icon', 'aria-label': t('action.delete'), title: t('action.delete'), onclick: () => {
          const next = loadSaved();
          delete next[name];
          storeSaved(next);
          renderSaved();
        } }, '×'))),
      saveForm);
  };
  renderSaved();

  const results = h('div', { class: 'results' }, h('p', { class: 'muted loading' }, t('loading')));
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, t('nav.calls'))),
    form, savedBox, results);

  let page;
  try {
    page = await api.get('/api/v1/calls', apiQuery(filters, offset));
  } catch (e) {
    // A bad filter (a number that is not one) is the API's field error: show it at the field.
    const box = e.field && form.querySelector(`[data-field="${CSS.escape(e.field)}"] .field-error`);
    if (box) box.textContent = e.message;
    mount(results, h('p', { class: 'form-error', role: 'alert' }, e.message));
    return undefined;
  }
  const names = await Promise.all(page.items.map(callName));
  const table = h('table', { class: 'list', 'data-testid': 'call-log' },
    h('thead', null, h('tr', null,
      [t('calls.started'), t('calls.direction'), t('calls.number'), t('calls.who'), t('calls.line'), t('calls.source'),
        supervisor ? t('calls.agent') : null, t('calls.status'), t('calls.duration'), t('calls.rating'), t('calls.recording')]
        .filter(Boolean).map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', null, page.items.map((c, i) => callRow(c, names[i], { supervisor, users, lines, sources }))));
  const pager = h('nav', { class: 'pager', 'aria-label': t('calls.pages') },
    h('button', { type: 'button', disabled: offset === 0, onclick: () => navigate('calls', { ...filters, offset: Math.max(0, offset - PAGE_SIZE) || undefined }, { replace: true }) }, `‹ ${t('action.previous')}`),
    h('span', { class: 'muted' }, t('calls.page', { n: Math.floor(offset / PAGE_SIZE) + 1 })),
    h('button', { type: 'button', disabled: page.next_offset === null || page.next_offset === undefined, onclick: () => navigate('calls', { ...filters, offset: page.next_offset }, { replace: true }) }, `${t('action.next')} ›`));
  const withRecording = page.items.filter((c) => c.recording);
  const zipButton = h('button', { type: 'button', 'data-testid': 'download-zip', disabled: true }, t('calls.download_zip'));
  table.addEventListener('change', (e) => {
    if (e.target.name === 'pick') zipButton.disabled = !table.querySelector('input[name=pick]:checked');
  });
  zipButton.addEventListener('click', () => downloadZip(table, page.items, zipButton));
  mount(results,
    page.items.length === 0 ? h('p', { class: 'muted empty' }, t('calls.none')) : table,
    h('div', { class: 'actions' }, withRecording.length ? zipButton : null, h('span', { class: 'spacer' }), pager));
  return undefined;
}

function filterField(label, input) {
  return h('div', { class: 'field', dataset: { field: input.getAttribute('name') } },
    h('label', null, label, input), h('span', { class: 'field-error', role: 'alert' }));
}

function callRow(c, name, { supervisor, users, lines, sources }) {
  const remote = c.direction === 'incoming' ? c.caller : c.called;
  const line = c.line_id ? lines.get(c.line_id) : null;
  const source = c.source_id ? sources.get(c.source_id) : null;
  const agent = c.agent_id ? users.get(c.agent_id) : null;
  const who = c.contact_id ? h('a', { href: `#/contacts/${c.contact_id}` }, name || `#${c.contact_id}`)
    : c.lead_id ? h('a', { href: `#/leads/${c.lead_id}` }, name || `#${c.lead_id}`) : name;
  const player = h('td', { class: 'rec' });
  if (c.recording) {
    player.append(h('input', { type: 'checkbox', class: 'pick', name: 'pick', value: String(c.id), 'aria-label': t('calls.pick_recording') }), ' ');
    const src = `/api/v1/calls/${c.id}/recording`;
    player.append(h('button', {
      type: 'button', class: 'small', 'data-testid': 'play',
      onclick: (e) => {
        e.currentTarget.replaceWith(h('audio', { controls: true, autoplay: true, preload: 'none', src }),
          h('a', { href: src, download: '', class: 'small' }, t('calls.download')));
      },
    }, `▶ ${t('calls.play')}`));
  }
  const ids = { callId: c.id, status: c.status, direction: c.direction, agentId: c.agent_id ?? '', lineId: c.line_id ?? '', sourceId: c.source_id ?? '', queue: c.queue ?? '' };
  return h('tr', { dataset: ids },
    h('td', null, fmtDateTime(c.started_at)),
    h('td', null, h('span', { class: `dir ${c.direction}` }, t(`direction.${c.direction}`))),
    h('td', null, phoneLink(remote.e164, remote.raw)),
    h('td', null, who, c.notes ? h('div', { class: 'note small' }, c.notes) : null),
    h('td', null, line ? line.name : ''),
    h('td', null, source ? source.name : ''),
    supervisor ? h('td', null, agent ? agent.name : '') : null,
    h('td', null, h('span', { class: `status ${c.status}` }, t(`status.${c.status}`)), c.queue ? h('div', { class: 'small muted' }, c.queue) : null),
    h('td', { class: 'num' }, c.duration_s ? fmtDuration(c.duration_s) : ''),
    h('td', null, ratingStars(c.rating), transcript(c)),
    player);
}

/** The call's transcript (from a speech-to-text integration), folded: it can be long. */
function transcript(c) {
  if (!c.transcript) return null;
  return h('details', { class: 'transcript small', 'data-testid': 'transcript' },
    h('summary', null, t('calls.transcript')),
    h('p', { class: 'note' }, c.transcript));
}

/** The checked recordings as one zip, fetched one after another (each can be large). */
async function downloadZip(table, calls, button) {
  const ids = [...table.querySelectorAll('input[name=pick]:checked')].map((i) => Number(i.value));
  const picked = calls.filter((c) => ids.includes(c.id));
  button.disabled = true;
  try {
    const files = [];
    for (const c of picked) {
      const response = await fetch(`/api/v1/calls/${c.id}/recording`, { credentials: 'same-origin' });
      if (!response.ok) throw new Error(t('calls.recording_missing', { id: c.id }));
      const ext = (c.recording.match(/\.([a-z0-9]+)$/i) || [, 'audio'])[1];
      const started = c.started_at.slice(0, 16).replace('T', '_').replace(':', '');
      files.push({ name: `call-${c.id}-${started}.${ext}`, bytes: new Uint8Array(await response.arrayBuffer()), date: new Date(c.started_at) });
    }
    const url = URL.createObjectURL(new Blob([zip(files)], { type: 'application/zip' }));
    const a = h('a', { href: url, download: `ringbase-recordings-${files.length}.zip`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    toast(e.message, 'error');
  } finally {
    button.disabled = false;
  }
}
