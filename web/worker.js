// worker: the grid worker's phone page (网格员). The tasks sent to me, live
// from the `task` events; a task's page with its place (address,
// coordinates, a geo: link), its camera live, and the steps that are mine:
// claim (签收), check in on arrival with the phone's position (到场打卡; the
// camera may confirm it first, the timeline says which), and submit with a
// photo from the phone's camera (交单).
//
// URL: /worker?task=T… opens that task.
//
// A task sent to me beeps, vibrates, shows a system notification and counts
// in the title until opened or claimed; one unclaimed past its limit calls
// again every few minutes (alert.js).
//
// Hooks for the browser tests: li.wcard[data-id][data-state] in #todo or
// #done; #task-view[data-id][data-state]; button[data-action=claim|arrive|
// submit]; input#photo; textarea#submit-note; #tv-video[data-camera]; the
// timeline's li.tl-entry; button#alerts-on.

import { Tracker } from './tracker.js';
import { t, applyI18n, langToggle } from './i18n.js';
import { tasks as fetchTasks, task as fetchTask, act, upload, events, storeToken, HttpError } from './api.js';
import { WhepPlayer, viewStatus } from './whep.js';
import { loginForm, session, nameOf, logout } from './login.js';
import { Alerts } from './alert.js';
import {
  OPEN, stateBadge, taskTitle, sourceText, at, timer, startTicker, overdue, overdueText, coords, timeline, newer, geoText,
} from './tasks.js';

const PAGE = 'worker';
const ROLES = ['worker'];
const FALLBACK_MS = 120000;

const $ = (id) => document.getElementById(id);

const w = {
  token: '',
  me: null,
  tasks: new Map(), // id → task (mine)
  cards: new Map(), // id → <li>
  cams: new Map(), // id → camera (from /api/events)
  view: null, // {id, data, player, busy, error, photo: File|null}
  feed: null,
  off: false,
  error: '',
  pushed: false,
  tracker: null, // reports the phone's position while a task is claimed or arrived (tracker.js)
};

const isMine = (task) => task.worker === w.me.sub;

const alerts = new Alerts({ title: () => t('worker.title'), open: (id) => go(id) });

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---------- the list ----------

async function loadTasks() {
  let delay = 2000;
  for (;;) {
    try {
      // For a worker, mine=1 is the tasks dispatched to the worker.
      const { tasks } = await fetchTasks({ mine: 1, limit: 200 }, { token: w.token });
      w.off = false;
      w.error = '';
      const fresh = new Map();
      for (const task of tasks) if (isMine(task)) fresh.set(task.id, newer(w.tasks.get(task.id), task));
      w.tasks = fresh;
      renderList();
      return;
    } catch (err) {
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
        storeToken('', PAGE);
        signedOut(t('login.expired'));
        return;
      }
      if (err instanceof HttpError && (err.status === 404 || err.status === 503)) {
        w.off = true;
        renderList();
        return;
      }
      w.error = err.message;
      renderList();
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }
}

function card(id) {
  const li = el('li', 'wcard');
  li.dataset.id = id;
  li.innerHTML = `
    <button type="button" class="wcard-open">
      <span class="wcard-top"><span class="state"></span><span class="wcard-timer"></span><span class="overdue"></span></span>
      <strong class="wcard-title"></strong>
      <span class="wcard-place"></span>
    </button>`;
  li.querySelector('button').addEventListener('click', () => go(li.dataset.id));
  return li;
}

function fill(li, task) {
  li.dataset.state = task.state;
  stateBadge(task.state, li.querySelector('.state'));
  const tm = li.querySelector('.wcard-timer');
  if (OPEN.includes(task.state)) timer(tm, task.state_ms);
  else {
    tm.classList.remove('timer');
    delete tm.dataset.since;
    tm.textContent = at(task.state_ms);
  }
  const late = overdue(task);
  li.querySelector('.overdue').textContent = late.length ? overdueText(late) : '';
  li.classList.toggle('late', late.length > 0);
  li.querySelector('.wcard-title').textContent = taskTitle(task);
  const cam = task.camera ? w.cams.get(task.camera) : null;
  li.querySelector('.wcard-place').textContent = [placeText(task), cam ? cam.name : ''].filter(Boolean).join(' · ');
}

function placeText(task) {
  const l = task.location || {};
  return l.address || (l.lat || l.lng ? coords(l) : '');
}

