// Analytics for a period: per manager (incoming/outgoing, answered/missed, talk time, deals won
// per call), per queue (service level, abandoned, average wait) and per source (calls, leads,
// deals, revenue). One request (`GET /api/v1/analytics`), bar charts drawn as SVG, CSV export.

import { api, byId } from '../api.js';
import { h, mount } from '../dom.js';
import { t, fmtDuration, fmtNumber, fmtMoney, dayIn, dayStartUtc, nextDay } from '../i18n.js';
import { navigate } from '../app.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

/**
 * Horizontal bars: one row per item, one bar per series, scaled to the largest value.
 * `series`: [{key, label, cls}], `rows`: [{label, values: {key: number}}].
 */
export function barChart(title, series, rows, format = (v) => fmtNumber(v)) {
  const rowH = 16 * series.length + 10;
  const labelW = 150;
  const width = 560;
  const barMax = width - labelW - 70;
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => r.values[s.key] || 0)));
  const height = Math.max(rowH * rows.length, 20) + 24;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title },
    rows.map((r, i) => {
      const y0 = i * rowH;
      return svg('g', null,
        svg('text', { x: 0, y: y0 + rowH / 2 + 4, class: 'chart-label' }, r.label),
        series.map((s, j) => {
          const v = r.values[s.key] || 0;
          const w = Math.max(v > 0 ? 2 : 0, Math.round((v / max) * barMax));
          const y = y0 + 4 + j * 16;
          return svg('g', { 'data-series': s.key, 'data-value': v },
            svg('rect', { x: labelW, y, width: w, height: 12, rx: 2, class: `bar ${s.cls}` }, svg('title', null, `${s.label}: ${format(v)}`)),
            svg('text', { x: labelW + w + 4, y: y + 10, class: 'chart-value' }, format(v)));
        }));
    }),
    svg('g', { transform: `translate(${labelW}, ${height - 10})` }, series.map((s, j) => svg('g', { transform: `translate(${j * 130}, 0)` },
      svg('rect', { x: 0, y: -9, width: 10, height: 10, class: `bar ${s.cls}` }),
      svg('text', { x: 14, y: 0, class: 'chart-label' }, s.label)))));
  return h('figure', { class: 'panel chart-box' }, h('figcaption', null, h('h2', null, title)), chart);
}

