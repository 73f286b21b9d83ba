// stats: the center's statistics page (/stats, staff and admins): the
// figures the center is judged by (受理, 交办, 办结, 交办率, 办结率, 按时办结率,
// 回访满意度) with their definitions next to them, per grid, worker and kind,
// the median and p90 of each stage, the daily trend and the per-grid bars
// (Apache ECharts, vendored), and the CSV and Excel exports of the same
// figures (GET /api/stats/export). The period and grid live in the address
// (?range=7d&grid=g1, ?from=2026-11-01&to=2026-11-30), so a reload or a link
// shows the same figures.
//
// Hooks for tests: #figures .fig[data-key] .fig-value and .fig-def;
// #trend and #grid-bars hold the charts' canvases; #by-grid, #by-worker,
// #by-kind and #stages are tables whose rows carry data-key.

import { t, lang, applyI18n, langToggle } from './i18n.js';
import { getJSON, authHeaders, cameras as fetchCameras, errorMessage, HttpError, tokenFromHash } from './api.js';
import { loginForm, session, nameOf, logout } from './login.js';
import { span } from './tasks.js';

const CENTER = ['staff', 'admin'];
const PAGE = 'stats'; // shares the wall's token (api.js keeps one for 'screen' and unknown pages)
const $ = (id) => document.getElementById(id);

// The summary: counts, then the rates with the counts they divide.
const SUMMARY = [
  { key: 'received' },
  { key: 'dispatched' },
  { key: 'closed' },
  { key: 'dispatch_rate', rate: ['dispatched', 'received'] },
  { key: 'closing_rate', rate: ['closed', 'received'] },
  { key: 'on_time_rate', rate: ['closed_on_time', 'closed'] },
  { key: 'satisfaction_rate', rate: ['satisfied', 'rated'] },
];
// The columns of the tables per grid, worker and kind.
const COLUMNS = ['received', 'dispatched', 'closed', 'open', 'closing_rate', 'on_time_rate', 'satisfaction_rate'];

const page = { token: '', me: null, data: null, charts: {}, loading: null };

const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};

/** query is the period and grid the address asks for, as the API takes them. */
function query() {
  const p = new URLSearchParams(location.search);
  const q = new URLSearchParams();
  const range = p.get('range') || (p.get('from') || p.get('to') ? 'custom' : 'today');
  q.set('range', range);
  if (range === 'custom') {
    q.set('from', p.get('from') || '');
    q.set('to', p.get('to') || '');
  }
  if (p.get('grid')) q.set('grid', p.get('grid'));
  return q;
}

/** go puts q into the address and loads its figures. */
function go(q) {
  history.replaceState(history.state, '', `${location.pathname}?${q}`);
  load();
}

function renderPicker(q) {
  const range = q.get('range');
  for (const b of $('ranges').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.range === range));
  $('custom').hidden = range !== 'custom';
  if (range === 'custom') {
    $('from').value = q.get('from') || '';
    $('to').value = q.get('to') || '';
  }
  $('grid').value = q.get('grid') || '';
}

async function load() {
  const q = query();
  renderPicker(q);
  if (page.loading) page.loading.abort();
  const ctl = new AbortController();
  page.loading = ctl;
  say(t('st.loading'));
  try {
    const data = await getJSON(`/api/stats?${q}`, { token: page.token, signal: ctl.signal });
    page.data = data;
    say('');
    render();
  } catch (err) {
    if (err.name === 'AbortError') return;
    if (err instanceof HttpError && err.status === 401) {
      showLogin(t('login.expired'));
      return;
    }
    say(t('st.failed', { error: err.message }), true);
  }
}

function say(msg, bad = false) {
  const m = $('st-msg');
  m.hidden = !msg;
  m.textContent = msg;
  m.classList.toggle('error', bad);
}

function definition(key) {
  const d = (page.data.definitions || []).find((x) => x.figure === key);
  if (!d) return '';
  return lang() === 'en' ? d.en : d.zh;
}

function kindName(key) {
  if (!key) return t('st.none');
  const inc = t(`inc.kind.${key}`);
  if (inc !== `inc.kind.${key}`) return inc;
  const src = t(`task.source.${key}`);
  return src !== `task.source.${key}` ? src : key;
}

