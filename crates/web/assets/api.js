// The HTTP API as the app uses it: JSON in and out, errors as ApiError with the field at fault.
// The session is the HttpOnly `rb_session` cookie the sign-in sets; the app never sees a token.

import { t } from './i18n.js';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

let unauthorized = () => {};

/** Called when a request answers 401: the session ended (expired, signed out elsewhere). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/** `?a=1&b=x`, leaving out empty values. */
export function qs(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export async function request(method, path, { query, body, raw, signal } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', signal };
  if (raw !== undefined) {
    // A file sent as it is (a prompt's WAV), typed by the caller.
    init.headers['Content-Type'] = raw.type;
    init.body = raw.data;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path + qs(query), init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', t('error.network'));
  }
  if (response.status === 204) return null;
  let data = null;
  const type = response.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try { data = await response.json(); } catch { data = null; }
  }
  if (!response.ok) {
    const err = data && data.error;
    if (response.status === 401 && path !== '/api/v1/auth/login') unauthorized();
    throw new ApiError(response.status, err ? err.code : 'http',
      err ? err.message : t('error.http', { status: response.status }), err && err.field);
  }
  return data;
}

export const api = {
  get: (path, query, opts) => request('GET', path, { ...opts, query }),
  post: (path, body) => request('POST', path, { body }),
  patch: (path, body) => request('PATCH', path, { body }),
  put: (path, body) => request('PUT', path, { body }),
  del: (path) => request('DELETE', path),
  /** PUT of a file as the raw body (`type`: its media type). */
  upload: (path, type, data) => request('PUT', path, { raw: { type, data } }),
};

// Small caches for names the lists show next to ids (users, sources, lines, companies): they
// change rarely and one request serves a whole page of rows.
const cached = new Map();

export function cachedGet(path, ttlMs = 60000) {
  const hit = cached.get(path);
  if (hit && Date.now() - hit.at < ttlMs) return hit.promise;
  const promise = api.get(path).catch((e) => { cached.delete(path); throw e; });
  cached.set(path, { at: Date.now(), promise });
  return promise;
}

export function forget(prefix) {
  for (const key of [...cached.keys()]) if (key.startsWith(prefix)) cached.delete(key);
}

/** id → item for list endpoints that answer `{items}` (users, sources, lines). */
export async function byId(path) {
  try {
    const { items } = await cachedGet(path);
    return new Map(items.map((item) => [item.id, item]));
  } catch (e) {
    // Lists an agent may not read (devices, webhooks) leave names out instead of failing a page.
    if (e.status === 403) return new Map();
    throw e;
  }
}

/** The display name of a contact, company or lead by id ('' when it cannot be read). */
export async function nameOf(kind, id) {
  if (id === null || id === undefined) return '';
  try {
    const item = await cachedGet(`/api/v1/${kind}/${id}`, 300000);
    return item.name || item.title || '';
  } catch {
    return '';
  }
}
