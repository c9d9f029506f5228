// Contacts: the searchable list, a contact's page with his deals and timeline, and a lead's
// page (unknown callers become leads) with its timeline and the way to a contact.

import { api, byId, nameOf, forget } from '../api.js';
import { h, mount, phoneLink, select, debounce, maskLike } from '../dom.js';
import { field, submitting, valueOf, listOf } from '../forms.js';
import { t, fmtDateTime, fmtDuration, fmtMoney, fmtDate } from '../i18n.js';
import { navigate } from '../app.js';
import { onEvent } from '../live.js';
import { ratingStars } from './calls.js';

const PAGE_SIZE = 25;

/** Digits, spaces and the usual separators: search the phone, not the name. */
function looksLikeNumber(text) {
  return /^[+(]?[\d][\d\s()./-]{3,}$/.test(text);
}

export async function list(root, { query }) {
  document.title = `${t('nav.contacts')} · Ringbase`;
  const users = await byId('/api/v1/users');
  const search = h('input', {
    type: 'search', name: 'q', value: query.q || '', placeholder: t('contacts.search_hint'),
    'aria-label': t('contacts.search'), 'data-testid': 'contact-search', autocomplete: 'off',
  });
  const rows = h('tbody');
  const more = h('button', { type: 'button', hidden: true }, t('action.more'));
  const empty = h('p', { class: 'muted empty', hidden: true }, t('contacts.none'));
  const createBox = h('div', { class: 'panel', hidden: true });
  const toggle = h('button', { type: 'button', class: 'primary', 'data-testid': 'new-contact', onclick: () => {
    createBox.hidden = !createBox.hidden;
    if (!createBox.hidden) createBox.querySelector('input').focus();
  } }, t('contacts.new'));
  mount(createBox, contactForm(users));
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, t('nav.contacts')), h('div', { class: 'spacer' }), toggle),
    createBox,
    h('div', { class: 'searchbar' }, search),
    h('table', { class: 'list', 'data-testid': 'contact-list' },
      h('thead', null, h('tr', null, [t('contact.name'), t('contact.company'), t('contact.phones'), t('contact.emails'), t('contact.responsible')]
        .map((label) => h('th', { scope: 'col' }, label)))),
      rows),
    empty, more);

  let seq = 0;
  let offset = 0;
  const load = async (append) => {
    const mySeq = ++seq;
    const text = search.value.trim();
    const q = looksLikeNumber(text) ? { phone: text } : { q: text };
    if (!append) offset = 0;
    let page;
    try {
      page = await api.get('/api/v1/contacts', { ...q, limit: PAGE_SIZE, offset });
    } catch (e) {
      if (mySeq !== seq) return;
      mount(rows, h('tr', null, h('td', { colspan: 5, class: 'form-error' }, e.message)));
      return;
    }
    if (mySeq !== seq) return;
    const companies = await Promise.all(page.items.map((c) => nameOf('companies', c.company_id)));
    if (mySeq !== seq) return;
    const built = page.items.map((c, i) => h('tr', null,
      h('td', null, h('a', { href: `#/contacts/${c.id}` }, c.name)),
      h('td', null, companies[i]),
      h('td', null, c.phones.map((p) => phoneLink(p.e164, p.raw))),
      h('td', null, c.emails.map((e) => h('a', { href: `mailto:${e}`, class: 'email' }, e))),
      h('td', null, c.responsible_id && users.get(c.responsible_id) ? users.get(c.responsible_id).name : '')));
    if (append) rows.append(...built); else mount(rows, built);
    offset = page.next_offset || 0;
    more.hidden = !page.next_offset;
    empty.hidden = !(rows.children.length === 0);
  };
  const onInput = debounce(() => {
    history.replaceState(null, '', search.value.trim() ? `#/contacts?q=${encodeURIComponent(search.value.trim())}` : '#/contacts');
    load(false);
  }, 250);
  search.addEventListener('input', onInput);
  more.addEventListener('click', () => load(true));
  await load(false);
  search.focus();
  return undefined;
}

