// The agent's live panel: his work state, the event stream, his open tasks (due ones first),
// today's calls and his open leads.
// The caller card itself pops over every page (callpop.js).

import { api } from '../api.js';
import { h, mount, phoneLink, toast } from '../dom.js';
import { field, submitting, valueOf } from '../forms.js';
import { t, fmtTime, fmtDateTime, fmtDuration, dayIn, dayStartUtc } from '../i18n.js';
import { onEvent, onStatus } from '../live.js';
import { updateMe } from '../app.js';
import { callName, ratingStars } from './calls.js';

const PAUSE_REASONS = ['lunch', 'break', 'meeting', 'training', 'paperwork'];

export async function render(root, { me }) {
  document.title = `${t('nav.live')} · Ringbase`;
  const user = me.user;
  const stateBox = h('div', { class: 'panel state-panel' });
  const streamLine = h('p', { class: 'muted' });
  const todayBox = h('div', { class: 'panel' });
  const leadsBox = h('div', { class: 'panel' });
  const tasksBox = h('div', { class: 'panel tasks-panel', 'data-testid': 'my-tasks' });
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, t('home.title', { name: user.name }))),
    h('div', { class: 'grid2' },
      h('div', null, stateBox,
        h('div', { class: 'panel waiting' }, h('h2', null, t('home.calls_here')), h('p', null, t('home.calls_here_hint')), streamLine),
        tasksBox),
      h('div', null, todayBox, leadsBox)));

  renderState(stateBox, user);
  const offStatus = onStatus((s) => { streamLine.textContent = t(`live.${s}`); streamLine.className = `live-line ${s}`; });
  const refresh = () => { loadToday(todayBox, user); };
  refresh();
  loadLeads(leadsBox, user);
  const refreshTasks = () => { loadTasks(tasksBox, user); };
  refreshTasks();
  // The after-call form says when it wrote tasks; a minute's tick moves tasks into "due".
  window.addEventListener('rb:tasks', refreshTasks);
  const tasksTicker = setInterval(refreshTasks, 60_000);
  const offEvent = onEvent((e) => { if (e.kind === 'call.ended' || e.kind === 'lagged') refresh(); });
  return () => {
    offStatus(); offEvent();
    window.removeEventListener('rb:tasks', refreshTasks);
    clearInterval(tasksTicker);
  };
}

function renderState(box, user) {
  const set = async (work_state, pause_reason = null) => {
    try {
      const updated = await api.patch(`/api/v1/users/${user.id}`, { work_state, pause_reason });
      Object.assign(user, updated);
      updateMe(updated);
      renderState(box, user);
    } catch (e) {
      mount(box.querySelector('.state-error') || box, e.message);
    }
  };
  const button = (state) => h('button', {
    type: 'button', class: `seg ${user.work_state === state ? 'on' : ''}`, 'data-testid': `state-${state}`,
    'aria-pressed': String(user.work_state === state),
    onclick: () => (state === 'paused' ? showReasons() : set(state)),
  }, t(`state.${state}`));
  const reasons = h('div', { class: 'reasons', hidden: true });
  const showReasons = () => {
    const form = h('form', { class: 'inline', novalidate: true },
      PAUSE_REASONS.map((r) => h('button', { type: 'button', class: 'chip', onclick: () => set('paused', t(`pause.${r}`)) }, t(`pause.${r}`))),
      field(t('pause.other'), h('input', { name: 'pause_reason', maxlength: 200, required: true })),
      h('button', { type: 'submit' }, t('state.pause_now')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      await submitting(form, async () => {
        const updated = await api.patch(`/api/v1/users/${user.id}`, { work_state: 'paused', pause_reason: valueOf(form, 'pause_reason') });
        Object.assign(user, updated);
        updateMe(updated);
        renderState(box, user);
      });
    });
    mount(reasons, form);
    reasons.hidden = false;
  };
  mount(box,
    h('h2', null, t('state.title')),
    h('div', { class: 'segmented', role: 'group', 'aria-label': t('state.title') },
      button('working'), button('paused'), button('off_shift')),
    user.work_state === 'paused' && user.pause_reason ? h('p', { class: 'muted' }, t('state.paused_because', { reason: user.pause_reason })) : null,
    reasons,
    h('p', { class: 'state-error form-error', role: 'alert' }));
}

