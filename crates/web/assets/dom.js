// Building the page without innerHTML: every value from the API becomes a text node, so a
// contact named "<img onerror=...>" is shown as written and never run.

/**
 * h('button', {class: 'primary', onclick: save, disabled: true}, 'Save')
 * Attributes: `class`, `on<event>` handlers, `dataset` (object), `value`/`checked`/`disabled`
 * and other properties that must be set as properties, everything else as attributes.
 * Children: nodes, strings, numbers; null/undefined/false are skipped; arrays are flattened.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value);
      } else if (key === 'class') {
        el.className = value;
      } else if (key === 'dataset') {
        Object.assign(el.dataset, value);
      } else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'indeterminate') {
        el[key] = value;
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's content. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * A number to click and call. A plain click asks the shell (event `rb:dial`) to have Ringbase
 * ring the agent's desk phone and then dial the customer (POST /api/v1/calls/originate); the
 * `tel:` address stays for "open with" and for a modified click, which the browser handles.
 */
export function phoneLink(number, display) {
  const shown = display || number || '';
  // Masked numbers (`****23456`) cannot be dialed.
  if (!number || number.includes('*')) return h('span', { class: 'phone' }, shown);
  const dial = (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    window.dispatchEvent(new CustomEvent('rb:dial', { detail: number }));
  };
  return h('a', { class: 'phone', href: `tel:${number}`, title: number, onclick: dial }, shown);
}

/** A select with options [[value, label], ...]. */
export function select(attrs, options, selected) {
  return h('select', attrs, options.map(([value, label]) =>
    h('option', { value, selected: String(value) === String(selected ?? '') }, label)));
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A short-lived message at the bottom of the screen. */
export function toast(message, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', role: 'status' });
    document.body.append(box);
  }
  const item = h('div', { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), 4000);
}

/**
 * Hides the phone numbers written inside a text (a lead titled "Missed call from +4917…") the
 * way `sample`, a number the API masked for this user, is hidden: the API masks number fields,
 * and a masked role must not read the number in a title either.
 */
export function maskLike(text, sample) {
  if (!text || !sample || !String(sample).includes('*')) return text;
  const s = String(sample);
  const hidden = (s.match(/^\*+/) || [''])[0].length || s.length;
  return String(text).replace(/\+?\d[\d\s().\/-]{4,}\d/g, (run) => '*'.repeat(Math.min(hidden, run.length)) + run.slice(hidden));
}
