// The screen pop: the caller card while the phone rings, the call timer while talking, and the
// after-call form once it ended. Fed by the live event stream; shown over every page.
//
// Events: `call.ringing` {agent_ids, card} opens a pop; `call.answered` starts the talk timer;
// `call.ended` {call} attaches the call record (for the rating) and opens the after-call form.
// A call that ends without a ringing pop (a bridge app reporting a call) opens the form alone.

import { api, forget } from './api.js';
import { h, mount, phoneLink, select, toast, maskLike } from './dom.js';
import { field, submitting, valueOf, clearErrors } from './forms.js';
import { t, fmtDateTime, fmtDuration, fmtMoney, prefs, zoneOffsetMs } from './i18n.js';
import { onEvent } from './live.js';

/** A finished call only opens an after-call form while it is recent. */
const WRAPUP_WINDOW_MS = 5 * 60 * 1000;
/** A saved pop goes away by itself after this long. */
const SAVED_LINGER_MS = 6000;

let container = null;
let session = null;
let pops = [];
let unsubscribe = null;
let ticker = null;
let baseTitle = 'Ringbase';

export function startCallPop(el, sess) {
  stopCallPop();
  container = el;
  session = sess;
  baseTitle = document.title;
  unsubscribe = onEvent(handle);
  // Four times a second, so the shown second flips within 250 ms of the real one.
  ticker = setInterval(tick, 250);
  for (const pop of pops) container.append(pop.el);
}

export function stopCallPop() {
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
  clearInterval(ticker);
  ticker = null;
}

function myId() {
  return session && session.me && session.me.user ? session.me.user.id : null;
}

/** Whether an event is about a call this user is rung for or took (supervisors see all). */
function mine(data) {
  const me = myId();
  if (me === null) return false;
  if (Array.isArray(data.agent_ids) && data.agent_ids.includes(me)) return true;
  if (data.call && data.call.agent_id === me) return true;
  return data.agent_id === me;
}

function remoteOf(call) {
  return call.direction === 'incoming' ? call.caller : call.called;
}

function sameNumber(pop, number) {
  if (!number) return false;
  return (number.e164 && pop.number === number.e164) || (number.raw && pop.raw === number.raw);
}

function handle(event) {
  const { kind, data } = event;
  if (kind === 'call.ringing' && data.card && mine(data)) {
    ringing(data.card);
  } else if (kind === 'call.answered' && mine(data)) {
    answered(data);
  } else if (kind === 'call.ended' && data.call && mine(data)) {
    ended(data.call);
  } else if (kind === 'lead.created' && data.lead) {
    // A lead made for a caller on screen (by the call's rules, or by a colleague): show it.
    for (const pop of pops) {
      if (!pop.card.contact && !pop.card.lead && (data.lead.phones || []).some((p) => p.e164 === pop.number)) {
        pop.card.lead = data.lead;
        renderCard(pop);
      }
    }
  }
}

function ringing(card) {
  // The same caller ringing again (a retry, a second device) refreshes his pop.
  let pop = pops.find((p) => p.phase === 'ringing' && p.number && p.number === card.number);
  if (!pop) {
    pop = newPop(card);
    pops.unshift(pop);
    container.prepend(pop.el);
  } else {
    pop.card = card;
  }
  pop.phase = 'ringing';
  pop.since = Date.now();
  renderHead(pop);
  renderCard(pop);
  flashTitle();
}

function answered(data) {
  const number = data.card ? { e164: data.card.number, raw: data.card.raw }
    : data.call ? remoteOf(data.call) : data.number ? { e164: data.number, raw: data.number } : null;
  const open = pops.filter((p) => p.phase === 'ringing');
  const pop = open.find((p) => sameNumber(p, number)) || (open.length === 1 ? open[0] : null);
  if (!pop) return;
  pop.phase = 'talking';
  pop.since = Date.now();
  renderHead(pop);
  flashTitle();
}

