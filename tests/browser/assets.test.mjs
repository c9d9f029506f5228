// Checks of the app's files that need no browser: every module parses, every word the app
// asks for is in every language with the same placeholders, and the formats are right.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';

const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'crates', 'web', 'assets');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const modules = walk(ASSETS).filter((p) => p.endsWith('.js'));
const i18n = await import(pathToFileURL(join(ASSETS, 'i18n.js')).href);
const { DICTIONARIES } = i18n;

test('every module parses as an ES module', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-check-'));
  try {
    for (const file of modules) {
      const copy = join(dir, 'm.mjs');
      writeFileSync(copy, readFileSync(file));
      const run = spawnSync(process.execPath, ['--check', copy], { encoding: 'utf8' });
      assert.equal(run.status, 0, `${relative(ASSETS, file)}:\n${run.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the whole app stays small enough for a slow laptop', () => {
  const bytes = walk(ASSETS).reduce((sum, p) => sum + statSync(p).size, 0);
  // Uncompressed; a regression guard, not a target. Today's size is printed for BENCHMARKS.md.
  console.log(`web assets: ${(bytes / 1024).toFixed(1)} KiB in ${walk(ASSETS).length} files`);
  assert.ok(bytes < 300 * 1024, `assets are ${bytes} bytes`);
});

/** Keys the code asks for literally, and the families it builds (`status.${x}`). */
function keysInCode() {
  const literal = new Set();
  const families = new Set();
  for (const file of modules) {
    if (file.endsWith('dictionaries.js')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bt\('([a-z_.]+)'/g)) literal.add(m[1]);
    for (const m of text.matchAll(/\bt\(`([a-z_.]+)\$\{/g)) families.add(m[1]);
  }
  return { literal, families };
}

test('every key the code uses is in English, and every family has members', () => {
  const { literal, families } = keysInCode();
  assert.ok(literal.size > 100, `found ${literal.size} keys`);
  for (const key of literal) assert.ok(key in DICTIONARIES.en, `missing English text for ${key}`);
  for (const prefix of families) {
    assert.ok(Object.keys(DICTIONARIES.en).some((k) => k.startsWith(prefix)), `no English texts for ${prefix}*`);
  }
  // The values the families are built from (enums of the API) all have a text.
  const values = {
    'status.': ['answered', 'missed', 'busy', 'failed', 'voicemail'],
    'direction.': ['incoming', 'outgoing', 'callback'],
    'stage.': ['open', 'won', 'lost'],
    'state.': ['working', 'paused', 'off_shift'],
    'role.': ['agent', 'supervisor', 'admin'],
    'lead_status.': ['new', 'in_progress', 'converted', 'junk'],
    'lead_rule.': ['all', 'incoming', 'outgoing', 'none'],
    'line_origin.': ['manual', 'seen_on_call'],
    'delivery.': ['pending', 'delivered', 'failed'],
    'live.': ['connecting', 'live', 'off'],
    'mask.': ['none', 'full', 'first'],
    'timeline.kind.': ['call', 'note', 'lead_created'],
  };
  for (const [prefix, list] of Object.entries(values)) {
    for (const v of list) assert.ok(`${prefix}${v}` in DICTIONARIES.en, `missing ${prefix}${v}`);
  }
});

test('German, Italian and Polish have every English key, with the same placeholders', () => {
  const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  for (const lang of ['de', 'it', 'pl']) {
    const dict = DICTIONARIES[lang];
    for (const [key, english] of Object.entries(DICTIONARIES.en)) {
      assert.ok(typeof dict[key] === 'string' && dict[key].trim() !== '', `${lang} lacks ${key}`);
      assert.equal(placeholders(dict[key]), placeholders(english), `${lang} ${key} placeholders`);
    }
    for (const key of Object.keys(dict)) assert.ok(key in DICTIONARIES.en, `${lang} has unknown key ${key}`);
  }
});

test('translation falls back to English and fills placeholders', () => {
  i18n.setPrefs(null, { lang: 'de', tz: 'Europe/Berlin' });
  assert.equal(i18n.t('nav.calls'), 'Anrufliste');
  assert.equal(i18n.t('calls.page', { n: 3 }), 'Seite 3');
  assert.equal(i18n.t('no.such.key'), 'no.such.key');
  i18n.setPrefs(null, { lang: 'xx' });
  assert.equal(i18n.prefs().lang, 'de', 'an unknown language is ignored');
});

test('dates, numbers and money follow the locale and the time zone', () => {
  const instant = '2026-03-29T00:30:00Z'; // 01:30 in Berlin, 09:30 in Tokyo
  i18n.setPrefs(null, { lang: 'de', tz: 'Europe/Berlin' });
  assert.match(i18n.fmtDateTime(instant), /^29\.03\.26,? 01:30$/);
  assert.equal(i18n.fmtMoney({ amount_minor: 1250000, currency: 'EUR' }).replace(/\s/g, ' '), '12.500,00 €');
  i18n.setPrefs(null, { lang: 'en', tz: 'Asia/Tokyo' });
  assert.match(i18n.fmtDateTime(instant), /^29\/03\/2026,? 09:30$/);
  i18n.setPrefs(null, { lang: 'pl', tz: 'Europe/Warsaw' });
  assert.equal(i18n.fmtNumber(12345.5).replace(/\s/g, ' '), '12 345,5');
  i18n.setPrefs(null, { lang: 'it', tz: 'Europe/Rome' });
  assert.equal(i18n.fmtNumber(12345.5), '12.345,5');
});

test('call durations read as clocks', () => {
  assert.equal(i18n.fmtDuration(0), '0:00');
  assert.equal(i18n.fmtDuration(42), '0:42');
  assert.equal(i18n.fmtDuration(725), '12:05');
  assert.equal(i18n.fmtDuration(3723), '1:02:03');
  assert.equal(i18n.fmtDuration(-5), '0:00');
  assert.equal(i18n.fmtDuration('x'), '0:00');
});

test('a day starts at local midnight in the chosen time zone, across DST changes', () => {
  // Berlin: CET (+1) before 29 March 2026, CEST (+2) from that day's 02:00.
  assert.equal(i18n.dayStartUtc('2026-03-28', 'Europe/Berlin'), '2026-03-27T23:00:00.000Z');
  assert.equal(i18n.dayStartUtc('2026-03-29', 'Europe/Berlin'), '2026-03-28T23:00:00.000Z');
  assert.equal(i18n.dayStartUtc('2026-03-30', 'Europe/Berlin'), '2026-03-29T22:00:00.000Z');
  assert.equal(i18n.dayStartUtc('2026-07-01', 'America/New_York'), '2026-07-01T04:00:00.000Z');
  assert.equal(i18n.dayStartUtc('2026-07-01', 'UTC'), '2026-07-01T00:00:00.000Z');
  assert.equal(i18n.dayStartUtc('not a day', 'UTC'), null);
  assert.equal(i18n.dayIn(new Date('2026-03-28T23:30:00Z'), 'Europe/Berlin'), '2026-03-29');
  assert.equal(i18n.nextDay('2026-02-28'), '2026-03-01');
  assert.equal(i18n.nextDay('2026-12-31'), '2027-01-01');
});

test('zip archives of recordings: CRC-32 and a layout other tools read', async () => {
  const { crc32, zip } = await import(pathToFileURL(join(ASSETS, 'zip.js')).href);
  const enc = new TextEncoder();
  assert.equal(crc32(enc.encode('123456789')), 0xcbf43926, 'the standard check value');
  assert.equal(crc32(new Uint8Array(0)), 0);

  const files = [
    { name: 'call-1-2026-11-20_1000.wav', bytes: enc.encode('RIFF first recording'), date: new Date(2026, 10, 20, 10, 0, 4) },
    { name: 'Anruf-ü-2.mp3', bytes: new Uint8Array(70_000).map((_, i) => i % 251), date: new Date(2026, 10, 21, 9, 30, 0) },
  ];
  const bytes = zip(files);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End of central directory: two entries, the directory right after the data.
  const end = bytes.length - 22;
  assert.equal(view.getUint32(end, true), 0x06054b50);
  assert.equal(view.getUint16(end + 10, true), 2);
  let at = view.getUint32(end + 16, true);
  for (const file of files) {
    assert.equal(view.getUint32(at, true), 0x02014b50);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const local = view.getUint32(at + 42, true);
    assert.equal(new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength)), file.name);
    assert.equal(size, file.bytes.length);
    assert.equal(view.getUint32(at + 16, true), crc32(file.bytes));
    const data = local + 30 + view.getUint16(local + 26, true);
    assert.deepEqual(bytes.subarray(data, data + size), file.bytes);
    at += 46 + nameLength;
  }

  // An independent reader (Python's zipfile) checks every CRC, when Python is there.
  const python = spawnSync('python3', ['--version']);
  if (python.status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'rb-zip-'));
    try {
      const path = join(dir, 'r.zip');
      writeFileSync(path, bytes);
      const run = spawnSync('python3', ['-c',
        'import sys, zipfile, json; z = zipfile.ZipFile(sys.argv[1]); print(json.dumps([z.testzip(), [(i.filename, i.file_size, list(i.date_time)) for i in z.infolist()]]))', path],
      { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const [bad, entries] = JSON.parse(run.stdout);
      assert.equal(bad, null, 'every CRC checks');
      assert.deepEqual(entries, [
        ['call-1-2026-11-20_1000.wav', files[0].bytes.length, [2026, 11, 20, 10, 0, 4]],
        ['Anruf-ü-2.mp3', 70_000, [2026, 11, 21, 9, 30, 0]],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