function userOptions(users) {
  return [['', '—'], ...[...users.values()].map((u) => [u.id, u.name])];
}

function contactForm(users) {
  const form = h('form', { class: 'stack', 'data-testid': 'contact-form', novalidate: true },
    h('h2', null, t('contacts.new')),
    h('div', { class: 'row2' },
      field(t('contact.name'), h('input', { name: 'name', required: true, maxlength: 300 })),
      field(t('contact.company'), h('input', { name: 'company', maxlength: 300 }))),
    h('div', { class: 'row2' },
      field(t('contact.phones'), h('input', { name: 'phones', inputmode: 'tel' }), t('contacts.list_hint')),
      field(t('contact.emails'), h('input', { name: 'emails', type: 'text' }), t('contacts.list_hint'))),
    field(t('contact.responsible'), select({ name: 'responsible_id' }, userOptions(users), '')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.create'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const created = await submitting(form, () => api.post('/api/v1/contacts', {
      name: valueOf(form, 'name') || '',
      company: valueOf(form, 'company') || undefined,
      phones: listOf(form, 'phones'),
      emails: listOf(form, 'emails'),
      responsible_id: valueOf(form, 'responsible_id') ? Number(valueOf(form, 'responsible_id')) : undefined,
    }));
    if (created) {
      forget('/api/v1/contacts');
      navigate(`contacts/${created.id}`);
    }
  });
  return form;
}

export async function contactPage(root, { params }) {
  const id = Number(params[0]);
  const [contact, users, sources] = await Promise.all([
    api.get(`/api/v1/contacts/${id}`), byId('/api/v1/users'), byId('/api/v1/sources'),
  ]);
  document.title = `${contact.name} · Ringbase`;
  const company = contact.company_id ? await nameOf('companies', contact.company_id) : '';
  const dealsBox = h('div', { class: 'panel' });
  const timelineBox = h('div', { class: 'panel timeline-panel' });
  const responsible = contact.responsible_id && users.get(contact.responsible_id);
  mount(root,
    h('div', { class: 'page-head' },
      h('div', null, h('p', { class: 'crumb' }, h('a', { href: '#/contacts' }, t('nav.contacts'))),
        h('h1', { 'data-testid': 'contact-name' }, contact.name),
        company ? h('p', { class: 'muted' }, company) : null)),
    h('div', { class: 'grid2 wide-right' },
      h('div', null,
        h('div', { class: 'panel' },
          h('dl', { class: 'facts' },
            h('dt', null, t('contact.phones')), h('dd', null, contact.phones.length ? contact.phones.map((p) => h('div', null, phoneLink(p.e164, p.raw))) : '—'),
            h('dt', null, t('contact.emails')), h('dd', null, contact.emails.length ? contact.emails.map((e) => h('div', null, h('a', { href: `mailto:${e}` }, e))) : '—'),
            h('dt', null, t('contact.responsible')), h('dd', null, responsible ? responsible.name : '—'),
            h('dt', null, t('contact.source')), h('dd', null, contact.source_id && sources.get(contact.source_id) ? sources.get(contact.source_id).name : '—'),
            h('dt', null, t('contact.created')), h('dd', null, fmtDate(contact.created_at)))),
        dealsBox),
      timelineBox));
  loadDeals(dealsBox, contact);
  return timeline(timelineBox, 'contacts', id, users, { contact_id: id });
}

