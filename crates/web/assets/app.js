// The app shell: who is signed in, the navigation his role allows, the hash router, and the
// live event stream that feeds the screen pop. Views load on first use, so the sign-in page
// and the agent's panel do not wait for the admin screens.

import { api, onUnauthorized } from './api.js';
import { h, mount, toast } from './dom.js';
import { t, loadPrefs, setPrefs, prefs } from './i18n.js';
import * as live from './live.js';
import { startCallPop, stopCallPop } from './callpop.js';

const RANK = { agent: 0, supervisor: 1, admin: 2 };

/** The session: `{role, user, via}` from `GET /api/v1/me`. */
export const session = { me: null };

export function hasRole(role) {
  return session.me && RANK[session.me.role] >= RANK[role];
}

/** Updates the signed-in user (work state changed) and tells whoever shows it. */
export function updateMe(user) {
  session.me = { ...session.me, user };
  window.dispatchEvent(new CustomEvent('rb:me', { detail: user }));
}

// path pattern → view. `nav` entries appear in the top bar, in this order.
const ROUTES = [
  { re: /^live$/, role: 'agent', nav: 'nav.live', load: () => import('./views/home.js').then((m) => m.render) },
  { re: /^contacts$/, role: 'agent', nav: 'nav.contacts', load: () => import('./views/contacts.js').then((m) => m.list) },
  { re: /^contacts\/(\d+)$/, role: 'agent', load: () => import('./views/contacts.js').then((m) => m.contactPage) },
  { re: /^leads\/(\d+)$/, role: 'agent', load: () => import('./views/contacts.js').then((m) => m.leadPage) },
  { re: /^calls$/, role: 'agent', nav: 'nav.calls', load: () => import('./views/calls.js').then((m) => m.render) },
  { re: /^board$/, role: 'supervisor', nav: 'nav.board', load: () => import('./views/board.js').then((m) => m.render) },
  { re: /^analytics$/, role: 'supervisor', nav: 'nav.analytics', load: () => import('./views/analytics.js').then((m) => m.render) },
  { re: /^admin(?:\/([a-z-]+))?$/, role: 'admin', nav: 'nav.admin', href: 'admin', load: () => import('./views/admin.js').then((m) => m.render) },
  { re: /^settings$/, role: 'agent', nav: 'nav.settings', load: () => import('./views/settings.js').then((m) => m.render) },
];

const root = document.getElementById('app');
let cleanup = null;
let renderSeq = 0;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, search] = raw.split('?');
  return { path: path || 'live', query: Object.fromEntries(new URLSearchParams(search || '')) };
}

/** Changes the hash; `replace` keeps the history clean for filter changes. */
export function navigate(path, query, { replace = false } = {}) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== '') search.set(k, v);
  const text = search.toString();
  const hash = `#/${path}${text ? `?${text}` : ''}`;
  if (replace) {
    history.replaceState(null, '', hash);
    route();
  } else {
    location.hash = hash;
  }
}

function shell() {
  const me = session.me;
  const nav = h('nav', { class: 'nav', 'aria-label': t('nav.main') },
    ROUTES.filter((r) => r.nav && hasRole(r.role)).map((r) => {
      const href = r.href || r.re.source.replace(/^\^|\$$/g, '');
      return h('a', { href: `#/${href}`, dataset: { nav: href } }, t(r.nav));
    }));
  const status = h('span', { class: 'live-dot', id: 'live-status' });
  const stateBadge = h('a', { class: 'state-badge', id: 'state-badge', href: '#/live' });
  const user = me.user;
  const bar = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/live' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '' }), 'Ringbase'),
    nav,
    h('div', { class: 'spacer' }),
    status,
    stateBadge,
    h('span', { class: 'who' }, user ? user.name : t('role.api'), h('small', null, t(`role.${me.role}`))),
    h('button', { class: 'link', type: 'button', onclick: signOut }, t('action.sign_out')));
  mount(root, bar, h('main', { id: 'view', tabindex: '-1' }), h('aside', { id: 'callpop', 'aria-live': 'assertive' }));
  live.onStatus((s) => {
    status.className = `live-dot ${s}`;
    status.title = t(`live.${s}`);
    status.textContent = t(`live.${s}`);
  });
  const showState = (u) => {
    if (!u) { stateBadge.hidden = true; return; }
    stateBadge.className = `state-badge ${u.work_state}`;
    stateBadge.textContent = u.work_state === 'paused' && u.pause_reason
      ? `${t('state.paused')}: ${u.pause_reason}` : t(`state.${u.work_state}`);
  };
  showState(user);
  showMyState = showState;
}

