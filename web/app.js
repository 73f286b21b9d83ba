// app: residents' phone page. The public cameras as a list with a recent
// picture each (refreshed every 10 s while on screen); a tap opens the live
// video full screen, with the closed tasks of that camera to rate below it.
// Residents also report a problem and follow their reports (resident.js).
//
// URL: /app?camera=cam3 opens that camera's live view; ?view=report (&at=cam3
// to name the camera), ?view=mine and ?task=T… open the report form, my
// reports and one report.
//
// Watching sends no token, so it sees what any resident sees (a private
// camera shows 无权限). A resident's token (a device's, got the first time
// one is needed: to list a camera's closed tasks, to report or to rate)
// goes with those calls and the event stream, never with the video.
//
// On mobile data (navigator.connection, where the browser has it) the live
// view plays the camera's low-resolution sub-stream; on Wi-Fi, a wired
// network or when the browser does not say, the main stream.

import { t, applyI18n, langToggle, cameraWhy, cameraWarning } from './i18n.js';
import { cameras as fetchCameras, events, snapshotURL } from './api.js';
import { WhepPlayer, viewStatus } from './whep.js';
import { initResident, show as showSheet, watchCamera, onTask, relabel, camerasLoaded, token as residentToken } from './resident.js';

const SNAPSHOT_MS = 10000;

const $ = (id) => document.getElementById(id);

const app = {
  cams: [],
  byId: new Map(),
  cards: new Map(), // camera id → {li, img, badge, viewers, loading, hasPic}
  seen: new Set(), // ids of cards on screen now
  player: null,
  feed: null,
};

// ---------- the list ----------

function card(cam) {
  const li = document.createElement('li');
  li.className = 'cam-card';
  li.dataset.camera = cam.id;
  li.innerHTML = `
    <button type="button" class="cam-open">
      <div class="cam-pic"><img alt=""><span class="no-pic"></span><span class="badge"></span><span class="play"></span></div>
      <div class="cam-text"><span class="cam-name"></span><span class="cam-addr"></span><span class="cam-viewers"></span></div>
    </button>`;
  li.querySelector('button').addEventListener('click', () => nav(`?camera=${encodeURIComponent(cam.id)}`));
  const c = { li, img: li.querySelector('img'), loading: false, hasPic: false };
  app.cards.set(cam.id, c);
  visibility.observe(li);
  return c;
}

function renderCard(cam) {
  const c = app.cards.get(cam.id) || card(cam);
  const h = cam.health || {};
  const status = h.warning ? 'warning' : h.online ? 'online' : 'offline';
  const badge = c.li.querySelector('.badge');
  badge.dataset.status = status;
  badge.textContent = t(`status.${status}`);
  c.li.querySelector('.cam-name').textContent = cam.name || cam.id;
  c.li.querySelector('.cam-addr').textContent = (cam.location && cam.location.address) || cam.grid || '';
  c.li.querySelector('.cam-viewers').textContent = Number.isFinite(cam.viewers) ? t('viewers', { n: cam.viewers }) : '';
  c.li.querySelector('.no-pic').textContent = c.hasPic ? '' : t('msg.no.picture');
  c.img.alt = cam.name || cam.id;
  return c;
}

function renderList() {
  const ul = $('cam-list');
  const lis = app.cams.map((cam) => renderCard(cam).li);
  if (lis.length !== ul.children.length || lis.some((li, i) => ul.children[i] !== li)) ul.replaceChildren(...lis);
  const note = $('list-msg');
  note.textContent = app.cams.length ? t('app.refresh.note') : t('msg.no.cameras');
}

// The picture is loaded off screen first, so a failed refresh (404/503: no
// key frame yet) keeps the last good one instead of a broken image.
function refreshPicture(id) {
  const c = app.cards.get(id);
  if (!c || c.loading) return;
  c.loading = true;
  const img = new Image();
  img.onload = () => {
    c.loading = false;
    c.img.src = img.src;
    c.hasPic = true;
    c.li.querySelector('.no-pic').textContent = '';
  };
  img.onerror = () => { c.loading = false; };
  img.src = snapshotURL(id);
}

const visibility = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const id = e.target.dataset.camera;
    if (e.isIntersecting) {
      const fresh = !app.seen.has(id);
      app.seen.add(id);
      if (fresh && listShown()) refreshPicture(id);
    } else {
      app.seen.delete(id);
    }
  }
}, { rootMargin: '100px' });

function listShown() {
  return document.visibilityState === 'visible' && $('live-view').hidden;
}

setInterval(() => {
  if (!listShown()) return;
  for (const id of app.seen) refreshPicture(id);
}, SNAPSHOT_MS);