function ended(call) {
  const number = remoteOf(call);
  let pop = pops.find((p) => !p.call && p.phase !== 'saved' && sameNumber(p, number));
  if (!pop) {
    const endedAt = Date.parse(call.ended_at);
    if (!(Date.now() - endedAt < WRAPUP_WINDOW_MS)) return;
    pop = newPop({ number: number.e164, raw: number.raw });
    pops.unshift(pop);
    container.prepend(pop.el);
    lookupInto(pop);
  }
  pop.call = call;
  if (!pop.card.lead && !pop.card.contact && call.lead_id) pop.leadId = call.lead_id;
  pop.phase = 'ended';
  pop.since = Date.now();
  renderHead(pop);
  renderCard(pop);
  openWrapup(pop);
  flashTitle();
}

async function lookupInto(pop) {
  if (!pop.raw) return;
  try {
    const card = await api.get('/api/v1/lookup', { number: pop.raw });
    pop.card = card;
    renderCard(pop);
    if (pop.form) renderForm(pop);
  } catch { /* the card stays as the call had it */ }
}

function newPop(card) {
  const pop = {
    card,
    number: card.number || null,
    raw: card.raw || card.number || '',
    phase: 'ringing',
    since: Date.now(),
    call: null,
    leadId: null,
    done: {},
    form: null,
  };
  pop.head = h('header', { class: 'pop-head' });
  pop.body = h('div', { class: 'pop-card' });
  pop.wrap = h('div', { class: 'pop-wrap' });
  pop.el = h('article', { class: 'pop', 'data-testid': 'callpop' }, pop.head, pop.body, pop.wrap);
  return pop;
}

function dismiss(pop) {
  pops = pops.filter((p) => p !== pop);
  pop.el.remove();
  flashTitle();
}

function tick() {
  for (const pop of pops) {
    const timer = pop.head.querySelector('.timer');
    if (timer && (pop.phase === 'ringing' || pop.phase === 'talking')) {
      const text = fmtDuration((Date.now() - pop.since) / 1000);
      if (timer.textContent !== text) timer.textContent = text;
    }
  }
}

function flashTitle() {
  const ringing = pops.find((p) => p.phase === 'ringing');
  document.title = ringing ? `☎ ${displayName(ringing.card) || ringing.raw} · ${baseTitle}` : baseTitle;
}

function displayName(card) {
  if (card.contact) return card.contact.name;
  if (card.company) return card.company.name;
  if (card.lead) return maskLike(card.lead.name || card.lead.title, card.raw || card.number);
  return null;
}

function renderHead(pop) {
  pop.el.className = `pop ${pop.phase}`;
  pop.el.dataset.phase = pop.phase;
  pop.el.dataset.number = pop.number || pop.raw || '';
  let label;
  let timer = null;
  if (pop.phase === 'ringing') {
    label = t('pop.ringing');
    timer = fmtDuration((Date.now() - pop.since) / 1000);
  } else if (pop.phase === 'talking') {
    label = t('pop.talking');
    timer = fmtDuration((Date.now() - pop.since) / 1000);
  } else if (pop.call && pop.call.status !== 'answered') {
    label = t(`status.${pop.call.status}`);
  } else if (pop.call) {
    label = t('pop.ended_after', { duration: fmtDuration(pop.call.duration_s) });
  } else {
    label = pop.phase === 'saved' ? t('pop.saved') : t('pop.ended');
  }
  mount(pop.head,
    h('span', { class: 'phase' }, label),
    timer !== null ? h('span', { class: 'timer', 'aria-label': t('pop.timer') }, timer) : null,
    h('span', { class: 'spacer' }),
    pop.phase === 'ringing' || pop.phase === 'talking'
      ? h('button', { type: 'button', class: 'link', onclick: () => openWrapup(pop) }, t('pop.wrap_up'))
      : null,
    h('button', { type: 'button', class: 'icon', 'aria-label': t('action.close'), title: t('action.close'), onclick: () => dismiss(pop) }, '×'));
}

