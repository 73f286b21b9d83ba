// resident: the resident's part of the tasks on /app: report a problem
// (a photo, words, the phone's position, a camera nearby), my reports with
// their state and timeline, and rating (评单) a closed task, one I reported
// or one on a public camera I watched.
//
// Watching needs no token. Listing a camera's closed tasks, reporting and
// rating do: the first of them gets a device token (POST /api/device; a
// signed token, nothing is stored for it), kept in localStorage, to which
// the resident's reports and ratings are tied. A resident with an account
// may sign in instead.
//
// Hooks for the browser tests: #live-tasks li[data-id] with
// button[data-rate]; #rate-dialog with button[data-stars=N], #rate-comment,
// #rate-send; li.mcard[data-id][data-state] in #mine-list; #report-form.

import { LocationPicker } from './picker.js';
import { t, applyI18n } from './i18n.js';
import { device, me, storedToken, storeToken, tasks as fetchTasks, task as fetchTask, rate, report, upload, HttpError } from './api.js';
import { loginForm, logout, nameOf } from './login.js';
import { OPEN, stateBadge, taskTitle, at, timeline, newer, coords, pictures, thumb, description, geoText } from './tasks.js';

const PAGE = 'resident';
const RATED_KEY = 'qly.rated'; // task id → stars this phone gave
const LIVE_TASKS_MS = 10000; // residents get no events of others' tasks: the list is asked again

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const res = {
  token: storedToken(PAGE),
  me: null,
  cams: () => [],
  onToken: () => {},
  nav: () => {},
  back: () => {},
  mine: new Map(),
  liveCam: '',
  liveTimer: 0,
  liveTasks: [],
  adopted: 0, // how many guest reports the last sign-in brought into the account
  detail: null, // {id, data}
  rating: null, // {id, stars}
  loc: null, // {lat, lng, accuracy}; accuracy null: set on the map
  picker: null, // the location picker (picker.js)
  photo: null,
};

function rated() {
  try { return JSON.parse(localStorage.getItem(RATED_KEY) || '{}') || {}; } catch { return {}; }
}

function remember(id, stars) {
  const all = rated();
  all[id] = stars;
  try { localStorage.setItem(RATED_KEY, JSON.stringify(all)); } catch { /* kept for this page only */ }
}

/** token is the resident's token now ('' while only watching). */
export function token() { return res.token; }

// ensureToken returns a token to report or rate with: the stored one, or a
// new device token. A refused one (expired) is replaced.
async function ensureToken() {
  if (res.token) return res.token;
  const ans = await device();
  res.me = { sub: ans.user, name: ans.name, role: ans.role, grids: [] };
  setToken(ans.token);
  return res.token;
}

// A guest is a resident on a device token ('dev-…'), or on none yet.
const signedIn = () => Boolean(res.me && res.me.sub && !res.me.sub.startsWith('dev-'));

// renderWho shows in the bar who is signed in, with 退出, or 账号登录 for a guest.
function renderWho() {
  const whoEl = $('res-who');
  const on = signedIn();
  whoEl.hidden = !on;
  whoEl.textContent = on ? nameOf(res.me) : '';
  $('res-signout').hidden = !on;
  $('res-signin').hidden = on;
  // the sheets cover the bar: 我的上报 says it again
  $('account').textContent = on ? t('app.signout.as', { name: nameOf(res.me) }) : t('app.account');
}

function openSignIn() {
  const host = $('account-host');
  host.hidden = false;
  loginForm(host, {
    page: PAGE,
    roles: ['resident'],
    // the guest's reports follow them into the account
    device: () => (res.token && res.me && res.me.sub.startsWith('dev-') ? res.token : ''),
    onLogin: (s) => {
      host.hidden = true;
      res.me = s.me;
      res.mine.clear();
      setToken(s.token);
      renderWho();
      res.adopted = s.adopted || 0;
      renderMine();
      loadMine();
    },
  });
}

function setToken(tok) {
  res.token = tok;
  if (!tok) res.me = null;
  storeToken(tok, PAGE);
  res.onToken(tok);
  renderWho();
}