// Click-to-call: a clicked number rings the signed-in agent's phone, then the customer.
window.addEventListener('rb:dial', async (e) => {
  const user = session.me && session.me.user;
  if (!user) {
    toast(t('dial.no_user'), 'error');
    return;
  }
  try {
    await api.post('/api/v1/calls/originate', { user: user.id, number: e.detail });
    toast(t('dial.ringing', { number: e.detail }), 'ok');
  } catch (err) {
    toast(t('dial.failed', { reason: err.message }), 'error');
  }
});

// The top bar's work state badge, replaced whenever the shell is drawn again.
let showMyState = () => {};
window.addEventListener('rb:me', (e) => showMyState(e.detail));

async function route() {
  const seq = ++renderSeq;
  const view = document.getElementById('view');
  if (!view || !session.me) return;
  const { path, query } = parseHash();
  let match = null;
  let found = null;
  for (const r of ROUTES) {
    match = path.match(r.re);
    if (match) { found = r; break; }
  }
  for (const a of document.querySelectorAll('.nav a')) {
    a.classList.toggle('active', path === a.dataset.nav || path.startsWith(`${a.dataset.nav}/`));
  }
  if (cleanup) { try { cleanup(); } catch { /* a view's teardown must not stop the next */ } cleanup = null; }
  if (!found || !hasRole(found.role)) {
    mount(view, h('section', { class: 'page' }, h('h1', null, t('error.not_found')),
      h('p', null, h('a', { href: '#/live' }, t('nav.live')))));
    return;
  }
  view.replaceChildren(h('p', { class: 'muted loading' }, t('loading')));
  try {
    const render = await found.load();
    if (seq !== renderSeq) return;
    const page = h('section', { class: 'page' });
    view.replaceChildren(page);
    cleanup = (await render(page, { params: match.slice(1), query, me: session.me, navigate })) || null;
  } catch (e) {
    if (seq !== renderSeq) return;
    mount(view, h('section', { class: 'page' }, h('p', { class: 'form-error' }, e.message)));
  }
  if (seq === renderSeq && !document.documentElement.dataset.ready) {
    document.documentElement.dataset.ready = '1';
    performance.mark('rb-ready');
  }
}

async function signOut() {
  try { await api.post('/api/v1/auth/logout'); } catch { /* signed out either way */ }
  signedOut();
}

function signedOut() {
  session.me = null;
  live.disconnect();
  stopCallPop();
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  showLogin();
}

async function showLogin() {
  const { render } = await import('./views/login.js');
  document.title = `${t('login.title')} · Ringbase`;
  render(root, { onSignedIn: start });
  if (!document.documentElement.dataset.ready) {
    document.documentElement.dataset.ready = '1';
    performance.mark('rb-ready');
  }
}

/** Starts the app for a signed-in principal. */
export function start(me) {
  session.me = me;
  loadPrefs(me.user ? me.user.id : 'api');
  document.documentElement.lang = prefs().lang;
  document.title = 'Ringbase';
  shell();
  live.start();
  startCallPop(document.getElementById('callpop'), session);
  route();
}

/** Re-renders everything after a language or time zone change. */
export function applyPrefs(next) {
  setPrefs(session.me && session.me.user ? session.me.user.id : 'api', next);
  document.documentElement.lang = prefs().lang;
  stopCallPop();
  shell();
  startCallPop(document.getElementById('callpop'), session);
  route();
}

window.addEventListener('hashchange', route);
onUnauthorized(() => { if (session.me) signedOut(); });

(async () => {
  loadPrefs(null);
  try {
    const me = await api.get('/api/v1/me');
    if (me.via !== 'session' && !me.user) throw new Error('not a person');
    start(me);
  } catch {
    showLogin();
  }
})();
