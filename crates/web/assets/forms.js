// Forms that say what is wrong next to the field: the browser's own checks for what it can
// know (required, e-mail), the API's `{"error": {"field", "message"}}` for everything else.

import { h } from './dom.js';
import { ApiError } from './api.js';
import { t } from './i18n.js';

/** A labelled input with a place for its error. `name` is the API's field name. */
export function field(label, input, hint) {
  const name = input.getAttribute('name');
  const id = `f-${name}-${Math.random().toString(36).slice(2, 8)}`;
  input.id = id;
  const error = h('span', { class: 'field-error', id: `${id}-err`, role: 'alert' });
  input.setAttribute('aria-describedby', `${id}-err`);
  return h('div', { class: 'field', dataset: { field: name } },
    h('label', { for: id }, label),
    input,
    hint ? h('small', { class: 'hint' }, hint) : null,
    error);
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error, .form-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/**
 * Shows an error at its field. The API names fields as paths (`phones[1]`, `amount.currency`);
 * `fieldMap` renames them when the form's names differ (the contact's `name` in a form that
 * also has a note). Without a matching field the message goes to the form's general slot.
 */
export function showError(form, err, fieldMap = {}) {
  const message = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  // serde cannot always say where a value sits (`?`): then the message stands for the form.
  const apiField = err && err.field && err.field !== '?' ? err.field : null;
  const candidates = [];
  if (apiField) {
    candidates.push(fieldMap[apiField] || apiField);
    const base = apiField.replace(/\[\d+\].*$/, '').replace(/\..*$/, '');
    candidates.push(fieldMap[base] || base);
  }
  for (const name of candidates) {
    const box = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
    if (box) {
      box.querySelector('.field-error').textContent = message;
      const input = box.querySelector('input, select, textarea');
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
      return;
    }
  }
  let general = form.querySelector('.form-error');
  if (!general) {
    general = h('p', { class: 'form-error', role: 'alert' });
    form.append(general);
  }
  general.textContent = apiField ? `${apiField}: ${message}` : message;
}

/** Client-side checks the browser can make before a request: required fields. */
function checkRequired(form) {
  for (const input of form.querySelectorAll('[required]')) {
    if (input.disabled || String(input.value).trim() !== '') continue;
    showError(form, new ApiError(0, 'required', t('form.required'), input.name));
    return false;
  }
  return true;
}

/**
 * Runs `action` for a submitted form: checks, disables the submit button meanwhile, and shows
 * any error at its field. Resolves to the action's result, or `undefined` when it failed.
 */
export async function submitting(form, action, fieldMap) {
  clearErrors(form);
  if (!checkRequired(form)) return undefined;
  const buttons = [...form.querySelectorAll('button[type=submit]')];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    return await action();
  } catch (e) {
    showError(form, e, fieldMap);
    return undefined;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

/** Trimmed text of a named control, or `null` when empty. */
export function valueOf(form, name) {
  const el = form.elements.namedItem(name);
  if (!el) return null;
  const text = String(el.value).trim();
  return text === '' ? null : text;
}

/** A comma/newline separated list from a text control (phones, e-mails). */
export function listOf(form, name) {
  const text = valueOf(form, name);
  return text ? text.split(/[,;\n]+/).map((s) => s.trim()).filter(Boolean) : [];
}