function renderList() {
  const all = [...w.tasks.values()];
  const todo = all.filter((x) => OPEN.includes(x.state)).sort((a, b) => a.state_ms - b.state_ms);
  const done = all.filter((x) => !OPEN.includes(x.state)).sort((a, b) => b.state_ms - a.state_ms).slice(0, 50);
  const put = (ul, list) => {
    const lis = list.map((task) => {
      let li = w.cards.get(task.id);
      if (!li) {
        li = card(task.id);
        w.cards.set(task.id, li);
      }
      fill(li, task);
      return li;
    });
    if (lis.length !== ul.children.length || lis.some((li, i) => ul.children[i] !== li)) ul.replaceChildren(...lis);
  };
  put($('todo'), todo);
  put($('done'), done);
  const shown = new Set([...todo, ...done].map((x) => x.id));
  for (const id of w.cards.keys()) if (!shown.has(id)) w.cards.delete(id);
  $('todo-count').textContent = String(todo.length);
  $('done-count').textContent = String(done.length);
  $('done-box').hidden = done.length === 0;
  if (w.tracker) w.tracker.sync(w.tasks.values());
  const note = $('list-note');
  const msg = w.off ? t('board.off') : w.error ? t('board.failed', { error: w.error }) : todo.length ? '' : t('worker.none');
  note.hidden = !msg;
  note.textContent = msg;
  note.classList.toggle('error', Boolean(w.error));
}

function onTask(msg) {
  const task = msg.task;
  const mine = isMine(task);
  const action = msg.entry && msg.entry.action;
  if (mine && task.state === 'dispatched' && (action === 'dispatch' || action === 'rework')) alerts.arrived(task);
  else if (mine && task.state === 'dispatched' && msg.type === 'overdue') alerts.late(task);
  if (!mine || task.state !== 'dispatched') alerts.seen(task.id);
  if (!mine) {
    // sent to someone else: it leaves my list
    if (w.tasks.delete(task.id)) renderList();
  } else {
    w.tasks.set(task.id, newer(w.tasks.get(task.id), task));
    renderList();
  }
  if (w.view && w.view.id === task.id) loadView();
}

function onCamera(cam) {
  w.cams.set(cam.id, cam);
  if (w.view && w.view.player && w.view.player.camera === cam.id) renderLive();
}

// ---------- a task ----------

function go(id) {
  history.pushState({ task: id }, '', `${location.pathname}?task=${encodeURIComponent(id)}`);
  w.pushed = true;
  route();
}

function back() {
  if (w.pushed) {
    w.pushed = false;
    history.back();
    return;
  }
  history.replaceState(null, '', location.pathname);
  route();
}

function route() {
  const id = new URLSearchParams(location.search).get('task');
  if (id) openView(id);
  else closeView();
}

function openView(id) {
  if (!w.view || w.view.id !== id) {
    closeView();
    w.view = { id, data: null, player: null, busy: false, error: '', photo: null, geo: '' };
    $('photo').value = '';
    $('submit-note').value = '';
    $('photo-preview').hidden = true;
  }
  $('list-view').hidden = true;
  $('task-view').hidden = false;
  $('task-view').dataset.id = id;
  alerts.seen(id);
  scrollTo(0, 0);
  loadView();
}

function closeView() {
  const v = w.view;
  if (v && v.player) v.player.stop();
  if (v && v.previewURL) URL.revokeObjectURL(v.previewURL);
  w.view = null;
  $('task-view').hidden = true;
  delete $('task-view').dataset.id;
  if (w.me) $('list-view').hidden = false;
}

async function loadView() {
  const v = w.view;
  if (!v) return;
  try {
    const data = await fetchTask(v.id, { token: w.token });
    if (w.view !== v) return;
    v.data = data;
    if (isMine(data.task)) w.tasks.set(data.task.id, newer(w.tasks.get(data.task.id), data.task));
    renderList();
    renderView();
  } catch (err) {
    if (w.view !== v) return;
    v.error = err.message;
    renderView();
  }
}

