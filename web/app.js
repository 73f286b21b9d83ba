// app: residents' phone page. The public cameras as a list with a recent
// picture each (refreshed every 10 s while on screen); a tap opens the live
// video full screen. /app?camera=cam3 opens that camera's live view directly.
//
// Residents have no token: this page never sends one, so it sees what any
// resident sees (a private camera shows 无权限).

import { t, applyI18n, langToggle } from './i18n.js';
import { cameras as fetchCameras, events, snapshotURL } from './api.js';
import { WhepPlayer, viewStatus } from './whep.js';

const SNAPSHOT_MS = 10000;

const $ = (id) => document.getElementById(id);

const app = {
  cams: [],
  byId: new Map(),
  cards: new Map(), // camera id → {li, img, badge, viewers, loading, hasPic}
  seen: new Set(), // ids of cards on screen now
  player: null,
  pushed: false, // the live view was opened from the list: Back goes back in history
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
  li.querySelector('button').addEventListener('click', () => {
    history.pushState({ camera: cam.id }, '', `${location.pathname}?camera=${encodeURIComponent(cam.id)}`);
    app.pushed = true;
    route();
  });
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

function openLive(id) {
  const view = $('live-view');
  view.hidden = false;
  document.body.classList.add('live-open');
  if (!app.player || app.player.camera !== id) {
    if (app.player) app.player.stop();
    app.player = new WhepPlayer($('live'), { camera: id, onState: renderLive });
  }
  syncLive();
  renderLive();
}

function closeLive() {
  if (app.player) app.player.stop();
  app.player = null;
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
    case 'offline': msg = t('status.offline'); detail = h.last_error || p.message || t('msg.offline'); break;
    case 'forbidden': msg = t('status.forbidden'); detail = t('msg.forbidden'); break;
    case 'warning': msg = t('status.warning'); detail = h.warning; break;
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
  const id = new URLSearchParams(location.search).get('camera');
  if (id) openLive(id);
  else closeLive();
}

function back() {
  if (app.pushed) {
    app.pushed = false;
    history.back();
    return;
  }
  history.replaceState(null, '', location.pathname);
  route();
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
  addEventListener('popstate', () => {
    app.pushed = Boolean(history.state && history.state.camera);
    route();
  });
  addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && !$('live-view').hidden && !document.fullscreenElement) back(); });
  document.addEventListener('visibilitychange', () => {
    syncLive();
    if (listShown()) for (const id of app.seen) refreshPicture(id);
  });
  addEventListener('langchange', () => {
    document.title = t('app.title');
    for (const cam of app.cams) renderCard(cam);
    renderList();
    renderLive();
  });
  route();
  loadList();
  events(onCamera);
}

init();
