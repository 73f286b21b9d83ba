// board: the duty officer's task board (/board, staff and admins), at
// 1920x1080: a column per state with its count, newest or most urgent first,
// filters (states, grid, kind, source, overdue) and a search, bulk reject as
// 误报/重复 and merge of the ticked cards, the task's detail with its camera
// live. The filters and the open task live in the address
// (?grid=g1&sort=urgent&task=T…), so a reload or a link shows the same board;
// the browser's back closes the task. Live from the `task` events
// (/api/events); taskboard.js draws it.
//
// Signs in like the wall (the same token: api.js keeps one for 'screen' and
// unknown pages; #token=… in the address too).

import { t, fmtTime, applyI18n, langToggle } from './i18n.js';
import { cameras as fetchCameras, events, tokenFromHash } from './api.js';
import { loginForm, session, nameOf, logout } from './login.js';
import { Board, Filter } from './taskboard.js';
import { BOARD, stateText, sourceText } from './tasks.js';

const CENTER = ['staff', 'admin'];
const PAGE = 'board';
const KINDS = ['zone_changed', 'loitering', 'camera_tampered', 'camera_offline'];
const SOURCES = ['incident', 'resident', 'patrol', 'staff'];
const $ = (id) => document.getElementById(id);

const page = { token: '', me: null, cams: [], board: null };

const option = (value, text) => {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  return o;
};

/** fillFilters draws the filter bar from f (and the cameras' grids). */
function fillFilters(f) {
  const states = $('bd-states');
  for (const l of states.querySelectorAll('label')) l.remove();
  for (const s of [...BOARD, 'rejected']) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.name = 'states';
    input.value = s;
    input.checked = f.states.includes(s);
    label.append(input, ` ${stateText(s)}`);
    states.append(label);
  }
  const keep = (sel, values, text) => {
    const v = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const x of values) sel.append(option(x, text(x)));
    sel.value = v;
  };
  keep($('f-grid'), [...new Set(page.cams.map((c) => c.grid).filter(Boolean))].sort(), (g) => g);
  keep($('f-kind'), KINDS, (k) => t(`inc.kind.${k}`));
  keep($('f-source'), SOURCES, (s) => sourceText(s));
  $('f-grid').value = f.grid;
  $('f-kind').value = f.kind;
  $('f-source').value = f.source;
  $('f-overdue').checked = f.overdue;
  $('f-q').value = f.q;
  for (const b of $('f-sort').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.sort === f.sort));
}

/** readFilters is the filter the bar shows. */
function readFilters(sort = page.board.filter.sort) {
  const p = new URLSearchParams();
  const states = [...$('bd-states').querySelectorAll('input:checked')].map((i) => i.value);
  const ordered = [...BOARD, 'rejected'].filter((s) => states.includes(s));
  if (ordered.length) p.set('states', ordered.join(','));
  for (const [k, v] of [['grid', $('f-grid').value], ['kind', $('f-kind').value], ['source', $('f-source').value], ['q', $('f-q').value.trim()], ['sort', sort]]) if (v) p.set(k, v);
  if ($('f-overdue').checked) p.set('overdue', '1');
  return new Filter(p);
}

/** apply shows the board as the bar says and keeps it in the address (the open task stays). */
function apply(f) {
  const p = f.params(new URLSearchParams(location.search));
  history.replaceState(history.state, '', `${location.pathname}${p.toString() ? `?${p}` : ''}${location.hash}`);
  fillFilters(f);
  page.board.refilter(f);
}

function showLogin(note) {
  for (const id of ['board', 'filters', 'logout']) $(id).hidden = true;
  $('who').textContent = '';
  $('login-view').hidden = false;
  loginForm($('login-host'), { page: PAGE, roles: CENTER, note, onLogin: (s) => start(s) });
}

async function start(signedIn = null) {
  const s = signedIn || await session(PAGE, CENTER, {});
  if (!s) {
    showLogin('');
    return;
  }
  page.token = s.token;
  page.me = s.me;
  $('login-view').hidden = true;
  $('who').textContent = nameOf(s.me);
  $('filters').hidden = false;
  $('logout').hidden = false;
  try {
    page.cams = await fetchCameras({ token: page.token });
  } catch { /* names and grids are a nicety: ids are shown instead */ }
  const f = new Filter();
  page.board = new Board({ token: page.token, me: s.me, cameras: () => page.cams, filter: f });
  fillFilters(f);
  page.board.start();
  page.board.renderBulk();
  const id = new URLSearchParams(location.search).get('task');
  if (id) page.board.open(id, '', { push: false });
  events((cam) => {
    const i = page.cams.findIndex((c) => c.id === cam.id);
    if (i >= 0) page.cams[i] = cam;
    else page.cams.push(cam);
  }, {
    token: page.token,
    onTask: (m) => page.board.onTask(m),
    // The stream replays no tasks: reload on each connect.
    onStatus: (st) => {
      $('events-state').hidden = st === 'open';
      if (st === 'open') page.board.reload();
    },
  });
}

function tick() {
  const now = new Date();
  $('clock').textContent = fmtTime(now.getTime(), { date: 'full' });
  $('clock').dateTime = now.toISOString();
}

tokenFromHash(PAGE);
applyI18n();
document.title = t('bd.title');
langToggle($('lang'));
tick();
setInterval(tick, 1000);
$('logout').addEventListener('click', () => logout(PAGE));
$('filters').addEventListener('submit', (ev) => {
  ev.preventDefault();
  apply(readFilters());
});
$('filters').addEventListener('change', (ev) => {
  if (ev.target.id !== 'f-q') apply(readFilters());
});
let typing = 0;
$('f-q').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(() => apply(readFilters()), 400);
});
$('f-sort').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-sort]');
  if (b) apply(readFilters(b.dataset.sort));
});
$('bulk').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-bulk]');
  if (b) page.board.runBulk(b.dataset.bulk);
  else if (ev.target.closest('#bulk-clear')) {
    page.board.selected.clear();
    page.board.renderCards();
    page.board.renderBulk();
  }
});
addEventListener('langchange', () => {
  document.title = t('bd.title');
  if (page.me) $('who').textContent = nameOf(page.me);
  if (page.board) {
    fillFilters(page.board.filter);
    page.board.drawColumns();
    page.board.relabel();
    page.board.renderBulk();
  }
  tick();
});
start();