function renderCard(pop) {
  const card = pop.card;
  const name = displayName(card);
  const rows = [];
  if (card.contact && card.company) rows.push([t('card.company'), card.company.name]);
  if (card.deal) {
    rows.push([t('card.deal'), h('span', null, card.deal.title, ' · ',
      h('span', { class: `stage ${card.deal.stage}` }, t(`stage.${card.deal.stage}`)),
      card.deal.amount ? ` · ${fmtMoney(card.deal.amount)}` : '')]);
  }
  if (card.lead) rows.push([t('card.lead'), `${maskLike(card.lead.title, card.raw || card.number)} · ${t(`lead_status.${card.lead.status}`)}`]);
  if (card.responsible) {
    rows.push([t('card.responsible'), card.responsible.extension
      ? `${card.responsible.name} (${card.responsible.extension})` : card.responsible.name]);
  }
  if (card.last_call) {
    const c = card.last_call;
    rows.push([t('card.last_call'), `${fmtDateTime(c.started_at)} · ${t(`direction.${c.direction}`)} · ${t(`status.${c.status}`)}${c.duration_s ? ` · ${fmtDuration(c.duration_s)}` : ''}`]);
  }
  const link = card.contact ? h('a', { href: `#/contacts/${card.contact.id}` }, t('card.open_contact'))
    : card.lead ? h('a', { href: `#/leads/${card.lead.id}` }, t('card.open_lead'))
      : pop.leadId ? h('a', { href: `#/leads/${pop.leadId}` }, t('card.open_lead')) : null;
  const unknown = !name;
  mount(pop.body,
    h('h2', { class: 'caller-name', 'data-testid': 'caller-name' }, unknown ? t('card.unknown') : name),
    h('p', { class: 'caller-number' }, phoneLink(card.number, card.raw || card.number || t('card.no_number'))),
    rows.length ? h('dl', null, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])) : null,
    unknown && !pop.leadId ? createLeadButton(pop) : null,
    pop.leadId && unknown ? h('p', { class: 'muted' }, t('card.lead_created')) : null,
    link ? h('p', null, link) : null);
}

function createLeadButton(pop) {
  const dialable = pop.card.number && !String(pop.card.number).includes('*');
  const button = h('button', {
    type: 'button', class: 'primary', 'data-testid': 'create-lead', disabled: !dialable,
    title: dialable ? null : t('card.number_hidden'),
  }, t('card.create_lead'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const lead = await api.post('/api/v1/leads', {
        title: t('card.lead_title', { number: pop.card.raw || pop.card.number }),
        phones: [pop.card.number],
      });
      pop.card.lead = lead;
      renderCard(pop);
      if (pop.form) renderForm(pop);
      toast(t('card.lead_created'), 'ok');
    } catch (e) {
      button.disabled = false;
      toast(e.message, 'error');
    }
  });
  return button;
}

function openWrapup(pop) {
  if (pop.form) return;
  renderForm(pop);
}

/** The after-call form. Kept across card updates so nothing typed is lost. */
function renderForm(pop) {
  const card = pop.card;
  const typed = pop.form ? Object.fromEntries(new FormData(pop.form)) : {};
  const needsContact = !card.contact && !pop.done.contactId;
  const form = h('form', { class: 'aftercall', 'data-testid': 'aftercall', novalidate: true },
    h('h3', null, t('wrap.title')),
    needsContact ? h('fieldset', null,
      h('legend', null, t('wrap.save_contact')),
      field(t('contact.name'), h('input', { name: 'contact_name', autocomplete: 'off', value: typed.contact_name ?? (card.lead && card.lead.name) ?? '' })),
      field(t('contact.company'), h('input', { name: 'contact_company', autocomplete: 'off', value: typed.contact_company ?? (card.lead && card.lead.company_name) ?? '' }))) : null,
    field(t('wrap.note'), h('textarea', { name: 'note', rows: 3, value: typed.note ?? '' })),
    h('div', { class: 'row2' },
      field(t('wrap.task'), h('input', { name: 'task', maxlength: 300, autocomplete: 'off', value: typed.task ?? '' })),
      field(t('wrap.next_call'), h('input', { name: 'next_call', type: 'datetime-local', value: typed.next_call ?? '' }))),
    ratingField(pop, typed.rating),
    card.deal ? field(t('wrap.deal_stage'), select({ name: 'stage' },
      ['open', 'won', 'lost'].map((s) => [s, t(`stage.${s}`)]), typed.stage ?? card.deal.stage)) : null,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, t('action.save')),
      h('button', { type: 'button', class: 'link', onclick: () => dismiss(pop) }, t('action.skip'))),
    h('p', { class: 'form-error', role: 'alert' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    save(pop, form);
  });
  pop.form = form;
  mount(pop.wrap, form);
}

