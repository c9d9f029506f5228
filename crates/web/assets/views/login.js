// Sign-in: login and password; the API sets the session cookie.

import { api } from '../api.js';
import { h, mount, select } from '../dom.js';
import { field, submitting, valueOf } from '../forms.js';
import { t, LANGUAGES, prefs, setPrefs } from '../i18n.js';

export function render(root, { onSignedIn }) {
  const form = h('form', { class: 'login-form', novalidate: true },
    h('h1', null, t('login.title')),
    field(t('login.login'), h('input', { name: 'login', autocomplete: 'username', required: true, autofocus: true })),
    field(t('login.password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit', class: 'primary' }, t('action.sign_in')),
    h('p', { class: 'form-error', role: 'alert' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const signedIn = await submitting(form, () => api.post('/api/v1/auth/login', {
      login: valueOf(form, 'login'),
      password: form.elements.namedItem('password').value,
    }));
    if (signedIn) onSignedIn({ role: signedIn.user.role, user: signedIn.user, via: 'session' });
  });
  const language = select({ 'aria-label': t('settings.language'), class: 'lang-pick' },
    Object.entries(LANGUAGES), prefs().lang);
  language.addEventListener('change', () => {
    setPrefs(null, { lang: language.value });
    render(root, { onSignedIn });
  });
  mount(root, h('div', { class: 'login' },
    h('div', { class: 'login-brand' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '' }), 'Ringbase'),
    form,
    language));
  form.querySelector('input[name=login]').focus();
}
