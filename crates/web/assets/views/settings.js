// Personal settings: language and time zone (kept in this browser, per user) and the password.

import { api } from '../api.js';
import { h, mount, select, toast } from '../dom.js';
import { field, submitting } from '../forms.js';
import { t, LANGUAGES, prefs, timeZones, fmtDateTime, fmtNumber, fmtMoney } from '../i18n.js';
import { applyPrefs } from '../app.js';

export function render(root, { me }) {
  document.title = `${t('nav.settings')} · Ringbase`;
  const current = prefs();
  const lang = select({ name: 'lang', 'data-testid': 'language' }, Object.entries(LANGUAGES), current.lang);
  const zones = timeZones();
  const tz = select({ name: 'tz' }, (zones.includes(current.tz) ? zones : [current.tz, ...zones]).map((z) => [z, z.replace(/_/g, ' ')]), current.tz);
  const prefsForm = h('form', { class: 'panel stack', novalidate: true },
    h('h2', null, t('settings.display')),
    h('div', { class: 'row2' }, field(t('settings.language'), lang), field(t('settings.time_zone'), tz)),
    h('p', { class: 'muted' }, t('settings.example'), ' ', fmtDateTime(new Date()), ' · ', fmtNumber(1234567.89), ' · ',
      fmtMoney({ amount_minor: 1250000, currency: 'EUR' })));
  const apply = () => applyPrefs({ lang: lang.value, tz: tz.value });
  lang.addEventListener('change', apply);
  tz.addEventListener('change', apply);

  let passwordForm = null;
  if (me.user) {
    passwordForm = h('form', { class: 'panel stack', novalidate: true },
      h('h2', null, t('settings.password')),
      field(t('settings.new_password'), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' }), t('admin.password_hint')),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.save'))));
    passwordForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const done = await submitting(passwordForm, () => api.put(`/api/v1/users/${me.user.id}/password`,
        { password: passwordForm.elements.namedItem('password').value }).then(() => true));
      if (done) { passwordForm.reset(); toast(t('admin.saved'), 'ok'); }
    });
  }
  mount(root, h('div', { class: 'page-head' }, h('h1', null, t('nav.settings'))), h('div', { class: 'grid2' }, prefsForm, passwordForm));
}