async function loadToday(box, user) {
  try {
    const { items } = await api.get('/api/v1/calls', { from: dayStartUtc(dayIn()), agent_id: user.id, limit: 15 });
    const names = await Promise.all(items.map(callName));
    mount(box, h('h2', null, t('home.today')),
      items.length === 0 ? h('p', { class: 'muted' }, t('home.no_calls_today')) :
        h('table', { class: 'list compact' },
          h('tbody', null, items.map((c, i) => h('tr', null,
            h('td', null, fmtTime(c.started_at)),
            h('td', null, h('span', { class: `dir ${c.direction}`, title: t(`direction.${c.direction}`) }, t(`direction.${c.direction}`))),
            h('td', null, names[i] || phoneLink(c.direction === 'incoming' ? c.caller.e164 : c.called.e164,
              c.direction === 'incoming' ? c.caller.raw : c.called.raw)),
            h('td', null, h('span', { class: `status ${c.status}` }, t(`status.${c.status}`))),
            h('td', { class: 'num' }, c.duration_s ? fmtDuration(c.duration_s) : ''),
            h('td', null, ratingStars(c.rating)))))),
      h('p', null, h('a', { href: '#/calls' }, t('home.all_calls'))));
  } catch (e) {
    mount(box, h('h2', null, t('home.today')), h('p', { class: 'form-error' }, e.message));
  }
}

/** Where a task's contact, lead or deal is shown. */
function subjectHref(subject) {
  if (subject.kind === 'contact') return `#/contacts/${subject.id}`;
  if (subject.kind === 'lead') return `#/leads/${subject.id}`;
  return null;
}

/** My open tasks as the API orders them: soonest due first, undated last. */
async function loadTasks(box, user) {
  try {
    const { items } = await api.get('/api/v1/tasks', { assignee_id: user.id, done: false, limit: 20 });
    const now = Date.now();
    const due = items.filter((task) => task.due_at && Date.parse(task.due_at) <= now).length;
    mount(box,
      h('h2', null, t('tasks.mine'), due ? h('span', { class: 'badge due' }, t('tasks.due_count', { count: String(due) })) : null),
      items.length === 0 ? h('p', { class: 'muted' }, t('tasks.none')) :
        h('ul', { class: 'plain task-list' }, items.map((task) => taskItem(box, user, task, now))));
  } catch (e) {
    mount(box, h('h2', null, t('tasks.mine')), h('p', { class: 'form-error' }, e.message));
  }
}

function taskItem(box, user, task, now) {
  const overdue = task.due_at && Date.parse(task.due_at) <= now;
  const href = subjectHref(task.subject);
  const done = h('button', { type: 'button', class: 'chip', 'data-testid': 'task-done', title: t('tasks.mark_done') }, t('tasks.done'));
  done.addEventListener('click', async () => {
    done.disabled = true;
    try {
      await api.patch(`/api/v1/tasks/${task.id}`, { done: true });
      toast(t('tasks.marked_done'), 'ok');
      loadTasks(box, user);
    } catch (e) {
      done.disabled = false;
      toast(e.message, 'error');
    }
  });
  return h('li', { class: `task ${task.kind}${overdue ? ' overdue' : ''}`, dataset: { taskId: String(task.id), kind: task.kind } },
    done,
    h('span', { class: 'task-kind' }, t(`tasks.kind.${task.kind}`)),
    href ? h('a', { href, class: 'task-title' }, task.title) : h('span', { class: 'task-title' }, task.title),
    task.due_at ? h('time', { datetime: task.due_at, class: 'task-due' }, fmtDateTime(task.due_at)) : null,
    overdue ? h('span', { class: 'badge due' }, t('tasks.due')) : null);
}

async function loadLeads(box, user) {
  try {
    const { items } = await api.get('/api/v1/leads', { open: true, responsible_id: user.id, limit: 10 });
    mount(box, h('h2', null, t('home.my_leads')),
      items.length === 0 ? h('p', { class: 'muted' }, t('home.no_leads')) :
        h('ul', { class: 'plain' }, items.map((l) => h('li', null,
          h('a', { href: `#/leads/${l.id}` }, l.name || l.title), ' ',
          l.phones[0] ? phoneLink(l.phones[0].e164, l.phones[0].raw) : null))));
  } catch (e) {
    mount(box, h('h2', null, t('home.my_leads')), h('p', { class: 'form-error' }, e.message));
  }
}