// withToken runs fn(token); on a 401 it gets a new device token once and tries again.
async function withToken(fn) {
  const tok = await ensureToken();
  try {
    return await fn(tok);
  } catch (err) {
    if (!(err instanceof HttpError && err.status === 401)) throw err;
    setToken('');
    return fn(await ensureToken());
  }
}

/**
 * initResident wires the report form, my reports, the rating dialog and the
 * sign-in. cams gives the camera list; onToken(token) is told when the
 * token changes (the page restarts its event stream with it); nav(search)
 * moves the page to another view (null: to the one the address says now);
 * back leaves a sheet.
 */
export function initResident({ cams, onToken, nav, back }) {
  res.cams = cams;
  res.onToken = onToken;
  res.nav = nav;
  res.back = back;
  for (const b of document.querySelectorAll('.sheet-back')) b.addEventListener('click', () => res.back());
  $('report-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendReport();
  });
  $('report-locate').addEventListener('click', locate);
  res.picker = new LocationPicker({
    mapEl: $('report-map'),
    nearEl: $('report-near'),
    farEl: $('report-far'),
    select: $('report-camera'),
    cams: () => res.cams(),
    onPick: (loc) => {
      res.loc = loc;
      renderLoc();
    },
  });
  $('report-photo').addEventListener('change', () => {
    const f = $('report-photo').files && $('report-photo').files[0];
    res.photo = f || null;
    const img = $('report-preview');
    if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
    img.hidden = !f;
    if (f) img.src = URL.createObjectURL(f);
  });
  $('account').addEventListener('click', () => {
    if (signedIn()) logout(PAGE);
    else if ($('account-host').hidden) openSignIn();
    else $('account-host').hidden = true;
  });
  $('res-signin').addEventListener('click', () => {
    res.nav('?view=mine');
    openSignIn();
  });
  // as on the wall: the token is logged out on the server, then forgotten
  $('res-signout').addEventListener('click', () => logout(PAGE));
  // The rating dialog.
  $('rate-stars').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-stars]');
    if (!b || !res.rating) return;
    res.rating.stars = Number(b.dataset.stars);
    renderStars();
  });
  $('rate-cancel').addEventListener('click', () => $('rate-dialog').close());
  $('rate-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendRating();
  });
  $('live-task-list').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-rate]');
    if (b) openRating(b.dataset.rate, b.dataset.title || '');
  });
  $('rd-rate').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-rate]');
    if (b) openRating(b.dataset.rate, b.dataset.title || '');
  });
  $('mine-list').addEventListener('click', (ev) => {
    const li = ev.target.closest('li[data-id]');
    if (li) res.nav(`?task=${encodeURIComponent(li.dataset.id)}`);
  });
  if (res.token) {
    me(res.token).then((c) => { res.me = c; renderWho(); }).catch((err) => {
      if (err instanceof HttpError && err.status === 401) setToken('');
      renderWho();
    });
    loadMine();
  }
  renderWho();
  setInterval(() => { if (res.liveCam && document.visibilityState === 'visible') loadLiveTasks(); }, LIVE_TASKS_MS);
}

// ---------- the sheets ----------

/** show opens one of the sheets ('report', 'mine', 'detail') or none (''). */
export function show(which, { task = '', camera = '' } = {}) {
  $('report-view').hidden = which !== 'report';
  $('mine-view').hidden = which !== 'mine';
  $('report-detail').hidden = which !== 'detail';
  document.body.classList.toggle('sheet-open', Boolean(which));
  if (which === 'report') openReport(camera);
  if (which === 'mine') loadMine();
  if (which === 'detail') openDetail(task);
  else res.detail = null;
}

function openReport(camera) {
  const sel = $('report-camera');
  const opts = [sel.options[0]];
  for (const c of res.cams()) {
    const o = document.createElement('option');
    o.value = c.id;
    o.textContent = c.name || c.id;
    opts.push(o);
  }
  sel.replaceChildren(...opts);
  if (camera) sel.value = camera;
  $('report-error').hidden = true;
  // the map and the nearest cameras wait for the list (camerasLoaded)
  if (res.cams().length) res.picker.open();
  if (!res.loc) locate();
}

