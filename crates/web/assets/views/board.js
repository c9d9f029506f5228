// The supervisor's live board: every line (calls on it now, today's calls and misses), every agent (free, ringing, talking — with whom and for how
// long —, paused and why, off shift), callers waiting per queue, and today's missed calls that
// nobody has called back yet. Fed by the live event stream; work states are re-read every few
// seconds because changing them publishes no event.

import { api, byId, forget } from '../api.js';
import { h, mount, phoneLink } from '../dom.js';
import { t, fmtDuration, fmtDateTime, dayIn, dayStartUtc } from '../i18n.js';
import { onEvent } from '../live.js';
import { registrations, phoneState } from './admin.js';

/** A ringing call that never reports its end stops showing after this long. */
const RING_TIMEOUT_MS = 90 * 1000;
const STATES_EVERY_MS = 5000;
const MISSED_DAYS = 7;

function numberOf(data) {
  if (data.card) return { e164: data.card.number, raw: data.card.raw || data.card.number, name: cardName(data.card) };
  // `call` is a call record on call.ended; the SIP server's call.ringing names its call by id.
  if (data.call && typeof data.call === 'object') {
    const remote = data.call.direction === 'incoming' ? data.call.caller : data.call.called;
    return { e164: remote.e164, raw: remote.raw, name: null };
  }
  if (data.number) return { e164: data.number, raw: data.number, name: null };
  return null;
}

function cardName(card) {
  if (card.contact) return card.contact.name;
  if (card.company) return card.company.name;
  if (card.lead) return card.lead.name || card.lead.title;
  return null;
}

function agentsOf(data) {
  if (Array.isArray(data.agent_ids)) return data.agent_ids;
  if (data.agent_id !== undefined && data.agent_id !== null) return [data.agent_id];
  if (data.call && typeof data.call === 'object' && data.call.agent_id != null) return [data.call.agent_id];
  return [];
}