function renderView() {
  const v = w.view;
  if (!v) return;
  const err = $('act-error');
  err.hidden = !v.error;
  err.textContent = v.error ? t('td.failed', { error: v.error }) : '';
  if (!v.data) return;
  const { task, timeline: entries, allowed } = v.data;
  const view = $('task-view');
  view.dataset.state = task.state;
  $('tv-title').textContent = taskTitle(task);
  stateBadge(task.state, $('tv-state'));
  const tm = $('tv-timer');
  const open = OPEN.includes(task.state);
  $('tv-since-label').textContent = t(open ? 'td.since.open' : 'td.since.done');
  if (open) timer(tm, task.state_ms);
  else {
    tm.classList.remove('timer');
    delete tm.dataset.since;
    tm.textContent = at(task.state_ms);
  }
  const late = overdue(task);
  $('tv-overdue').textContent = late.length ? overdueText(late) : '';

  const l = task.location || {};
  const cam = task.camera ? w.cams.get(task.camera) : null;
  const facts = [
    ['address', t('worker.address'), l.address || (l.lat || l.lng ? '' : t('worker.no.place'))],
    ['coords', t('worker.coords'), l.lat || l.lng ? coords(l) : ''],
    ['camera', t('td.camera'), cam ? cam.name || cam.id : task.camera || ''],
    ['source', t('td.source'), sourceText(task.source)],
    ['created', t('td.created'), at(task.created_ms)],
  ].filter(([, , val]) => val);
  $('tv-facts').replaceChildren(...facts.map(([key, k, val]) => {
    const row = el('div', 'fact');
    row.dataset.key = key;
    row.append(el('dt', '', k), el('dd', '', val));
    return row;
  }));
  const links = $('tv-links');
  links.replaceChildren();
  if (l.lat || l.lng) {
    const a = el('a', 'button', t('worker.map'));
    const label = encodeURIComponent(l.address || taskTitle(task));
    a.href = `geo:${l.lat},${l.lng}?q=${l.lat},${l.lng}(${label})`;
    links.append(a);
  }

  renderLive();

  const can = (a) => allowed.includes(a);
  $('act-claim').hidden = !can('claim');
  $('act-arrive').hidden = !can('arrive');
  $('act-submit').hidden = !can('submit');
  for (const b of $('tv-actions').querySelectorAll('button[data-action]')) b.disabled = v.busy;
  const geo = $('geo-state');
  geo.hidden = !v.geo;
  geo.textContent = v.geo;
  $('tv-actions').hidden = !(can('claim') || can('arrive') || can('submit') || v.error);

  timeline($('tv-timeline'), entries, { token: w.token, names: new Map([[w.me.sub, w.me.name || w.me.sub]]), cameras: w.cams });
}

function renderLive() {
  const v = w.view;
  const task = v && v.data && v.data.task;
  const live = $('tv-live');
  $('tv-nocam').hidden = !task || Boolean(task.camera);
  live.hidden = !task || !task.camera;
  if (!task || !task.camera) {
    if (v && v.player) {
      v.player.stop();
      v.player = null;
    }
    return;
  }
  if (!v.player || v.player.camera !== task.camera) {
    if (v.player) v.player.stop();
    v.player = new WhepPlayer($('tv-video'), { camera: task.camera, token: w.token, onState: renderLiveState });
  }
  syncLive();
  renderLiveState();
}

// Plays while the page is visible: a phone in a pocket gives its session back.
function syncLive() {
  const p = w.view && w.view.player;
  if (!p) return;
  const want = document.visibilityState === 'visible';
  if (want && !p.running) p.start();
  else if (!want && p.running) p.stop();
}

function renderLiveState() {
  const p = w.view && w.view.player;
  if (!p) return;
  const cam = w.cams.get(p.camera);
  const status = viewStatus(p.state, cam);
  const live = $('tv-live');
  live.dataset.status = status;
  const badge = $('tv-live-badge');
  badge.dataset.status = status;
  badge.textContent = t(`status.${status}`);
  const msg = { offline: t('status.offline'), forbidden: t('status.forbidden'), error: t('status.error'), connecting: t('msg.connecting'), warning: t('status.warning'), idle: t('status.idle') }[status] || '';
  const box = $('tv-live-msg');
  box.replaceChildren();
  if (msg) box.append(el('strong', '', msg));
  const detail = status === 'forbidden' ? t('msg.forbidden') : status === 'online' ? '' : p.message;
  if (detail) box.append(el('small', '', detail));
}

async function run(action, body) {
  const v = w.view;
  if (!v || v.busy) return false;
  v.busy = true;
  v.error = '';
  renderView();
  let ok = false;
  try {
    const res = await act(v.id, action, body, { token: w.token });
    if (res.task) w.tasks.set(res.task.id, newer(w.tasks.get(res.task.id), res.task));
    ok = true;
  } catch (err) {
    if (w.view === v) v.error = err.message;
  } finally {
    v.busy = false;
  }
  if (w.view === v) await loadView();
  return ok;
}

async function position() {
  if (w.tracker) w.tracker.hold(true);
  try {
    return await freshFix();
  } finally {
    if (w.tracker) w.tracker.hold(false);
  }
}

