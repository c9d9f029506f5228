// Languages and formats: a dictionary per language, and dates, times, numbers and money through
// Intl in the user's locale and time zone. Preferences are kept per user in localStorage.
// Pure module (no DOM): the dictionary test imports it in node.

import { DICTIONARIES } from './dictionaries.js';

export const LANGUAGES = { en: 'English', de: 'Deutsch', it: 'Italiano', pl: 'Polski' };

/** The locale each language formats with: European conventions (24-hour clock, day first). */
const LOCALES = { en: 'en-GB', de: 'de-DE', it: 'it-IT', pl: 'pl-PL' };

export { DICTIONARIES };

function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function browserLanguage() {
  const nav = typeof navigator !== 'undefined' ? (navigator.languages || [navigator.language]) : [];
  for (const tag of nav) {
    const lang = String(tag || '').slice(0, 2).toLowerCase();
    if (LANGUAGES[lang]) return lang;
  }
  return 'en';
}

let current = { lang: 'en', tz: browserTimeZone() };
const formatters = new Map();

function storage() {
  try {
    return typeof localStorage !== 'undefined' ? localStorage : null;
  } catch {
    return null;
  }
}

function key(userId) {
  return userId === null || userId === undefined ? 'rb.prefs.last' : `rb.prefs.${userId}`;
}

/** Loads a user's preferences (or, before sign-in, the last used ones, else the browser's). */
export function loadPrefs(userId) {
  const store = storage();
  let saved = null;
  try {
    saved = JSON.parse((store && (store.getItem(key(userId)) || store.getItem(key(null)))) || 'null');
  } catch {
    saved = null;
  }
  current = {
    lang: saved && LANGUAGES[saved.lang] ? saved.lang : browserLanguage(),
    tz: saved && validTimeZone(saved.tz) ? saved.tz : browserTimeZone(),
  };
  formatters.clear();
  return current;
}

/** Changes and stores preferences for this user (and as the sign-in page's default). */
export function setPrefs(userId, next) {
  current = {
    lang: next.lang && LANGUAGES[next.lang] ? next.lang : current.lang,
    tz: next.tz && validTimeZone(next.tz) ? next.tz : current.tz,
  };
  formatters.clear();
  const store = storage();
  if (store) {
    store.setItem(key(null), JSON.stringify(current));
    if (userId !== null && userId !== undefined) store.setItem(key(userId), JSON.stringify(current));
  }
  return current;
}

export function prefs() {
  return { ...current };
}

export function validTimeZone(tz) {
  if (!tz || typeof tz !== 'string') return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The time zones the browser knows, for the settings page. */
export function timeZones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [current.tz, 'UTC'];
  }
}

export function locale() {
  return LOCALES[current.lang] || 'en-GB';
}

/** Translates `key`, filling `{name}` placeholders; falls back to English, then to the key. */
export function t(k, params) {
  const text = (DICTIONARIES[current.lang] && DICTIONARIES[current.lang][k]) ?? DICTIONARIES.en[k] ?? k;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (params[name] !== undefined ? String(params[name]) : m));
}

function formatter(kind, options) {
  const id = `${kind}|${JSON.stringify(options)}`;
  let f = formatters.get(id);
  if (!f) {
    f = kind === 'date'
      ? new Intl.DateTimeFormat(locale(), { timeZone: current.tz, ...options })
      : new Intl.NumberFormat(locale(), options);
    formatters.set(id, f);
  }
  return f;
}

function asDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtDateTime(value) {
  const d = asDate(value);
  return d ? formatter('date', { dateStyle: 'short', timeStyle: 'short' }).format(d) : '';
}

export function fmtDate(value) {
  const d = asDate(value);
  return d ? formatter('date', { dateStyle: 'medium' }).format(d) : '';
}

export function fmtTime(value) {
  const d = asDate(value);
  return d ? formatter('date', { timeStyle: 'short' }).format(d) : '';
}

export function fmtNumber(n, options) {
  return typeof n === 'number' ? formatter('number', options || {}).format(n) : '';
}

/** Money in minor units: `{amount_minor: 1250000, currency: 'EUR'}` → `12.500,00 €` (de). */
export function fmtMoney(money) {
  if (!money || typeof money.amount_minor !== 'number') return '';
  try {
    return formatter('number', { style: 'currency', currency: money.currency }).format(money.amount_minor / 100);
  } catch {
    return `${fmtNumber(money.amount_minor / 100, { minimumFractionDigits: 2 })} ${money.currency}`;
  }
}

/** Seconds as a clock: `0:42`, `12:05`, `1:02:03`. The same in every language. */
export function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}

/** Offset of `tz` from UTC at `instant`, in milliseconds (local minus UTC). */
export function zoneOffsetMs(instant, tz) {
  const parts = {};
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  for (const p of f.formatToParts(instant)) parts[p.type] = p.value;
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/**
 * The instant a calendar day (`YYYY-MM-DD`) starts in time zone `tz`, as an ISO string — what
 * the call log's date filter sends, so "today" means the user's today, not the server's.
 */
export function dayStartUtc(day, tz = current.tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || '');
  if (!m) return null;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3]);
  let instant = guess - zoneOffsetMs(new Date(guess), tz);
  // Once more with the offset at the found instant: right across a DST change.
  instant = guess - zoneOffsetMs(new Date(instant), tz);
  return new Date(instant).toISOString();
}

/** `YYYY-MM-DD` of an instant in time zone `tz` (today by default). */
export function dayIn(instant = new Date(), tz = current.tz) {
  const parts = {};
  const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
  for (const p of f.formatToParts(instant)) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** The day after `YYYY-MM-DD`. */
export function nextDay(day) {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}