async function loadDeals(box, contact) {
  try {
    const { items } = await api.get('/api/v1/deals', { contact_id: contact.id, limit: 20 });
    mount(box, h('h2', null, t('contact.deals')),
      items.length === 0 ? h('p', { class: 'muted' }, t('contact.no_deals')) :
        h('ul', { class: 'plain deals' }, items.map((d) => {
          const stage = select({ 'aria-label': t('wrap.deal_stage'), class: 'small' },
            ['open', 'won', 'lost'].map((s) => [s, t(`stage.${s}`)]), d.stage);
          stage.addEventListener('change', async () => {
            try {
              await api.patch(`/api/v1/deals/${d.id}`, { stage: stage.value });
              stage.classList.add('ok');
            } catch (e) {
              stage.value = d.stage;
              box.append(h('p', { class: 'form-error' }, e.message));
            }
          });
          return h('li', null, h('strong', null, d.title), ' ', fmtMoney(d.amount), ' ', stage);
        })));
  } catch (e) {
    mount(box, h('p', { class: 'form-error' }, e.message));
  }
}

export async function leadPage(root, { params }) {
  const id = Number(params[0]);
  const [lead, users, sources] = await Promise.all([
    api.get(`/api/v1/leads/${id}`), byId('/api/v1/users'), byId('/api/v1/sources'),
  ]);
  // A masked role must not read the number in an automatic title either.
  const sample = lead.phones[0] && lead.phones[0].raw;
  lead.title = maskLike(lead.title, sample);
  if (lead.name) lead.name = maskLike(lead.name, sample);
  document.title = `${lead.name || lead.title} · Ringbase`;
  const timelineBox = h('div', { class: 'panel timeline-panel' });
  const status = select({ name: 'status', 'aria-label': t('lead.status') },
    ['new', 'in_progress', 'converted', 'junk'].map((s) => [s, t(`lead_status.${s}`)]), lead.status);
  const statusError = h('span', { class: 'field-error', role: 'alert' });
  status.addEventListener('change', async () => {
    statusError.textContent = '';
    try {
      Object.assign(lead, await api.patch(`/api/v1/leads/${id}`, { status: status.value }));
    } catch (e) {
      status.value = lead.status;
      statusError.textContent = e.message;
    }
  });
  const convert = lead.contact_id ? h('a', { href: `#/contacts/${lead.contact_id}` }, t('lead.open_contact'))
    : h('button', { type: 'button', class: 'primary', 'data-testid': 'convert-lead', onclick: async (e) => {
      e.currentTarget.disabled = true;
      try {
        const contact = await api.post('/api/v1/contacts', {
          name: lead.name || lead.title,
          company: lead.company_name || undefined,
          phones: lead.phones.map((p) => p.e164),
          emails: lead.emails,
        });
        await api.patch(`/api/v1/leads/${id}`, { status: 'converted', contact_id: contact.id });
        navigate(`contacts/${contact.id}`);
      } catch (err) {
        e.target.disabled = false;
        statusError.textContent = err.message;
      }
    } }, t('lead.convert'));
  mount(root,
    h('div', { class: 'page-head' },
      h('div', null, h('p', { class: 'crumb' }, t('lead.lead')),
        h('h1', null, lead.name || lead.title),
        lead.name ? h('p', { class: 'muted' }, lead.title) : null)),
    h('div', { class: 'grid2 wide-right' },
      h('div', { class: 'panel' },
        h('dl', { class: 'facts' },
          h('dt', null, t('lead.status')), h('dd', null, status, statusError),
          h('dt', null, t('contact.phones')), h('dd', null, lead.phones.length ? lead.phones.map((p) => h('div', null, phoneLink(p.e164, p.raw))) : '—'),
          h('dt', null, t('contact.company')), h('dd', null, lead.company_name || '—'),
          h('dt', null, t('contact.source')), h('dd', null, lead.source_id && sources.get(lead.source_id) ? sources.get(lead.source_id).name : '—'),
          h('dt', null, t('contact.responsible')), h('dd', null, lead.responsible_id && users.get(lead.responsible_id) ? users.get(lead.responsible_id).name : '—'),
          h('dt', null, t('contact.created')), h('dd', null, fmtDate(lead.created_at))),
        h('p', null, convert)),
      timelineBox));
  return timeline(timelineBox, 'leads', id, users, { lead_id: id });
}