function ratingField(pop, typed) {
  if (!pop.call) return h('p', { class: 'muted small' }, t('wrap.rating_later'));
  const current = typed ?? (pop.call.rating ? String(pop.call.rating) : '');
  const stars = [1, 2, 3, 4, 5].map((n) => h('label', { class: 'star', title: String(n) },
    h('input', { type: 'radio', name: 'rating', value: String(n), checked: current === String(n) }),
    h('span', { 'aria-hidden': 'true' }, '★'), h('span', { class: 'sr' }, String(n))));
  return h('div', { class: 'field', dataset: { field: 'rating' } },
    h('span', { class: 'label' }, t('wrap.rating')),
    h('div', { class: 'stars', role: 'radiogroup', 'aria-label': t('wrap.rating') }, stars),
    h('span', { class: 'field-error', role: 'alert' }));
}

/** The note as it goes on the timeline and on the call. Tasks are real tasks (see `saveTasks`). */
function noteText(form) {
  return valueOf(form, 'note');
}

/**
 * A `datetime-local` value (wall time in the user's time zone, not the browser's) as an ISO
 * instant; `null` when empty or unreadable.
 */
function wallTimeToIso(value, tz = prefs().tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || '');
  if (!m) return null;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let instant = guess - zoneOffsetMs(new Date(guess), tz);
  // Once more with the offset at the found instant: right across a DST change.
  instant = guess - zoneOffsetMs(new Date(instant), tz);
  return new Date(instant).toISOString();
}

/** Whose timeline the wrap-up writes on: the contact, else the lead, else the deal. */
function wrapSubject(pop) {
  const card = pop.card;
  const contactId = pop.done.contactId || (card.contact && card.contact.id);
  if (contactId) return { kind: 'contact', id: contactId };
  const leadId = (card.lead && card.lead.id) || pop.leadId;
  if (leadId) return { kind: 'lead', id: leadId };
  if (card.deal) return { kind: 'deal', id: card.deal.id };
  return null;
}

/** Who the call back is with, for its title. */
function callerName(pop, form) {
  const card = pop.card;
  return valueOf(form, 'contact_name') || (card.contact && card.contact.name)
    || (card.lead && (card.lead.name || card.lead.title)) || card.raw || card.number || '';
}

/** The typed task and the next call become tasks (assigned to me) on the caller's timeline. */
async function saveTasks(pop, form) {
  const title = valueOf(form, 'task');
  const next = valueOf(form, 'next_call');
  if (!title && !next) return;
  const subject = wrapSubject(pop);
  if (!subject) {
    throw Object.assign(new Error(t('wrap.no_target_task')), { field: title ? 'task' : 'next_call' });
  }
  const callId = pop.call ? pop.call.id : undefined;
  if (title && !pop.done.task) {
    await api.post('/api/v1/tasks', { title, kind: 'task', subject, call_id: callId })
      .catch((e) => { throw mapField(e, { title: 'task', subject: 'task' }); });
    pop.done.task = true;
  }
  if (next && !pop.done.callBack) {
    const due = wallTimeToIso(next);
    if (!due) throw Object.assign(new Error(t('wrap.next_call_invalid')), { field: 'next_call' });
    await api.post('/api/v1/tasks', {
      title: t('tasks.call_back_title', { name: callerName(pop, form) }).slice(0, 300),
      kind: 'call_back', subject, due_at: due, call_id: callId,
    }).catch((e) => { throw mapField(e, { due_at: 'next_call', title: 'next_call', subject: 'next_call' }); });
    pop.done.callBack = true;
  }
  window.dispatchEvent(new CustomEvent('rb:tasks'));
}

