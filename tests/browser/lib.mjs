// Shared by the browser tests: the seeded server (from the seed file the script wrote), a
// Chromium per test file with a fresh profile, sign-in, and the bridge API that rings a phone.

import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const SCREENSHOTS = join(here, '..', '..', 'docs', 'screenshots');
export const VIEWPORT = { width: 1280, height: 720 };

/** The seeded server: base URL, users, device tokens, ids. */
export function seed() {
  const file = process.env.RB_SEED;
  if (!file) throw new Error('RB_SEED is not set: run the tests through scripts/browser-tests.sh');
  return JSON.parse(readFileSync(file, 'utf8'));
}

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Debian's chromium with a fresh user-data-dir; `close()` removes the profile. */
export async function openBrowser({ viewport = VIEWPORT } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'rb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function signIn(page, base, user) {
  await page.goto(`${base}/`);
  await page.locator('input[name=login]').fill(user.login);
  await page.locator('input[name=password]').fill(user.password);
  await page.getByRole('button', { name: /sign in|anmelden|accedi|zaloguj/i }).click();
  await page.locator('header.topbar').waitFor();
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** What the mobile bridge app does when its phone rings: asks who is calling. */
export async function ring(base, deviceToken, number) {
  const response = await fetch(`${base}/api/v1/bridge/caller?number=${encodeURIComponent(number)}`, {
    headers: { Authorization: `Bearer ${deviceToken}` },
  });
  if (!response.ok) throw new Error(`bridge caller → ${response.status} ${await response.text()}`);
  return response.json();
}

/** What the bridge app does after the call: reports it. */
export async function reportBridgeCall(base, deviceToken, call) {
  const response = await fetch(`${base}/api/v1/bridge/calls`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${deviceToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(call),
  });
  if (!response.ok) throw new Error(`bridge calls → ${response.status} ${await response.text()}`);
  return response.json();
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/**
 * A desk phone registering over UDP with digest authentication (RFC 3261 §22, RFC 8760):
 * REGISTER, answer the 401 challenge (SHA-256 or MD5, whichever comes first), expect 200.
 * Resolves to the final status code. `sip` is "host:port" of `ringbase serve --sip`.
 */
export async function registerPhone(sip, { username, password, expires = 300, userAgent = 'Ringbase test phone' }) {
  const { createSocket } = await import('node:dgram');
  const { createHash, randomBytes } = await import('node:crypto');
  const [host, port] = [sip.slice(0, sip.lastIndexOf(':')), Number(sip.slice(sip.lastIndexOf(':') + 1))];
  const socket = createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const local = socket.address().port;
  const rand = () => randomBytes(6).toString('hex');
  const callId = `${rand()}@127.0.0.1`;
  const tag = rand();
  const responses = [];
  let wake = null;
  socket.on('message', (m) => { responses.push(m.toString('utf8')); if (wake) wake(); });
  const next = async (timeoutMs = 3000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const final = responses.shift();
      if (final && !/^SIP\/2\.0 1\d\d/.test(final)) return final;
      if (Date.now() > deadline) throw new Error('no answer from the registrar');
      await new Promise((r) => { wake = r; setTimeout(r, 100); });
    }
  };
  const send = (cseq, authorization) => {
    const lines = [
      `REGISTER sip:${host}:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${rand()};rport`,
      `From: <sip:${username}@${host}>;tag=${tag}`,
      `To: <sip:${username}@${host}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:${username}@127.0.0.1:${local}>`,
      authorization ? `Authorization: ${authorization}` : null,
      `Expires: ${expires}`,
      'Max-Forwards: 70',
      `User-Agent: ${userAgent}`,
      'Content-Length: 0',
      '', '',
    ].filter((l) => l !== null);
    socket.send(Buffer.from(lines.join('\r\n')), port, host);
  };
  try {
    send(1);
    const challenge = await next();
    if (!/^SIP\/2\.0 401/.test(challenge)) return Number(challenge.slice(8, 11));
    const header = challenge.split('\r\n').find((l) => /^WWW-Authenticate:/i.test(l));
    const param = (name) => (header.match(new RegExp(`${name}="?([^",]+)"?`, 'i')) || [])[1];
    const algorithm = param('algorithm') || 'MD5';
    const hashName = algorithm.toUpperCase().startsWith('SHA-256') ? 'sha256' : 'md5';
    const hash = (text) => createHash(hashName).update(text).digest('hex');
    const realm = param('realm');
    const nonce = param('nonce');
    const uri = `sip:${host}:${port}`;
    const qop = /qop="?auth/.test(header) ? 'auth' : null;
    const cnonce = rand();
    const ha1 = hash(`${username}:${realm}:${password}`);
    const ha2 = hash(`REGISTER:${uri}`);
    const response = qop ? hash(`${ha1}:${nonce}:00000001:${cnonce}:${qop}:${ha2}`) : hash(`${ha1}:${nonce}:${ha2}`);
    const opaque = param('opaque');
    send(2, `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}`
      + (qop ? `, qop=${qop}, nc=00000001, cnonce="${cnonce}"` : '') + (opaque ? `, opaque="${opaque}"` : ''));
    const final = await next();
    return Number(final.slice(8, 11));
  } finally {
    socket.close();
  }
}