function render() {
  const d = page.data;
  const r = d.range || {};
  $('period').textContent = r.from ? t('st.period', { from: r.from, to: r.to, days: r.days, zone: r.time_zone }) : '';
  if (!d.received) say(t('st.empty'));

  const figs = $('figures');
  figs.replaceChildren();
  for (const f of SUMMARY) {
    const card = el('article', 'card fig');
    card.dataset.key = f.key;
    card.append(el('h2', 'fig-name', t(`st.fig.${f.key}`)));
    const v = el('p', 'fig-value', f.rate ? pct(d[f.key]) : String(d[f.key] ?? 0));
    if (f.rate) v.append(el('span', 'fig-sub', ` ${d[f.rate[0]] ?? 0}/${d[f.rate[1]] ?? 0}`));
    card.append(v, el('p', 'fig-def', definition(f.key)));
    figs.append(card);
  }

  table($('by-grid'), t('st.grid'), d.by_grid, (g) => g.key || t('st.none'));
  table($('by-worker'), t('td.worker'), d.by_worker, (g) => (g.key ? g.name || g.key : t('st.nobody')));
  table($('by-kind'), t('st.col.kind'), d.by_kind, (g) => kindName(g.key));
  stages(d.stages || []);
  charts(d);
}

function table(tbl, first, groups, name) {
  const head = el('tr');
  head.append(el('th', '', first));
  for (const c of COLUMNS) head.append(el('th', 'num', t(`st.fig.${c}`)));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (const g of groups || []) {
    const tr = el('tr');
    tr.dataset.key = g.key;
    tr.append(el('th', '', name(g)));
    for (const c of COLUMNS) tr.append(el('td', 'num', c.endsWith('_rate') ? pct(g[c]) : String(g[c] ?? 0)));
    body.append(tr);
  }
  if (!(groups || []).length) {
    const tr = el('tr');
    const td = el('td', 'muted', t('st.empty'));
    td.colSpan = COLUMNS.length + 1;
    tr.append(td);
    body.append(tr);
  }
  tbl.replaceChildren(thead, body);
}

function stages(list) {
  const head = el('tr');
  for (const [k, cls] of [['st.col.stage', ''], ['st.col.count', 'num'], ['st.col.median', 'num'], ['st.col.p90', 'num']]) head.append(el('th', cls, t(k)));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (const s of list) {
    const tr = el('tr');
    tr.dataset.key = s.stage;
    tr.append(el('th', '', t(`stage.${s.stage}`)), el('td', 'num', String(s.count)),
      el('td', 'num', s.count ? span(s.median_ms) : t('dur.none')), el('td', 'num', s.count ? span(s.p90_ms) : t('dur.none')));
    body.append(tr);
  }
  $('stages').replaceChildren(thead, body);
}

function chart(id) {
  if (!window.echarts) return null;
  if (!page.charts[id]) page.charts[id] = window.echarts.init($(id), null, { renderer: 'canvas' });
  return page.charts[id];
}

function charts(d) {
  const style = getComputedStyle(document.body);
  const fg = style.getPropertyValue('--fg').trim() || '#17202a';
  const muted = style.getPropertyValue('--muted').trim() || '#5d6b78';
  const accent = style.getPropertyValue('--accent').trim() || '#c8102e';
  const base = {
    animation: false, // the figures, not a show; and the test reads the pixels at once
    textStyle: { color: fg },
    tooltip: { trigger: 'axis' },
    legend: { top: 0, textStyle: { color: fg } },
    grid: { left: 48, right: 48, top: 36, bottom: 32 },
  };
  const days = d.daily || [];
  const trend = chart('trend');
  trend?.setOption({
    ...base,
    xAxis: { type: 'category', data: days.map((x) => x.date.slice(5)), axisLabel: { color: muted } },
    yAxis: [
      { type: 'value', minInterval: 1, axisLabel: { color: muted } },
      { type: 'value', min: 0, max: 100, axisLabel: { color: muted, formatter: '{value}%' }, splitLine: { show: false } },
    ],
    series: [
      { name: t('st.fig.received'), type: 'bar', data: days.map((x) => x.received), itemStyle: { color: '#94a3b8' } },
      { name: t('st.fig.dispatched'), type: 'bar', data: days.map((x) => x.dispatched), itemStyle: { color: '#2563eb' } },
      { name: t('st.fig.closed'), type: 'bar', data: days.map((x) => x.closed), itemStyle: { color: '#16a34a' } },
      { name: t('st.fig.closing_rate'), type: 'line', yAxisIndex: 1, data: days.map((x) => (x.received ? +(100 * x.closing_rate).toFixed(1) : null)), connectNulls: true, itemStyle: { color: accent } },
    ],
  }, true);
  const grids = d.by_grid || [];
  chart('grid-bars')?.setOption({
    ...base,
    xAxis: { type: 'category', data: grids.map((g) => g.key || t('st.none')), axisLabel: { color: muted } },
    yAxis: { type: 'value', minInterval: 1, axisLabel: { color: muted } },
    series: [
      { name: t('st.fig.received'), type: 'bar', data: grids.map((g) => g.received), itemStyle: { color: '#94a3b8' } },
      { name: t('st.fig.closed'), type: 'bar', data: grids.map((g) => g.closed), itemStyle: { color: '#16a34a' } },
      { name: t('st.fig.open'), type: 'bar', data: grids.map((g) => g.open), itemStyle: { color: '#d97706' } },
    ],
  }, true);
}

