// The figure for BENCHMARKS.md ("Web app", from a SIP INVITE): the time from a trunk's INVITE
// being read by Ringbase's SIP server to the caller card painted on the agent's screen, at 100
// calls per second for 10 seconds over ten agents' SIP phones. Run by scripts/bench-web-sip.sh,
// which starts `ringbase serve --sip` with a trunk that allows 127.0.0.1.
//
// - Ten agents (Bert from the seed and nine made here) get SIP passwords and register from one
//   SIPp port, where tests/sipp/calls/uas-answer.xml then answers every INVITE (180, 200).
// - Routing: one line, one queue ("evenly") with the ten agents, so Bert gets about every tenth.
// - A SIPp trunk (tests/sipp/calls/bench-uac.xml) places the calls, each from its own number.
// - Bert is signed in in Chromium. The page keeps, per caller, `invite_received_at_us` from the
//   `call.ringing` event (stamped by sip-net when the datagram was read) and the time the frame
//   after the card entered the page was painted (two requestAnimationFrames); both wall clock on
//   one machine. Each card is closed once painted, as an agent would deal with it.
// Prints the figures and writes them to tests/browser/out/bench-sip.json.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBrowser, signIn, seed, percentile } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SIPP = join(here, '..', 'sipp');
const OUT = join(here, 'out');
const s = seed();
const results = {};
const work = mkdtempSync(join(tmpdir(), 'rb-bench-sip-'));
const children = [];

after(() => {
  for (const child of children) if (child.exitCode === null) child.kill();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'bench-sip.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`BENCH ${JSON.stringify(results)}`);
});

const round = (x) => Math.round(x * 10) / 10;
const LINE = '+493012345678';
const SIP = process.env.RB_SIP;
const TRUNK_PORT = process.env.RB_TRUNK_PORT;
const PHONES_PORT = process.env.RB_PHONES_PORT;
const MEDIA_PORTS = (process.env.RB_MEDIA_PORTS || '').split(',');

function sippArgs(scenario, port, media, extra) {
  return ['-sf', join(SIPP, scenario), '-i', '127.0.0.1', '-p', String(port), '-mp', String(media), '-nostdin', ...extra];
}