async function save(pop, form) {
  const card = pop.card;
  const text = noteText(form);
  const contactName = valueOf(form, 'contact_name');
  const rating = form.elements.namedItem('rating') ? valueOf(form, 'rating') : null;
  const stage = card.deal ? valueOf(form, 'stage') : null;
  clearErrors(form);
  const ok = await submitting(form, async () => {
    // 1. The unknown caller becomes a contact (and his lead is converted into it).
    if (contactName && !card.contact && !pop.done.contactId) {
      const dialable = card.number && !String(card.number).includes('*');
      const created = await api.post('/api/v1/contacts', {
        name: contactName,
        company: valueOf(form, 'contact_company') || undefined,
        phones: dialable ? [card.number] : [],
      }).catch((e) => { throw mapField(e, { name: 'contact_name', company: 'contact_company', phones: 'contact_name' }); });
      pop.done.contactId = created.id;
      forget('/api/v1/contacts');
      const leadId = (card.lead && card.lead.id) || pop.leadId;
      if (leadId) {
        await api.patch(`/api/v1/leads/${leadId}`, { status: 'converted', contact_id: created.id }).catch(() => {
          // The contact exists; a lead left open is not worth failing the wrap-up for.
        });
      }
    }
    // 2. The note on the timeline: the contact's, else the lead's, else the deal's.
    if (text && !pop.done.note) {
      const contactId = pop.done.contactId || (card.contact && card.contact.id);
      const leadId = (card.lead && card.lead.id) || pop.leadId;
      const target = contactId ? `/api/v1/contacts/${contactId}/notes`
        : leadId ? `/api/v1/leads/${leadId}/notes`
          : card.deal ? `/api/v1/deals/${card.deal.id}/notes` : null;
      if (!target && !pop.call) {
        throw Object.assign(new Error(t('wrap.no_target')), { field: 'note' });
      }
      if (target) {
        await api.post(target, { text }).catch((e) => { throw mapField(e, { text: 'note' }); });
      }
      pop.done.note = true;
    }
    // 2b. The task and the next call, as tasks on the same timeline.
    await saveTasks(pop, form);
    // 3. The call's rating and notes.
    if (pop.call && !pop.done.call && (rating || text)) {
      const patch = {};
      if (rating) patch.rating = Number(rating);
      if (text) patch.notes = text;
      pop.call = await api.patch(`/api/v1/calls/${pop.call.id}`, patch)
        .catch((e) => { throw mapField(e, { notes: 'note' }); });
      pop.done.call = true;
    }
    // 4. The deal's stage.
    if (card.deal && stage && stage !== card.deal.stage && !pop.done.deal) {
      card.deal = await api.patch(`/api/v1/deals/${card.deal.id}`, { stage });
      pop.done.deal = true;
    }
    return true;
  });
  if (!ok) return;
  pop.phase = 'saved';
  renderHead(pop);
  const contactId = pop.done.contactId || (card.contact && card.contact.id);
  const leadId = (card.lead && card.lead.id) || pop.leadId;
  const timeline = contactId ? `#/contacts/${contactId}` : leadId ? `#/leads/${leadId}` : null;
  renderCard(pop);
  mount(pop.wrap, h('p', { class: 'saved-note' }, t('wrap.saved'), ' ',
    timeline ? h('a', { href: timeline }, t('wrap.open_timeline')) : null));
  toast(t('wrap.saved'), 'ok');
  setTimeout(() => { if (pops.includes(pop) && pop.phase === 'saved') dismiss(pop); }, SAVED_LINGER_MS);
  // Pages showing this timeline refresh themselves.
  window.dispatchEvent(new CustomEvent('rb:timeline', { detail: { contactId, leadId } }));
}

/** Renames the API's field to the form's, so the message lands next to the right input. */
function mapField(e, map) {
  if (e && e.field && map[e.field]) e.field = map[e.field];
  return e;
}

