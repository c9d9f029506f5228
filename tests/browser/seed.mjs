// Seeds a fresh Ringbase for the browser tests through its public API, using an admin API key,
// and writes what the tests need (logins, device tokens, ids) to a JSON file.
//
// Usage: node seed.mjs <base-url> <admin-api-key> <out.json>

import { writeFileSync } from 'node:fs';

const [base, key, out] = process.argv.slice(2);
if (!base || !key || !out) {
  console.error('usage: node seed.mjs <base-url> <admin-api-key> <out.json>');
  process.exit(2);
}

async function call(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const PASSWORD = 'browser-test-pass';
const users = {};
for (const [login, name, role, extension] of [
  ['admin', 'Ada Admin', 'admin', '100'],
  ['sue', 'Sue Supervisor', 'supervisor', '110'],
  ['anna', 'Anna Meier', 'agent', '101'],
  ['bert', 'Bert Bench', 'agent', '102'],
]) {
  const user = await call('POST', '/api/v1/users', { name, login, role, extension, password: PASSWORD });
  users[login] = { id: user.id, login, password: PASSWORD, name };
}

const devices = {};
for (const login of ['anna', 'bert']) {
  const { token } = await call('POST', '/api/v1/devices', { name: `${users[login].name}'s phone`, user_id: users[login].id });
  devices[login] = token;
}

const google = await call('POST', '/api/v1/sources', { name: 'Google Ads' });
const instagram = await call('POST', '/api/v1/sources', { name: 'Instagram' });
const lines = {
  google: await call('POST', '/api/v1/lines', { number: '+49 89 998877', name: 'Google Ads DE', source_id: google.id, lead_rule: 'all' }),
  instagram: await call('POST', '/api/v1/lines', { number: '+49 89 998866', name: 'Instagram DE', source_id: instagram.id, lead_rule: 'incoming' }),
};

const jan = await call('POST', '/api/v1/contacts', {
  name: 'Jan Kowalski', company: 'Acme GmbH', phones: ['+49 30 1234567'], emails: ['jan@acme.example'], responsible_id: users.anna.id,
});
const deal = await call('POST', '/api/v1/deals', { title: 'Fleet renewal', contact_id: jan.id, amount: 1250000, currency: 'EUR', responsible_id: users.anna.id });
const maria = await call('POST', '/api/v1/contacts', {
  name: 'Maria Rossi', company: 'Rossi Srl', phones: ['+39 02 1234 5678'], responsible_id: users.sue.id,
});

// Finished calls for the call log: different days, directions, statuses and lines.
const day = (daysAgo, hour) => {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() - daysAgo);
  d.setUTCHours(hour, 0, 0, 0);
  return d;
};
const iso = (d, plusSeconds = 0) => new Date(d.getTime() + plusSeconds * 1000).toISOString();
const history = [
  { remote: '+49 30 1234567', direction: 'incoming', status: 'answered', at: day(1, 9), talk: 185, line: '+49 89 998877', agent: 'anna' },
  { remote: '+49 30 1234567', direction: 'outgoing', status: 'answered', at: day(2, 10), talk: 64, agent: 'anna' },
  { remote: '+49 151 2223334', direction: 'incoming', status: 'missed', at: day(1, 11), talk: 0, line: '+49 89 998866', agent: 'anna' },
  { remote: '+39 02 1234 5678', direction: 'incoming', status: 'answered', at: day(3, 14), talk: 422, line: '+49 89 998877', agent: 'sue' },
  { remote: '+49 171 9998887', direction: 'incoming', status: 'missed', at: day(4, 16), talk: 0, line: '+49 89 998877', agent: 'anna' },
  { remote: '+49 40 7778889', direction: 'callback', status: 'answered', at: day(5, 8), talk: 95, agent: 'anna' },
];
let n = 0;
for (const h of history) {
  n += 1;
  const answered = h.status === 'answered';
  await call('POST', '/api/v1/calls', {
    direction: h.direction,
    remote: h.remote,
    line: h.line,
    agent_id: users[h.agent].id,
    started_at: iso(h.at),
    answered_at: answered ? iso(h.at, 8) : undefined,
    ended_at: iso(h.at, 8 + h.talk),
    status: h.status,
    rating: answered && n % 2 === 0 ? 4 : undefined,
    idempotency_key: `seed-${n}`,
  });
}

// Contacts for the ringing benchmark: one known caller per call.
const bench = [];
for (let i = 0; i < 60; i += 1) {
  const number = `+49 40 555${String(1000 + i)}`;
  const c = await call('POST', '/api/v1/contacts', { name: `Bench Caller ${i + 1}`, phones: [number], responsible_id: users.bert.id });
  bench.push({ id: c.id, number, e164: c.phones[0].e164, name: c.name });
}

writeFileSync(out, JSON.stringify({
  base, users, devices,
  sources: { google: google.id, instagram: instagram.id },
  lines: { google: lines.google.id, instagram: lines.instagram.id },
  contacts: { jan: { id: jan.id, e164: jan.phones[0].e164, name: jan.name, deal: deal.id }, maria: { id: maria.id, name: maria.name } },
  bench,
}, null, 2));
console.log(`seeded ${base}: ${Object.keys(users).length} users, ${history.length} calls, ${bench.length + 2} contacts`);