async function loadList() {
  let delay = 2000;
  for (;;) {
    try {
      app.cams = await fetchCameras();
      break;
    } catch (err) {
      $('list-msg').textContent = t('msg.load.failed', { error: err.message });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }
  for (const cam of app.cams) app.byId.set(cam.id, cam);
  renderList();
  syncLive();
  renderLive();
  camerasLoaded();
}

function onCamera(cam) {
  const known = app.byId.has(cam.id);
  app.byId.set(cam.id, cam);
  if (known) {
    const i = app.cams.findIndex((c) => c.id === cam.id);
    if (i >= 0) app.cams[i] = cam;
  } else {
    app.cams.push(cam);
  }
  if (known) renderCard(cam);
  else renderList();
  if (app.player && app.player.camera === cam.id) {
    syncLive();
    renderLive();
  }
}

// ---------- the live view ----------

// liveStream is the stream the live view asks for: 'sub' on mobile data.
// type is Chrome on Android's word for the link ('cellular'); where it is
// unknown, a slow effectiveType (2g, 3g) says the same.
function liveStream(conn = navigator.connection) {
  if (!conn) return 'main';
  if (conn.type === 'cellular') return 'sub';
  if (conn.type && conn.type !== 'unknown') return 'main';
  return ['slow-2g', '2g', '3g'].includes(conn.effectiveType) ? 'sub' : 'main';
}

function openLive(id) {
  const view = $('live-view');
  view.hidden = false;
  document.body.classList.add('live-open');
  if (!app.player || app.player.camera !== id) {
    if (app.player) app.player.stop();
    // a camera known to have no sub-stream plays main; one not listed yet
    // (opened from the address) may ask, and the server falls back to main
    const cam = app.byId.get(id);
    const noSub = cam && !(cam.health && cam.health.sub);
    app.player = new WhepPlayer($('live'), { camera: id, stream: noSub ? 'main' : liveStream(), onState: renderLive });
  }
  watchCamera(id);
  syncLive();
  renderLive();
}

function closeLive() {
  if (app.player) app.player.stop();
  app.player = null;
  watchCamera('');
  $('live-view').hidden = true;
  document.body.classList.remove('live-open');
  for (const id of app.seen) refreshPicture(id);
}

// Plays while the page is visible and the camera has no warning; a hidden
// phone page gives its session back (data plan, battery, server).
function syncLive() {
  const p = app.player;
  if (!p) return;
  const cam = app.byId.get(p.camera);
  const warned = Boolean(cam && cam.health && cam.health.warning);
  const want = !warned && document.visibilityState === 'visible';
  if (want && !p.running) p.start();
  else if (!want && p.running) p.stop();
}

function renderLive() {
  const p = app.player;
  if (!p) return;
  const cam = app.byId.get(p.camera);
  const h = (cam && cam.health) || {};
  const status = viewStatus(p.state, cam);
  const view = $('live-view');
  view.dataset.status = status;
  const badge = $('live-status');
  badge.dataset.status = status;
  badge.textContent = t(`status.${status}`);
  $('live-name').textContent = (cam && cam.name) || p.camera;
  $('live-address').textContent = (cam && cam.location && cam.location.address) || '';
  $('live-viewers').textContent = cam && Number.isFinite(cam.viewers) ? t('viewers', { n: cam.viewers }) : '';
  let msg = '';
  let detail = '';
  switch (status) {
    case 'offline': msg = t('status.offline'); detail = cameraWhy(h) || p.message || t('msg.offline'); break;
    case 'forbidden': msg = t('status.forbidden'); detail = t('msg.forbidden'); break;
    case 'busy': msg = t('status.busy'); detail = t('msg.busy'); break;
    case 'warning': msg = t('status.warning'); detail = cameraWarning(h); break;
    case 'error': msg = t('status.error'); detail = p.message; break;
    case 'connecting': msg = t('msg.connecting'); break;
    default: break;
  }
  const box = $('live-msg');
  box.replaceChildren();
  if (msg) {
    const s = document.createElement('strong');
    s.textContent = msg;
    box.append(s);
  }
  if (detail) {
    const d = document.createElement('small');
    d.textContent = detail;
    box.append(d);
  }
}

function route() {
  const q = new URLSearchParams(location.search);
  const view = q.get('view');
  const task = q.get('task');
  const sheet = view === 'report' || view === 'mine' ? view : task ? 'detail' : '';
  showSheet(sheet, { task, camera: q.get('at') || '' });
  const id = q.get('camera');
  if (id && !sheet) openLive(id);
  else closeLive();
}

// nav goes to another view (search is the new query, null: the one the
// address has now); the entries it pushes are marked, so Back knows it may
// go back in history rather than leave the page.
function nav(search) {
  if (search !== null) history.pushState({ app: true }, '', `${location.pathname}${search}`);
  route();
}

function back() {
  if (history.state && history.state.app) {
    history.back();
    return;
  }
  history.replaceState(null, '', location.pathname);
  route();
}

// The event stream carries the resident's token once there is one, so the
// server can send the task events of the resident's reports.
function follow(token) {
  if (app.feed) app.feed.close();
  app.feed = events(onCamera, { token, onTask });
}

function init() {
  applyI18n();
  document.title = t('app.title');
  langToggle($('lang'));
  $('back').addEventListener('click', back);
  $('fullscreen').addEventListener('click', () => {
    const v = $('live');
    const stage = $('live-stage');
    if (stage.requestFullscreen) stage.requestFullscreen().catch(() => {});
    else if (v.webkitEnterFullscreen) v.webkitEnterFullscreen(); // iPhone Safari
  });
  addEventListener('popstate', route);
  addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || document.fullscreenElement || $('rate-dialog').open) return;
    if (!$('live-view').hidden || document.body.classList.contains('sheet-open')) back();
  });
  $('open-report').addEventListener('click', () => nav('?view=report'));
  $('open-mine').addEventListener('click', () => nav('?view=mine'));
  $('live-report').addEventListener('click', () => {
    const cam = app.player ? app.player.camera : '';
    nav(`?view=report${cam ? `&at=${encodeURIComponent(cam)}` : ''}`);
  });
  initResident({ cams: () => app.cams, onToken: follow, nav, back });
  document.addEventListener('visibilitychange', () => {
    syncLive();
    if (listShown()) for (const id of app.seen) refreshPicture(id);
  });
  addEventListener('langchange', () => {
    document.title = t('app.title');
    for (const cam of app.cams) renderCard(cam);
    renderList();
    renderLive();
    relabel();
  });
  route();
  loadList();
  follow(residentToken());
}

init();