test('INVITE to card on screen at 100 calls per second over ten agents', { timeout: 180000 }, async () => {
  assert.ok(SIP && TRUNK_PORT && PHONES_PORT && MEDIA_PORTS.length === 2, 'run through scripts/bench-web-sip.sh');
  const login = await fetch(`${s.base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: s.users.admin.login, password: s.users.admin.password }),
  });
  const admin = (await login.json()).token;
  const send = async (method, path, body) => {
    const r = await fetch(`${s.base}${path}`, {
      method, headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${path} → ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };

  // Ten agents with SIP passwords, one line, one queue.
  const agents = [{ id: s.users.bert.id, name: s.users.bert.name, login: s.users.bert.login }];
  for (let i = 1; i <= 9; i += 1) {
    const user = await send('POST', '/api/v1/users', { name: `SIP Agent ${i}`, login: `sip${i}`, role: 'agent', extension: String(400 + i) });
    agents.push({ id: user.id, name: user.name, login: user.login });
  }
  for (const a of agents) await send('PUT', `/api/v1/users/${a.id}/sip-password`, { password: 'bench-secret-1' });
  await send('PUT', '/api/v1/settings/routing', {
    agents: agents.map((a) => ({ id: a.id, name: a.name })),
    lines: [{ number: LINE, name: 'Bench', queue: 'all' }],
    queues: [{ name: 'all', strategy: 'evenly', members: agents.map((a) => a.id) }],
  });

  // The phones register from one SIPp port, which then answers every call.
  writeFileSync(join(work, 'agents.csv'), `SEQUENTIAL\n${agents.map((a) => `${a.login};[authentication username=${a.login} password=bench-secret-1];3600`).join('\n')}\n`);
  const reg = spawnSync('sipp', [SIP, ...sippArgs('register.xml', PHONES_PORT, MEDIA_PORTS[0],
    ['-inf', join(work, 'agents.csv'), '-m', String(agents.length), '-r', '50', '-timeout', '30s', '-timeout_error'])], { cwd: work, encoding: 'utf8' });
  assert.equal(reg.status, 0, `registration: ${reg.stdout}${reg.stderr}`);
  const registrations = await (await fetch(`${s.base}/api/v1/registrations`, { headers: { Authorization: `Bearer ${admin}` } })).json();
  assert.equal(registrations.items.length, agents.length);
  const uas = spawn('sipp', sippArgs('calls/uas-answer.xml', PHONES_PORT, MEDIA_PORTS[0], []), { cwd: work, stdio: 'ignore' });
  children.push(uas);

  const b = await openBrowser();
  try {
    const { page } = b;
    await signIn(page, s.base, s.users.bert);
    await page.locator('.live-dot.live').waitFor();
    // The app's own event stream (the same module instance the app uses): the INVITE's time per
    // caller, and when the event reached the page.
    await page.evaluate(async () => {
      window.__invite = {};
      window.__event = {};
      window.__painted = {};
      const app = document.querySelector('script[type=module]').src;
      const live = await import(app.replace(/app\.js$/, 'live.js'));
      live.onEvent((e) => {
        if (e.kind !== 'call.ringing' || !e.data.card || !e.data.invite_received_at_us) return;
        const n = e.data.card.number;
        if (n in window.__invite) return;
        window.__invite[n] = e.data.invite_received_at_us / 1000;
        window.__event[n] = performance.timeOrigin + performance.now();
      });
      const box = document.getElementById('callpop');
      const obs = new MutationObserver(() => {
        const fresh = [];
        for (const pop of box.querySelectorAll('[data-testid=callpop]')) {
          const n = pop.dataset.number;
          if (!(n in window.__painted)) { window.__painted[n] = null; fresh.push(pop); }
          // Later pops for a caller already seen (the after-call form): the agent closes them.
          else if (window.__painted[n] !== null) pop.querySelector('.pop-head button.icon').click();
        }
        if (fresh.length) {
          requestAnimationFrame(() => requestAnimationFrame(() => {
            const at = performance.timeOrigin + performance.now();
            for (const pop of fresh) {
              window.__painted[pop.dataset.number] = at;
              pop.querySelector('.pop-head button.icon').click();
            }
          }));
        }
      });
      obs.observe(box, { childList: true, subtree: true, attributes: true });
    });
    // The SIP service picks up the routing settings within a second.
    await new Promise((r) => setTimeout(r, 1500));

    const rate = 100;
    const seconds = 10;
    const total = rate * seconds;
    const callers = Array.from({ length: total }, (_, i) => `+4940888${1000 + i}`);
    writeFileSync(join(work, 'calls.csv'), `SEQUENTIAL\n${callers.map((c) => `${LINE};${c}`).join('\n')}\n`);
    const started = Date.now();
    const uac = spawnSync('sipp', [SIP, ...sippArgs('calls/bench-uac.xml', TRUNK_PORT, MEDIA_PORTS[1],
      ['-inf', join(work, 'calls.csv'), '-r', String(rate), '-m', String(total), '-timeout', '60s',
        '-trace_stat', '-stf', join(work, 'stat.csv'), '-fd', '1'])], { cwd: work, encoding: 'utf8' });
    const sendSeconds = (Date.now() - started) / 1000;
    const stat = readFileSync(join(work, 'stat.csv'), 'utf8').trim().split('\n').map((l) => l.split(';'));
    const col = (name) => Number(stat[stat.length - 1][stat[0].indexOf(name)]);
    const sipp = { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), retransmissions: col('Retransmissions(C)') };

    // Every ringing event Bert got must end as a painted card.
    await page.waitForFunction(() => {
      const numbers = Object.keys(window.__invite);
      return numbers.length > 0 && numbers.every((n) => typeof window.__painted[n] === 'number');
    }, null, { timeout: 30000 });
    const { invite, event, painted } = await page.evaluate(() => ({ invite: window.__invite, event: window.__event, painted: window.__painted }));
    const numbers = Object.keys(invite);
    const lat = numbers.map((n) => painted[n] - invite[n]).sort((x, y) => x - y);
    const toPage = numbers.map((n) => event[n] - invite[n]).sort((x, y) => x - y);
    results.invite_to_card_100_per_s = {
      calls: total,
      agents: agents.length,
      sipp,
      send_seconds: round(sendSeconds),
      measured_calls: lat.length,
      p50_ms: round(percentile(lat, 50)),
      p99_ms: round(percentile(lat, 99)),
      max_ms: round(lat[lat.length - 1]),
      event_in_page_p50_ms: round(percentile(toPage, 50)),
      event_in_page_p99_ms: round(percentile(toPage, 99)),
    };
    console.log('INVITE → card (100 calls/s for 10 s, 10 SIP agents)', JSON.stringify(results.invite_to_card_100_per_s));
    assert.equal(uac.status, 0, `SIPp trunk: ${uac.stdout.slice(-2000)}${uac.stderr}`);
    assert.equal(sipp.successful, total, JSON.stringify(sipp));
    assert.ok(lat.length >= total / agents.length / 2, `Bert got ${lat.length} calls`);
    assert.ok(lat[0] >= 0, 'clocks agree');
    assert.deepEqual(b.errors.map(String), []);
  } finally {
    await b.close();
  }
});
