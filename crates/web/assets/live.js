// The live event stream (`GET /api/v1/events`, Server-Sent Events). EventSource reconnects by
// itself after network trouble; when the server refuses (signed out) it stops, and so do we.

const KINDS = ['call.started', 'call.ringing', 'call.answered', 'call.ended', 'lead.created', 'lagged'];

const listeners = new Set();
const statusListeners = new Set();
let source = null;
let status = 'off';

function setStatus(next) {
  status = next;
  for (const fn of statusListeners) fn(next);
}

/** Subscribes to every event: `fn({kind, id, at, data})`. Returns the unsubscribe function. */
export function onEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** 'connecting' | 'live' | 'off'. */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}

export function connect() {
  if (source) return;
  setStatus('connecting');
  source = new EventSource('/api/v1/events');
  source.onopen = () => setStatus('live');
  source.onerror = () => {
    if (source && source.readyState === EventSource.CLOSED) {
      // Refused (401/403) or the server went away for good: try again a little later; a
      // signed-out app calls disconnect() first.
      source = null;
      setStatus('off');
      setTimeout(() => { if (wanted) connect(); }, 3000);
    } else {
      setStatus('connecting');
    }
  };
  for (const kind of KINDS) {
    source.addEventListener(kind, (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      // The server sends the whole event; `lagged` has only `{}` and means "refresh".
      const normalized = { kind, id: event.id, at: event.at, data: event.data || {} };
      for (const fn of listeners) fn(normalized);
    });
  }
}

let wanted = false;

export function start() {
  wanted = true;
  connect();
}

export function disconnect() {
  wanted = false;
  if (source) source.close();
  source = null;
  setStatus('off');
}