function freshFix() {
  return new Promise((resolve, reject) => {
    if (!('geolocation' in navigator)) {
      reject(new Error(t('worker.geo.none')));
      return;
    }
    navigator.geolocation.getCurrentPosition(resolve, (e) => reject(new Error(geoText(e))),
      // a fresh fix: a cached one may be from before the worker came closer
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  });
}

async function arrive() {
  const v = w.view;
  if (!v || v.busy) return;
  v.geo = t('worker.locating');
  v.error = '';
  renderView();
  let pos;
  try {
    pos = await position();
  } catch (err) {
    if (w.view !== v) return;
    v.geo = '';
    v.error = window.isSecureContext === false ? t('worker.geo.none') : t('worker.geo.failed', { error: err.message });
    renderView();
    return;
  }
  if (w.view !== v) return;
  const c = pos.coords;
  v.geo = `${t('td.gps', { lat: c.latitude.toFixed(6), lng: c.longitude.toFixed(6) })} ${t('td.accuracy', { m: Math.round(c.accuracy) })}`;
  await run('arrive', { evidence: { gps: { lat: c.latitude, lng: c.longitude, accuracy_m: Math.round(c.accuracy * 10) / 10 } } });
}

async function submit() {
  const v = w.view;
  if (!v || v.busy) return;
  if (!v.photo) {
    v.error = t('worker.need.photo');
    renderView();
    return;
  }
  v.busy = true;
  v.error = '';
  v.geo = '';
  renderView();
  const btn = $('act-submit').querySelector('button[type=submit]');
  btn.textContent = t('worker.uploading');
  let name = '';
  try {
    name = await upload(v.photo, { token: w.token });
  } catch (err) {
    if (w.view === v) v.error = err.message;
  } finally {
    v.busy = false;
    btn.textContent = t('task.action.submit');
  }
  if (w.view !== v) return;
  if (!name) {
    renderView();
    return;
  }
  const ok = await run('submit', { note: $('submit-note').value.trim(), evidence: { photo: name } });
  if (ok && w.view === v) {
    v.photo = null;
    $('photo').value = '';
    $('submit-note').value = '';
    $('photo-preview').hidden = true;
  }
}

// ---------- signing in ----------

function signedOut(note = '') {
  if (w.feed) w.feed.close();
  w.feed = null;
  if (w.tracker) w.tracker.stop();
  w.tracker = null;
  closeView();
  w.me = null;
  $('list-view').hidden = true;
  $('task-view').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = t('worker.sub');
  $('login-view').hidden = false;
  loginForm($('login-host'), { page: PAGE, roles: ROLES, note, onLogin: started });
}

function started(s) {
  w.token = s.token;
  w.me = s.me;
  w.tracker = new Tracker({ token: s.token, onChange: (on) => { $('tracking').hidden = !on; } });
  $('login-view').hidden = true;
  $('logout').hidden = false;
  $('who').textContent = `${nameOf(s.me)} · ${t('worker.sub')}`;
  $('list-view').hidden = false;
  $('alerts-on').hidden = !alerts.canAsk();
  route();
  loadTasks();
  w.feed = events(onCamera, {
    token: w.token,
    onTask,
    onStatus: (st) => {
      $('events-state').hidden = st === 'open';
      if (st === 'open') loadTasks();
    },
  });
}

async function init() {
  applyI18n();
  document.title = t('worker.title');
  langToggle($('lang'));
  startTicker();
  $('logout').addEventListener('click', () => logout(PAGE));
  // sound and notifications need a tap first (alert.js)
  document.addEventListener('pointerdown', () => alerts.arm(), { passive: true });
  $('alerts-on').addEventListener('click', () => {
    alerts.arm();
    $('alerts-on').hidden = true;
  });
  $('back').addEventListener('click', back);
  $('tv-actions').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b || b.type === 'submit') return;
    if (b.dataset.action === 'claim') run('claim', {});
    else if (b.dataset.action === 'arrive') arrive();
  });
  $('act-submit').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });
  $('photo').addEventListener('change', () => {
    const v = w.view;
    const f = $('photo').files && $('photo').files[0];
    if (!v) return;
    v.photo = f || null;
    if (v.previewURL) URL.revokeObjectURL(v.previewURL);
    v.previewURL = f ? URL.createObjectURL(f) : '';
    const img = $('photo-preview');
    img.hidden = !f;
    if (f) img.src = v.previewURL;
    if (f && v.error === t('worker.need.photo')) {
      v.error = '';
      renderView();
    }
  });
  addEventListener('popstate', () => {
    w.pushed = Boolean(history.state && history.state.task);
    if (w.me) route();
  });
  document.addEventListener('visibilitychange', syncLive);
  addEventListener('langchange', () => {
    alerts.renderTitle();
    if (w.me) $('who').textContent = `${nameOf(w.me)} · ${t('worker.sub')}`;
    renderList();
    renderView();
    renderLiveState();
  });
  setInterval(() => { if (w.me) loadTasks(); }, FALLBACK_MS);
  setInterval(() => { if (w.me) renderList(); }, 15000);
  setInterval(() => { if (w.me) alerts.remind([...w.tasks.values()]); }, 20000);

  const s = await session(PAGE, ROLES, { onRetry: (err) => { $('list-note').hidden = false; $('list-note').textContent = t('msg.load.failed', { error: err.message }); } });
  if (s) started(s);
  else signedOut();
}

init();