/**
 * A timeline with a note form on top. Calls on it are shown with their details when the
 * viewer may see them (agents see their own calls). Refreshes when a wrap-up or a finished
 * call touches it. Returns the view's cleanup.
 */
function timeline(box, kind, id, users, callFilter) {
  const list = h('ol', { class: 'timeline', 'data-testid': 'timeline' });
  const form = h('form', { class: 'note-form', novalidate: true },
    field(t('timeline.add_note'), h('textarea', { name: 'text', rows: 2, required: true, maxlength: 10000 })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('timeline.add'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const added = await submitting(form, () => api.post(`/api/v1/${kind}/${id}/notes`, { text: valueOf(form, 'text') || '' }));
    if (added) {
      form.reset();
      load();
    }
  });
  mount(box, h('h2', null, t('timeline.title')), form, list);
  const load = async () => {
    try {
      const [entries, calls] = await Promise.all([
        api.get(`/api/v1/${kind}/${id}/timeline`, { limit: 100 }),
        api.get('/api/v1/calls', { ...callFilter, limit: 200 }).catch(() => ({ items: [] })),
      ]);
      const callsById = new Map(calls.items.map((c) => [c.id, c]));
      mount(list, entries.items.length === 0 ? h('li', { class: 'muted' }, t('timeline.empty')) :
        entries.items.map((entry) => timelineEntry(entry, callsById.get(entry.call_id), users)));
    } catch (e) {
      mount(list, h('li', { class: 'form-error' }, e.message));
    }
  };
  load();
  const refresh = (e) => {
    const d = e.detail || {};
    if ((kind === 'contacts' && d.contactId === id) || (kind === 'leads' && d.leadId === id)) load();
  };
  window.addEventListener('rb:timeline', refresh);
  const off = onEvent((e) => {
    const call = e.data && e.data.call;
    if (e.kind === 'call.ended' && call && (call.contact_id === id && kind === 'contacts' || call.lead_id === id && kind === 'leads')) load();
  });
  return () => { window.removeEventListener('rb:timeline', refresh); off(); };
}

function timelineEntry(entry, call, users) {
  const author = entry.author_id && users.get(entry.author_id) ? users.get(entry.author_id).name : null;
  let body;
  if (entry.kind === 'call') {
    body = call ? h('div', null,
      h('span', { class: `dir ${call.direction}` }, t(`direction.${call.direction}`)), ' · ',
      h('span', { class: `status ${call.status}` }, t(`status.${call.status}`)),
      call.duration_s ? ` · ${fmtDuration(call.duration_s)}` : '',
      call.agent_id && users.get(call.agent_id) ? ` · ${users.get(call.agent_id).name}` : '',
      ' ', ratingStars(call.rating),
      call.recording ? h('div', null, h('audio', { controls: true, preload: 'none', src: `/api/v1/calls/${call.id}/recording` })) : null,
      call.notes ? h('p', { class: 'note' }, call.notes) : null)
      : h('div', null, t('timeline.call'), entry.text ? h('p', { class: 'note' }, entry.text) : null);
  } else if (entry.kind === 'note') {
    body = h('p', { class: 'note' }, entry.text || '');
  } else if (entry.kind === 'task_created') {
    body = h('div', null, t('timeline.task_created'), entry.text ? h('p', { class: 'note' }, entry.text) : null);
  } else {
    body = h('div', null, t('timeline.lead_created'), entry.text ? h('p', { class: 'note' }, entry.text) : null);
  }
  return h('li', { class: `entry ${entry.kind}`, dataset: { kind: entry.kind } },
    h('div', { class: 'entry-head' },
      h('span', { class: 'kind' }, t(`timeline.kind.${entry.kind}`)),
      h('time', { datetime: entry.at }, fmtDateTime(entry.at)),
      author ? h('span', { class: 'muted' }, author) : null),
    body);
}