function csvCell(v) {
  const text = v === null || v === undefined ? '' : String(v);
  return /[",\n;]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows) {
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function revenueText(list) {
  return list.length ? list.map((m) => fmtMoney(m)).join(' + ') : '—';
}

export async function render(root, { query }) {
  document.title = `${t('nav.analytics')} · Ringbase`;
  const today = dayIn();
  const from = query.from || dayIn(new Date(Date.now() - 29 * 86400000));
  const until = query.until || today;
  const sl = query.sl || '20';

  const form = h('form', { class: 'filters', 'data-testid': 'analytics-period', novalidate: true },
    h('div', { class: 'field', dataset: { field: 'from' } }, h('label', null, t('calls.from'), h('input', { type: 'date', name: 'from', value: from })), h('span', { class: 'field-error', role: 'alert' })),
    h('div', { class: 'field', dataset: { field: 'until' } }, h('label', null, t('calls.until'), h('input', { type: 'date', name: 'until', value: until })), h('span', { class: 'field-error', role: 'alert' })),
    h('div', { class: 'field', dataset: { field: 'service_level_s' } }, h('label', null, t('analytics.service_level_s'),
      h('input', { type: 'number', name: 'sl', min: 1, max: 3600, value: sl, size: 4 })), h('span', { class: 'field-error', role: 'alert' })),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary' }, t('action.filter')),
      h('button', { type: 'button', 'data-testid': 'export-csv', disabled: true }, t('analytics.export_csv'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = (n) => form.elements.namedItem(n).value;
    navigate('analytics', { from: v('from'), until: v('until'), sl: v('sl') }, { replace: true });
  });
  form.addEventListener('change', (e) => { if (e.target.type === 'date') form.requestSubmit(); });
  const results = h('div', { class: 'results' }, h('p', { class: 'muted loading' }, t('loading')));
  mount(root, h('div', { class: 'page-head' }, h('h1', null, t('nav.analytics'))), form, results);

  let report;
  let users;
  let sources;
  try {
    [report, users, sources] = await Promise.all([
      api.get('/api/v1/analytics', {
        from: from ? dayStartUtc(from) : undefined,
        until: until ? dayStartUtc(nextDay(until)) : undefined,
        service_level_s: sl,
      }),
      byId('/api/v1/users'),
      byId('/api/v1/sources'),
    ]);
  } catch (e) {
    const field = e.field === 'service_level_s' ? 'service_level_s' : e.field;
    const box = field && form.querySelector(`[data-field="${CSS.escape(field)}"] .field-error`);
    if (box) box.textContent = e.message;
    mount(results, h('p', { class: 'form-error', role: 'alert' }, e.message));
    return undefined;
  }

  const managerName = (id) => (id === null ? t('analytics.nobody') : users.get(id) ? users.get(id).name : `#${id}`);
  const sourceName = (id) => (id === null ? t('analytics.no_source') : sources.get(id) ? sources.get(id).name : `#${id}`);
  const pct = (x) => `${fmtNumber(Math.round(x * 100))} %`;

  const managers = report.managers;
  const queues = report.queues;
  const srcs = report.sources;

  const managerTable = h('table', { class: 'list', 'data-testid': 'analytics-managers' },
    h('thead', null, h('tr', null, [t('analytics.manager'), t('direction.incoming'), t('direction.outgoing'), t('status.answered'), t('status.missed'),
      t('analytics.talk_total'), t('analytics.talk_avg'), t('analytics.deals_won'), t('analytics.won_per_call')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, managers.map((m) => h('tr', { dataset: { agentId: m.agent_id ?? '' } },
      h('td', null, managerName(m.agent_id)), h('td', { class: 'num' }, fmtNumber(m.incoming)), h('td', { class: 'num' }, fmtNumber(m.outgoing)),
      h('td', { class: 'num' }, fmtNumber(m.answered)), h('td', { class: 'num' }, fmtNumber(m.missed)),
      h('td', { class: 'num' }, fmtDuration(m.talk_total_s)), h('td', { class: 'num' }, fmtDuration(m.talk_avg_s)),
      h('td', { class: 'num' }, fmtNumber(m.deals_won)), h('td', { class: 'num' }, fmtNumber(m.deals_won_per_call))))));
  const queueTable = h('table', { class: 'list', 'data-testid': 'analytics-queues' },
    h('thead', null, h('tr', null, [t('analytics.queue'), t('analytics.calls'), t('status.answered'), t('analytics.in_time', { s: report.service_level_s }),
      t('analytics.service_level'), t('analytics.abandoned'), t('analytics.wait_avg')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, queues.map((q) => h('tr', { dataset: { queue: q.queue } },
      h('td', null, q.queue), h('td', { class: 'num' }, fmtNumber(q.calls)), h('td', { class: 'num' }, fmtNumber(q.answered)),
      h('td', { class: 'num' }, fmtNumber(q.answered_in_time)), h('td', { class: 'num' }, pct(q.service_level)),
      h('td', { class: 'num' }, fmtNumber(q.abandoned)), h('td', { class: 'num' }, fmtDuration(q.wait_avg_s))))));
  const sourceTable = h('table', { class: 'list', 'data-testid': 'analytics-sources' },
    h('thead', null, h('tr', null, [t('analytics.source'), t('analytics.calls'), t('analytics.leads'), t('analytics.deals'), t('analytics.deals_won'), t('analytics.revenue')]
      .map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, srcs.map((s) => h('tr', { dataset: { sourceId: s.source_id ?? '' } },
      h('td', null, sourceName(s.source_id)), h('td', { class: 'num' }, fmtNumber(s.calls)), h('td', { class: 'num' }, fmtNumber(s.leads)),
      h('td', { class: 'num' }, fmtNumber(s.deals)), h('td', { class: 'num' }, fmtNumber(s.deals_won)), h('td', { class: 'num' }, revenueText(s.revenue))))));

  const exportButton = form.querySelector('[data-testid=export-csv]');
  exportButton.disabled = false;
  exportButton.addEventListener('click', () => {
    const rows = [
      [t('analytics.manager'), 'agent_id', 'incoming', 'outgoing', 'answered', 'missed', 'talk_total_s', 'talk_avg_s', 'deals_won', 'deals_won_per_call'],
      ...managers.map((m) => [managerName(m.agent_id), m.agent_id, m.incoming, m.outgoing, m.answered, m.missed, m.talk_total_s, m.talk_avg_s, m.deals_won, m.deals_won_per_call]),
      [],
      [t('analytics.queue'), 'calls', 'answered', `answered_within_${report.service_level_s}s`, 'service_level', 'abandoned', 'wait_avg_s'],
      ...queues.map((q) => [q.queue, q.calls, q.answered, q.answered_in_time, q.service_level, q.abandoned, q.wait_avg_s]),
      [],
      [t('analytics.source'), 'source_id', 'calls', 'leads', 'deals', 'deals_won', 'revenue_minor', 'currency'],
      ...srcs.flatMap((s) => (s.revenue.length ? s.revenue : [{ amount_minor: 0, currency: '' }])
        .map((m) => [sourceName(s.source_id), s.source_id, s.calls, s.leads, s.deals, s.deals_won, m.amount_minor, m.currency])),
    ];
    download(`ringbase-analytics-${from}-${until}.csv`, toCsv(rows));
  });

  const empty = report.calls === 0;
  mount(results,
    h('p', { class: 'muted', 'data-testid': 'analytics-total' }, t('analytics.total', { n: fmtNumber(report.calls) }),
      report.truncated ? ` ${t('analytics.truncated')}` : ''),
    empty ? h('p', { class: 'muted empty' }, t('calls.none')) : [
      h('div', { class: 'grid2' },
        barChart(t('analytics.per_manager'), [
          { key: 'answered', label: t('status.answered'), cls: 'ok' },
          { key: 'missed', label: t('status.missed'), cls: 'bad' },
        ], managers.map((m) => ({ label: managerName(m.agent_id), values: m }))),
        barChart(t('analytics.talk_per_manager'), [
          { key: 'talk_total_s', label: t('analytics.talk_total'), cls: 'main' },
        ], managers.map((m) => ({ label: managerName(m.agent_id), values: m })), (v) => fmtDuration(v))),
      h('div', { class: 'grid2' },
        queues.length ? barChart(t('analytics.per_queue'), [
          { key: 'sl', label: t('analytics.service_level'), cls: 'ok' },
          { key: 'ab', label: t('analytics.abandoned_share'), cls: 'bad' },
        ], queues.map((q) => ({ label: q.queue, values: { sl: Math.round(q.service_level * 100), ab: q.calls ? Math.round((q.abandoned / q.calls) * 100) : 0 } })), (v) => `${v} %`)
          : h('div', { class: 'panel' }, h('h2', null, t('analytics.per_queue')), h('p', { class: 'muted' }, t('analytics.no_queues'))),
        barChart(t('analytics.per_source'), [
          { key: 'calls', label: t('analytics.calls'), cls: 'main' },
          { key: 'leads', label: t('analytics.leads'), cls: 'ok' },
          { key: 'deals', label: t('analytics.deals'), cls: 'warn' },
        ], srcs.map((s) => ({ label: sourceName(s.source_id), values: s })))),
      h('h2', null, t('analytics.per_manager')), managerTable,
      queues.length ? [h('h2', null, t('analytics.per_queue')), queueTable] : null,
      h('h2', null, t('analytics.per_source')), sourceTable,
    ]);
  return undefined;
}