/**
 * camerasLoaded fills the report's camera choice once the list has come,
 * when the page was opened on the report (/app?view=report) before it.
 */
export function camerasLoaded() {
  if ($('report-view').hidden) return;
  openReport($('report-camera').value || new URLSearchParams(location.search).get('at') || '');
}

function locate() {
  const out = $('report-loc');
  if (!('geolocation' in navigator)) {
    out.textContent = t('worker.geo.none');
    return;
  }
  out.textContent = t('worker.locating');
  navigator.geolocation.getCurrentPosition((p) => {
    res.loc = { lat: p.coords.latitude, lng: p.coords.longitude, accuracy: p.coords.accuracy };
    renderLoc();
    res.picker.set(res.loc, { center: true });
  }, (e) => {
    out.textContent = window.isSecureContext === false ? t('worker.geo.none') : t('worker.geo.failed', { error: geoText(e) });
  }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
}

function renderLoc() {
  const out = $('report-loc');
  if (!res.loc) {
    out.textContent = t('app.report.loc.none');
    return;
  }
  out.removeAttribute('data-i18n');
  const { lat, lng, accuracy } = res.loc;
  out.textContent = accuracy == null ? t('app.report.loc.set', { lat: lat.toFixed(6), lng: lng.toFixed(6) })
    : t('app.report.loc.got', { lat: lat.toFixed(6), lng: lng.toFixed(6), m: Math.round(accuracy) });
}

async function sendReport() {
  const form = $('report-form');
  const err = $('report-error');
  const title = form.elements.title.value.trim();
  if (!title) {
    form.elements.title.focus();
    return;
  }
  const far = res.picker.farText(); // the server refuses it too
  if (far) {
    err.hidden = false;
    err.textContent = far;
    return;
  }
  const btn = form.querySelector('button[type=submit]');
  btn.disabled = true;
  btn.textContent = t('app.report.sending');
  err.hidden = true;
  try {
    const body = { title, description: form.elements.description.value.trim(), camera: form.elements.camera.value };
    const address = form.elements.address.value.trim();
    if (res.loc || address) body.location = { lat: res.loc ? res.loc.lat : 0, lng: res.loc ? res.loc.lng : 0, address };
    const ans = await withToken(async (tok) => {
      if (res.photo && !body.photo) body.photo = await upload(res.photo, { token: tok });
      return report(body, { token: tok });
    });
    form.reset();
    res.photo = null;
    res.picker.render();
    $('report-preview').hidden = true;
    if (ans.task) res.mine.set(ans.task.id, ans.task);
    renderMine();
    history.replaceState({ app: true }, '', `${location.pathname}?task=${encodeURIComponent(ans.task ? ans.task.id : '')}`);
    res.nav(null);
    const note = $('rd-note');
    note.hidden = false;
    note.textContent = t('app.report.sent');
  } catch (e) {
    err.hidden = false;
    err.textContent = t('td.failed', { error: e.message });
  } finally {
    btn.disabled = false;
    btn.textContent = t('app.report.send');
  }
}

// ---------- my reports ----------

async function loadMine() {
  const note = $('mine-note');
  if (!res.token) {
    renderMine();
    return;
  }
  const tok = res.token;
  try {
    const { tasks } = await fetchTasks({ mine: 1, limit: 100 }, { token: tok });
    if (res.token !== tok) return; // signed in or out meanwhile: that token's list is not ours
    res.mine = new Map(tasks.map((x) => [x.id, newer(res.mine.get(x.id), x)]));
    renderMine();
  } catch (err) {
    if (res.token !== tok) return;
    if (err instanceof HttpError && err.status === 401) {
      setToken('');
      res.mine.clear();
      renderMine();
      return;
    }
    note.hidden = false;
    note.textContent = t('msg.load.failed', { error: err.message });
  }
}

function renderMine() {
  const list = [...res.mine.values()].sort((a, b) => b.created_ms - a.created_ms);
  const note = $('mine-note');
  note.hidden = list.length > 0 && !res.adopted;
  note.textContent = res.adopted ? t('app.adopted', { n: res.adopted }) : t('app.mine.none');
  const given = rated();
  $('mine-list').replaceChildren(...list.map((task) => {
    const li = el('li', 'mcard');
    li.dataset.id = task.id;
    li.dataset.state = task.state;
    const b = el('button', 'wcard-open');
    b.type = 'button';
    const top = el('span', 'wcard-top');
    top.append(stateBadge(task.state), el('span', 'muted', at(task.created_ms)));
    if (task.state === 'closed') top.append(el('span', 'muted', given[task.id] ? t('app.rated', { n: given[task.id] }) : t('app.rate')));
    b.append(top, el('strong', 'wcard-title', taskTitle(task)), el('span', 'wcard-place', (task.location && task.location.address) || ''));
    li.append(b);
    return li;
  }));
  const open = list.filter((x) => OPEN.includes(x.state)).length;
  const c = $('mine-count');
  c.hidden = list.length === 0;
  c.textContent = String(open || list.length);
}

// ---------- one report ----------

async function openDetail(id) {
  if (!res.detail || res.detail.id !== id) {
    res.detail = { id, data: null };
    $('rd-note').hidden = true;
    $('rd-title').textContent = t('td.loading');
    $('rd-facts').replaceChildren();
    $('rd-timeline').replaceChildren();
    $('rd-rate').hidden = true;
    $('rd-state').textContent = '';
  }
  const d = res.detail;
  try {
    d.data = await fetchTask(id, { token: res.token });
    if (res.detail !== d) return;
    renderDetail();
  } catch (err) {
    if (res.detail !== d) return;
    const note = $('rd-note');
    note.hidden = false;
    note.textContent = t('msg.load.failed', { error: err.message });
  }
}

function renderDetail() {
  const d = res.detail;
  if (!d || !d.data) return;
  const { task, timeline: entries } = d.data;
  $('report-detail').dataset.id = task.id;
  $('report-detail').dataset.state = task.state;
  $('rd-title').textContent = taskTitle(task);
  stateBadge(task.state, $('rd-state'));
  const l = task.location || {};
  const cam = res.cams().find((c) => c.id === task.camera);
  const facts = [
    ['created', t('td.created'), at(task.created_ms)],
    ['place', t('td.place'), l.address || (l.lat || l.lng ? coords(l) : '')],
    ['camera', t('td.camera'), cam ? cam.name : task.camera || ''],
  ].filter(([, , v]) => v);
  const rows = facts.map(([key, k, v]) => {
    const row = el('div', 'fact');
    row.dataset.key = key;
    row.append(el('dt', '', k), el('dd', '', v));
    return row;
  });
  if (task.description) {
    const row = el('div', 'fact');
    row.append(el('dt', '', t('td.description')), el('dd', '', description(task)));
    rows.push(row);
  }
  if (task.photo && task.source !== 'incident') {
    const row = el('div', 'fact');
    const dd = el('dd');
    for (const p of pictures({ photo: task.photo }, res.token)) dd.append(thumb(p));
    row.append(el('dt', '', t('td.photo')), dd);
    rows.push(row);
  }
  $('rd-facts').replaceChildren(...rows);
  renderRate($('rd-rate'), task);
  const names = new Map();
  if (res.me) names.set(res.me.sub, t('who.me'));
  timeline($('rd-timeline'), entries, { token: res.token, names, cameras: new Map(res.cams().map((c) => [c.id, c])) });
}

function renderRate(box, task) {
  box.replaceChildren();
  box.hidden = task.state !== 'closed';
  if (box.hidden) return;
  const given = rated()[task.id];
  if (given) box.append(el('span', 'rated', t('app.rated', { n: given })));
  const b = el('button', given ? '' : 'primary', t('app.rate'));
  b.type = 'button';
  b.dataset.rate = task.id;
  b.dataset.title = taskTitle(task);
  box.append(b);
}

// ---------- closed tasks of the camera being watched ----------

/**
 * watchCamera shows the closed tasks of camera id under its live view, to
 * rate ('' stops). The server sends a resident the events of the
 * resident's own reports only, so the list is asked for again every
 * LIVE_TASKS_MS while the view is open.
 */
export function watchCamera(id) {
  if (res.liveCam === id) return;
  res.liveCam = id;
  res.liveTasks = [];
  renderLiveTasks();
  if (id) loadLiveTasks();
}

async function loadLiveTasks() {
  const cam = res.liveCam;
  if (!cam) return;
  try {
    // Listing tasks needs a token: a device's is made for it, as for a rating.
    const { tasks } = await withToken((tok) => fetchTasks({ camera: cam, state: 'closed', limit: 5 }, { token: tok }));
    if (res.liveCam !== cam) return;
    res.liveTasks = tasks;
  } catch {
    if (res.liveCam !== cam) return;
    res.liveTasks = []; // not allowed or not there: the section stays hidden
  }
  renderLiveTasks();
}

function renderLiveTasks() {
  const box = $('live-tasks');
  const list = res.liveTasks.filter((x) => x.state === 'closed');
  box.hidden = list.length === 0;
  const given = rated();
  $('live-task-list').replaceChildren(...list.map((task) => {
    const li = el('li', 'live-task');
    li.dataset.id = task.id;
    const text = el('span', 'live-task-text');
    const sum = task.ratings && task.ratings.count ? ` · ★ ${task.ratings.mean.toFixed(1)} (${task.ratings.count})` : '';
    text.append(el('strong', '', taskTitle(task)), el('small', '', `${t('task.state.closed')} ${at(task.state_ms)}${sum}`));
    li.append(text);
    // Only the resident who reported a task rates it (the server shows a
    // resident the reporter of their own tasks only); the center calls the
    // others back (回访).
    if (task.reporter) {
      const b = el('button', given[task.id] ? '' : 'primary', given[task.id] ? t('app.rated', { n: given[task.id] }) : t('app.rate'));
      b.type = 'button';
      b.dataset.rate = task.id;
      b.dataset.title = taskTitle(task);
      li.append(b);
    }
    return li;
  }));
}

/** onTask takes a `task` event: my reports, an open report and the watched camera's list follow it. */
export function onTask(msg) {
  const task = msg.task;
  if (res.mine.has(task.id)) {
    res.mine.set(task.id, newer(res.mine.get(task.id), task));
    renderMine();
  }
  if (res.detail && res.detail.id === task.id) openDetail(task.id);
  if (res.liveCam && task.camera === res.liveCam && task.state === 'closed') loadLiveTasks();
}

// ---------- rating ----------

function openRating(id, title) {
  res.rating = { id, stars: rated()[id] || 0 };
  $('rate-task').textContent = title;
  $('rate-comment').value = '';
  $('rate-error').hidden = true;
  renderStars();
  const dlg = $('rate-dialog');
  if (!dlg.open) dlg.showModal();
}

function renderStars() {
  const n = res.rating ? res.rating.stars : 0;
  for (const b of $('rate-stars').querySelectorAll('button[data-stars]')) {
    const k = Number(b.dataset.stars);
    b.setAttribute('aria-pressed', String(k <= n));
    b.setAttribute('aria-label', t('td.stars', { n: k }));
    b.classList.toggle('on', k <= n);
  }
}

async function sendRating() {
  const r = res.rating;
  const err = $('rate-error');
  if (!r || !r.stars) {
    err.hidden = false;
    err.textContent = t('app.rate.need.stars');
    return;
  }
  const btn = $('rate-send');
  btn.disabled = true;
  err.hidden = true;
  try {
    await withToken((tok) => rate(r.id, r.stars, $('rate-comment').value.trim(), { token: tok }));
    remember(r.id, r.stars);
    $('rate-dialog').close();
    renderLiveTasks();
    renderMine();
    if (res.detail && res.detail.id === r.id) openDetail(r.id);
    loadLiveTasks();
  } catch (e) {
    err.hidden = false;
    err.textContent = t('td.failed', { error: e.message });
  } finally {
    btn.disabled = false;
  }
}

/** relabel re-renders the text after a language change. */
export function relabel() {
  applyI18n($('rate-dialog'));
  renderWho();
  renderLoc();
  renderMine();
  renderLiveTasks();
  renderDetail();
  renderStars();
}