/** exportFile downloads the figures of the period as format (csv, xlsx). */
async function exportFile(format) {
  const q = query();
  q.set('format', format);
  try {
    const res = await fetch(`/api/stats/export?${q}`, { headers: authHeaders(page.token), cache: 'no-store' });
    if (!res.ok) throw new HttpError(res.status, await errorMessage(res));
    const blob = await res.blob();
    const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '')?.[1] || `qly-stats.${format}`;
    const a = el('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (err) {
    say(t('st.export.failed', { error: err.message }), true);
  }
}

async function fillGrids() {
  try {
    const cams = await fetchCameras({ token: page.token });
    const grids = [...new Set(cams.map((c) => c.grid).filter(Boolean))].sort();
    const sel = $('grid');
    for (const g of grids) {
      const o = el('option', '', g);
      o.value = g;
      sel.append(o);
    }
    sel.value = query().get('grid') || '';
  } catch { /* the list of all grids still works */ }
}

function showLogin(note) {
  $('stats-main').hidden = true;
  $('range-form').hidden = true;
  $('exports').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login-view').hidden = false;
  loginForm($('login-host'), { page: PAGE, roles: CENTER, note, onLogin: (s) => start(s) });
}

async function start(signedIn = null) {
  const s = signedIn || await session(PAGE, CENTER, { onRetry: (err) => say(t('st.failed', { error: err.message }), true) });
  if (!s) {
    showLogin('');
    return;
  }
  page.token = s.token;
  page.me = s.me;
  $('login-view').hidden = true;
  $('who').textContent = nameOf(s.me);
  for (const id of ['stats-main', 'range-form', 'exports', 'logout']) $(id).hidden = false;
  await fillGrids();
  load();
}

// #token=... (a link from the wall, or the tests) signs in like the wall's.
tokenFromHash(PAGE);
applyI18n();
langToggle($('lang'));
$('logout').addEventListener('click', () => logout(PAGE));
$('ranges').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-range]');
  if (!b) return;
  const q = query();
  q.set('range', b.dataset.range);
  if (b.dataset.range === 'custom') {
    // start from the period shown, so the dates are not empty
    const r = page.data?.range || {};
    q.set('from', r.from || '');
    q.set('to', r.to || '');
    renderPicker(q);
    return;
  }
  q.delete('from');
  q.delete('to');
  go(q);
});
$('range-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  // the server says the same, in English; say it here in the page's language
  const from = Date.parse($('from').value);
  const to = Date.parse($('to').value);
  if (from > to) {
    say(t('st.bad.order'), true);
    return;
  }
  if ((to - from) / 86400000 + 1 > 366) {
    say(t('st.bad.long'), true);
    return;
  }
  const q = query();
  q.set('range', 'custom');
  q.set('from', $('from').value);
  q.set('to', $('to').value);
  go(q);
});
$('grid').addEventListener('change', () => {
  const q = query();
  if ($('grid').value) q.set('grid', $('grid').value);
  else q.delete('grid');
  go(q);
});
$('exports').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-format]');
  if (b) exportFile(b.dataset.format);
});
addEventListener('langchange', () => {
  if (page.me) $('who').textContent = nameOf(page.me);
  if (page.data) render();
});
addEventListener('resize', () => {
  for (const c of Object.values(page.charts)) c.resize();
});
start();