export async function render(root) {
  document.title = `${t('nav.board')} · Ringbase`;
  // agent id → {phase: 'ringing'|'talking', since, who: {e164, raw, name}}
  const activity = new Map();
  // queue name → [{since, who}]
  const waiting = new Map();
  let users = [];
  let phones = new Map();
  let missed = [];
  let lines = [];
  // line id → {calls, missed} since local midnight
  let today = new Map();

  const agentsBox = h('div', { class: 'panel' });
  const queuesBox = h('div', { class: 'panel' });
  const missedBox = h('div', { class: 'panel' });
  const linesBox = h('div', { class: 'panel' });
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, t('nav.board'))),
    h('div', { class: 'grid2 wide-left' }, h('div', null, agentsBox, linesBox), h('div', null, queuesBox, missedBox)));

  const drawLines = () => {
    const now = Date.now();
    mount(linesBox, h('h2', null, t('board.lines')),
      lines.length === 0 ? h('p', { class: 'muted' }, t('admin.no_lines')) :
        h('table', { class: 'list compact', 'data-testid': 'board-lines' },
          h('thead', null, h('tr', null, [t('board.line'), t('board.now'), t('board.today'), t('status.missed')].map((x) => h('th', { scope: 'col' }, x)))),
          h('tbody', null, lines.map((l) => {
            const active = [...activity.values()].filter((a) => a.line === l.id);
            const counts = today.get(l.id) || { calls: 0, missed: 0 };
            return h('tr', { dataset: { lineId: l.id } },
              h('td', null, l.name || l.number.raw, h('div', { class: 'small muted' }, l.number.raw)),
              h('td', null, active.map((a) => h('div', null, t(`board.${a.phase}`), ' ', a.who.name || a.who.raw, ' ',
                h('span', { class: 'muted small' }, fmtDuration((now - a.since) / 1000))))),
              h('td', { class: 'num' }, String(counts.calls)),
              h('td', { class: 'num' }, String(counts.missed)));
          }))));
  };

  const drawAgents = () => {
    const now = Date.now();
    const counts = { free: 0, ringing: 0, talking: 0, paused: 0, off_shift: 0 };
    const rows = users.map((u) => {
      const act = activity.get(u.id);
      let state = u.work_state === 'working' ? 'free' : u.work_state;
      if (act) state = act.phase;
      counts[state] = (counts[state] || 0) + 1;
      const with_ = act ? h('span', null, act.who.name ? `${act.who.name} · ` : '', phoneLink(act.who.e164, act.who.raw)) : '';
      return h('tr', { dataset: { agentId: u.id, state } },
        h('td', null, u.name, u.extension ? h('span', { class: 'muted small' }, ` ${u.extension}`) : null),
        h('td', null, h('span', { class: `board-state ${state}` }, t(`board.${state}`)),
          state === 'paused' && u.pause_reason ? h('span', { class: 'muted small' }, ` ${u.pause_reason}`) : null),
        h('td', null, with_),
        h('td', { class: 'num timer' }, act ? fmtDuration((now - act.since) / 1000) : ''),
        h('td', null, phoneState(phones.get(u.id))));
    });
    mount(agentsBox,
      h('h2', null, t('board.agents')),
      h('p', { class: 'board-counts' }, Object.entries(counts).map(([k, n]) =>
        h('span', { class: `board-state ${k}`, dataset: { count: k } }, `${t(`board.${k}`)}: ${n}`))),
      h('table', { class: 'list', 'data-testid': 'board-agents' },
        h('thead', null, h('tr', null, [t('board.agent'), t('board.state'), t('board.with'), t('board.for'), t('admin.sip_phone')]
          .map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, rows)));
  };

  const drawQueues = () => {
    const now = Date.now();
    const names = [...waiting.keys()].filter((q) => waiting.get(q).length).sort();
    mount(queuesBox, h('h2', null, t('board.waiting')),
      names.length === 0 ? h('p', { class: 'muted', 'data-testid': 'board-queues' }, t('board.nobody_waiting')) :
        h('table', { class: 'list compact', 'data-testid': 'board-queues' }, h('tbody', null, names.map((q) => {
          const list = waiting.get(q);
          const longest = Math.max(...list.map((w) => now - w.since));
          return h('tr', { dataset: { queue: q } }, h('td', null, q),
            h('td', { class: 'num' }, t('board.callers', { n: list.length })),
            h('td', { class: 'num timer' }, fmtDuration(longest / 1000)));
        }))));
  };

  const drawMissed = () => {
    mount(missedBox, h('h2', null, t('board.missed')),
      missed.length === 0 ? h('p', { class: 'muted', 'data-testid': 'board-missed' }, t('board.no_missed')) :
        h('table', { class: 'list compact', 'data-testid': 'board-missed' }, h('tbody', null, missed.map((c) => h('tr', { dataset: { callId: c.id } },
          h('td', null, fmtDateTime(c.started_at)),
          h('td', null, phoneLink(c.caller.e164, c.caller.raw)),
          h('td', null, c.agent_name || ''))))));
  };

  const loadUsers = async () => {
    forget('/api/v1/users');
    const [{ items }, registered] = await Promise.all([api.get('/api/v1/users'), registrations()]);
    users = items;
    phones = registered;
    drawAgents();
  };

  // Missed incoming calls of the last days whose number has no later call (answered incoming,
  // or any call we placed).
  const loadMissed = async () => {
    const from = dayStartUtc(dayIn(new Date(Date.now() - (MISSED_DAYS - 1) * 86400000)));
    const [{ items }, people, lineList] = await Promise.all([
      api.get('/api/v1/calls', { from, limit: 500 }),
      byId('/api/v1/users'),
      api.get('/api/v1/lines'),
    ]);
    lines = lineList.items;
    const midnight = dayStartUtc(dayIn());
    today = new Map();
    for (const c of items) {
      if (!c.line_id || c.started_at < midnight) continue;
      const n = today.get(c.line_id) || { calls: 0, missed: 0 };
      n.calls += 1;
      if (c.status !== 'answered') n.missed += 1;
      today.set(c.line_id, n);
    }
    const lastContact = new Map();
    for (const c of items) {
      const reached = c.direction !== 'incoming' || c.status === 'answered';
      const remote = c.direction === 'incoming' ? c.caller : c.called;
      const key = remote.e164 || remote.raw;
      if (reached && (!lastContact.has(key) || lastContact.get(key) < c.started_at)) lastContact.set(key, c.started_at);
    }
    const seen = new Set();
    missed = items.filter((c) => {
      if (c.direction !== 'incoming' || c.status === 'answered') return false;
      const key = c.caller.e164 || c.caller.raw;
      if (seen.has(key)) return false;
      seen.add(key);
      const reached = lastContact.get(key);
      return !reached || reached < c.started_at;
    }).map((c) => ({ ...c, agent_name: c.agent_id && people.get(c.agent_id) ? people.get(c.agent_id).name : '' }));
    drawMissed();
    drawLines();
  };

  // A busy floor sends many events a second: draw at most once a frame, and re-read the
  // missed calls at most once a second.
  let frame = null;
  const redraw = () => {
    if (frame !== null) return;
    frame = requestAnimationFrame(() => { frame = null; drawAgents(); drawQueues(); drawLines(); });
  };
  let missedTimer = null;
  const refreshMissed = () => {
    if (missedTimer !== null) return;
    missedTimer = setTimeout(() => { missedTimer = null; loadMissed().catch(() => {}); }, 1000);
  };

  const handle = (event) => {
    const { kind, data } = event;
    if (kind === 'lagged') { loadUsers(); loadMissed(); return; }
    const who = numberOf(data);
    if (!who) return;
    const agents = agentsOf(data);
    const line = data.line_id ?? (data.call ? data.call.line_id : null) ?? null;
    if (kind === 'call.ringing' || kind === 'call.started') {
      if (data.queue && agents.length === 0) {
        const list = waiting.get(data.queue) || [];
        if (!list.some((w) => w.who.e164 === who.e164)) list.push({ since: Date.now(), who });
        waiting.set(data.queue, list);
      }
      for (const id of agents) activity.set(id, { phase: 'ringing', since: Date.now(), who, line });
    } else if (kind === 'call.answered') {
      for (const id of agents) activity.set(id, { phase: 'talking', since: Date.now(), who, line: line ?? (activity.get(id) || {}).line ?? null });
      for (const [q, list] of waiting) waiting.set(q, list.filter((w) => w.who.e164 !== who.e164));
    } else if (kind === 'call.ended') {
      for (const [id, act] of activity) {
        if (agents.includes(id) || (act.who.e164 && act.who.e164 === who.e164)) activity.delete(id);
      }
      for (const [q, list] of waiting) waiting.set(q, list.filter((w) => w.who.e164 !== who.e164));
      refreshMissed();
    }
    redraw();
  };

  await Promise.all([loadUsers(), loadMissed()]);
  drawQueues();
  const off = onEvent(handle);
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const [id, act] of activity) if (act.phase === 'ringing' && now - act.since > RING_TIMEOUT_MS) activity.delete(id);
    drawAgents();
    drawQueues();
    drawLines();
  }, 1000);
  const poller = setInterval(() => { loadUsers().catch(() => {}); }, STATES_EVERY_MS);
  return () => {
    off();
    clearInterval(ticker);
    clearInterval(poller);
    clearTimeout(missedTimer);
    if (frame !== null) cancelAnimationFrame(frame);
  };
}
