// screen: the command center's wall. A grid of live tiles (1/4/9/16/25/36),
// pages of them with automatic rotation, status from /api/events, the
// incident panel (open incidents from /api/incidents, then `incident` events)
// and the tasks (taskboard.js): a slim ticker of the newest open tasks, a
// link to the duty officer's board (/board), and a task's detail with the
// camera beside the timeline. From 9 tiles a
// page up, tiles play the cameras' sub-streams and an enlarged tile the main
// stream; the switch plays the new stream on a second <video> under the
// first and swaps them at its first frame, so the picture never goes black. Staff and admin
// sign in (login.js); the static staff token still opens it.
//
// URL: /screen?layout=4&camera=cam7&rotate=0&task=T…#token=...
//   layout  tiles per page (default 9)
//   camera  start on the page that holds this camera; turns rotation off
//   rotate  0 starts with rotation off
//   task    open this task's detail (kept there while it is open; back closes it)
//   #token  a staff token (the static one, or a login's): stored, then removed from the address bar

import { t, tf, fmtTime, applyI18n, langToggle, cameraWhy, cameraWarning } from './i18n.js';
import { storedToken, storeToken, tokenFromHash, cameras as fetchCameras, events, HttpError, openIncidents, incident as fetchIncident, incidentSnapshotURL } from './api.js';
import { WhepPlayer, viewStatus } from './whep.js';
import { loginForm, session, nameOf, logout } from './login.js';
import { Board, Ticker } from './taskboard.js';
import { Overview } from './overview.js';
import { Playback } from './playback.js';
import { WallMap } from './wallmap.js';

// 0 is the overview of every camera (全部): pictures, not video.
const LAYOUTS = [1, 4, 9, 16, 25, 36, 0];
const ALL = 0;
// SUB_FROM is the number of tiles a page from which tiles play sub-streams:
// a browser cannot decode 9 or more main streams at 720p and more.
const SUB_FROM = 9;
const ROTATE_MS = 30000;
const ENDED_KEEP_MS = 10 * 60 * 1000; // ended incidents fade, then leave the list after this
const NARROW = matchMedia('(max-width: 700px)');

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const CENTER = ['staff', 'admin'];

const wall = {
  token: '',
  cams: [], // in the order of /api/cameras; cameras first seen in events go last
  layout: layoutFrom(params.get('layout')),
  page: 0,
  rotate: !params.has('camera') && params.get('rotate') !== '0',
  rotateTimer: 0,
  tiles: new Map(), // camera id → Tile, only those on the current page
  enlarged: '',
  lastLayout: 9, // the tiles to go back to from the overview
  feed: null,
  eventsLive: true,
  me: null, // the signed-in person's claims (/api/me)
  board: null, // the task detail
  ticker: null,
};

// The incident panel's state.
const inc = {
  all: new Map(), // id → incident
  endedSeen: new Map(), // id → Date.now() when first seen ended (the local clock decides the drop)
  items: new Map(), // id → <li>
  off: false, // detection is not running: the panel shows a note only
  loading: 0, // a load in progress (a number to tell overlapping loads apart)
  error: '',
  panelOpen: !NARROW.matches,
};

function layoutFrom(v) {
  if (v === 'all') return ALL;
  const n = parseInt(v, 10);
  return LAYOUTS.includes(n) ? n : 9;
}

function pages() {
  if (wall.layout === ALL) return 1;
  return Math.max(1, Math.ceil(wall.cams.length / wall.layout));
}

// The overview of every camera, made when first shown.
let overview = null;

function renderOverview() {
  if (!overview) {
    overview = new Overview($('overview'), {
      token: wall.token,
      onOpen: (id) => { setLayout(wall.lastLayout || 9); showCamera(id); },
      incidents: openOf,
      kindText,
    });
  }
  const first = overview.render(wall.cams);
  overview.start();
  return first;
}

/**
 * streamFor is the stream the tile of cam plays now: sub from SUB_FROM tiles
 * a page up, main when enlarged or when the camera has no sub-stream (its
 * health has no sub).
 */
function streamFor(cam) {
  const hasSub = Boolean(cam.health && cam.health.sub);
  return hasSub && wall.layout >= SUB_FROM && wall.enlarged !== cam.id ? 'sub' : 'main';
}

/**
 * Tile is one camera on the wall: two <video>s (the one shown, and the one
 * under it where a switch of stream starts), its player and the overlay.
 * Only the shown video carries data-camera.
 */
class Tile {
  constructor(cam) {
    this.cam = cam;
    const el = document.createElement('div');
    el.className = 'tile';
    el.dataset.camera = cam.id;
    el.innerHTML = `
      <video data-camera="" muted playsinline autoplay disablepictureinpicture></video>
      <video class="back" muted playsinline autoplay disablepictureinpicture></video>
      <div class="tile-msg"><strong></strong><small></small></div>
      <div class="tile-info top"><span class="badge"></span><span class="tile-viewers"></span></div>
      <div class="tile-alert" hidden></div>
      <div class="tile-info bottom"><span class="tile-name"></span><span class="tile-grid"></span></div>
      <div class="hint"></div>`;
    this.el = el;
    [this.video, this.backVideo] = el.querySelectorAll('video');
    this.video.dataset.camera = cam.id;
    this.badge = el.querySelector('.badge');
    this.msg = el.querySelector('.tile-msg strong');
    this.detail = el.querySelector('.tile-msg small');
    this.alert = el.querySelector('.tile-alert');
    el.addEventListener('click', () => setEnlarged(wall.enlarged === cam.id ? '' : cam.id));
    this.player = this.newPlayer(this.video, streamFor(cam));
    this.pending = null; // the player of a stream switch, until its first frame
    this.sync();
    this.render();
  }

  newPlayer(video, stream) {
    const p = new WhepPlayer(video, {
      camera: this.cam.id,
      token: wall.token,
      stream,
      onState: (state) => {
        if (p === this.player) this.render();
        else if (p === this.pending && state === 'playing') this.swap();
      },
    });
    return p;
  }

  /**
   * setStream switches the tile to stream ('main' or 'sub'): the new session
   * plays on the video underneath, and the two swap at its first frame. A
   * stopped tile (a warning) only remembers it.
   */
  setStream(stream) {
    if (this.pending) {
      if (this.pending.stream === stream) return;
      this.pending.stop();
      this.pending = null;
    }
    if (this.player.stream === stream) return;
    if (!this.player.running || this.player.state !== 'playing') {
      // nothing shown yet: no picture to keep, start over at once
      const was = this.player.running;
      this.player.stop();
      this.player = this.newPlayer(this.video, stream);
      if (was) this.player.start();
      this.render();
      return;
    }
    this.pending = this.newPlayer(this.backVideo, stream);
    delete this.backVideo.dataset.camera; // not shown yet: the tests' hook is the shown video
    this.pending.start();
  }

  // swap shows the pending player's video (it has a frame) over the old one,
  // then ends the old session.
  swap() {
    const old = this.player;
    [this.video, this.backVideo] = [this.backVideo, this.video];
    this.player = this.pending;
    this.pending = null;
    this.video.classList.remove('back');
    this.video.dataset.camera = this.cam.id;
    this.backVideo.classList.add('back');
    delete this.backVideo.dataset.camera;
    old.stop();
    this.render();
  }

  /** update takes a newer camera object (from /api/events). */
  update(cam) {
    const wasOffline = this.cam.health && this.cam.health.online === false;
    this.cam = cam;
    const online = cam.health && cam.health.online;
    // Back from offline: a session that went silent would wait for the stall
    // watchdog; start a new one now unless the picture is already moving.
    if (wasOffline && online && this.player.running && !(this.player.state === 'playing' && performance.now() - this.player.lastFrameAt < 2000)) {
      this.player.restart();
    }
    this.sync();
    this.render();
  }

  // A camera with a warning (B-frames, …) shows it instead of the video, so
  // the player only runs without one.
  sync() {
    const warned = Boolean(this.cam.health && this.cam.health.warning);
    if (warned && this.player.running) {
      this.player.stop();
      if (this.pending) this.pending.stop();
      this.pending = null;
    } else if (!warned && !this.player.running) this.player.start();
  }

  render() {
    const cam = this.cam;
    const h = cam.health || {};
    const status = viewStatus(this.player.state, cam);
    this.el.dataset.status = status;
    this.badge.dataset.status = status;
    this.badge.textContent = t(`status.${status}`);
    this.el.querySelector('.tile-name').textContent = cam.name || cam.id;
    this.el.querySelector('.tile-name').title = (cam.location && cam.location.address) || '';
    this.el.querySelector('.tile-grid').textContent = cam.grid || '';
    this.el.querySelector('.tile-viewers').textContent = Number.isFinite(cam.viewers) ? t('viewers', { n: cam.viewers }) : '';
    this.el.querySelector('.hint').textContent = t('screen.enlarged.hint');
    let msg = '';
    let detail = '';
    switch (status) {
      case 'offline': msg = t('status.offline'); detail = cameraWhy(h) || this.player.message || t('msg.offline'); break;
      case 'forbidden': msg = t('status.forbidden'); detail = t('msg.forbidden'); break;
      case 'busy': msg = t('status.busy'); detail = t('msg.busy'); break;
      case 'warning': msg = t('status.warning'); detail = cameraWarning(h); break;
      case 'error': msg = t('status.error'); detail = this.player.message; break;
      case 'idle': msg = t('status.idle'); break;
      case 'connecting': msg = t('msg.connecting'); break;
      default: break;
    }
    this.msg.textContent = msg;
    this.detail.textContent = detail;
    this.renderIncident();
  }

  // A camera with an open incident: red pulsing outline and the newest kind.
  renderIncident() {
    const open = openOf(this.cam.id);
    this.el.classList.toggle('tile--incident', open.length > 0);
    this.alert.hidden = open.length === 0;
    if (open.length) {
      this.alert.dataset.kind = open[0].kind;
      this.alert.textContent = kindText(open[0]) + (open.length > 1 ? ` ${t('inc.more', { n: open.length - 1 })}` : '');
    } else {
      delete this.alert.dataset.kind;
      this.alert.textContent = '';
    }
  }

  destroy() {
    this.player.stop();
    if (this.pending) this.pending.stop();
    this.el.remove();
  }
}

function emptySlot() {
  const el = document.createElement('div');
  el.className = 'tile empty';
  return el;
}

// Puts the current page's tiles on the wall. Tiles that stay are not moved
// (taking a playing <video> out of the document pauses it); tiles that leave
// stop their players. In the overview it returns a promise of the first
// pictures.
function renderWall() {
  const all = wall.layout === ALL;
  $('overview').hidden = !all;
  $('wall').hidden = all;
  if (all) {
    // pictures instead of video: every tile's session ends
    for (const tile of wall.tiles.values()) tile.destroy();
    wall.tiles.clear();
    wall.enlarged = '';
    const first = renderOverview();
    renderControls();
    return first;
  }
  if (overview) overview.stop();
  const n = wall.layout;
  const cols = Math.round(Math.sqrt(n));
  const grid = $('wall');
  grid.style.setProperty('--cols', cols);
  grid.style.setProperty('--cols-narrow', Math.min(cols, 2));
  wall.page = Math.min(Math.max(wall.page, 0), pages() - 1);

  const onPage = wall.cams.slice(wall.page * n, wall.page * n + n);
  const ids = new Set(onPage.map((c) => c.id));
  for (const [id, tile] of wall.tiles) {
    if (!ids.has(id)) {
      tile.destroy();
      wall.tiles.delete(id);
      if (wall.enlarged === id) wall.enlarged = '';
    }
  }
  const wanted = onPage.map((cam) => {
    let tile = wall.tiles.get(cam.id);
    if (!tile) {
      tile = new Tile(cam);
      wall.tiles.set(cam.id, tile);
    }
    return tile.el;
  });
  for (const tile of wall.tiles.values()) tile.setStream(streamFor(tile.cam));
  if (wall.cams.length > n) while (wanted.length < n) wanted.push(emptySlot());
  const same = wanted.length === grid.children.length && wanted.every((el, i) => grid.children[i] === el);
  if (!same) {
    for (const el of [...grid.children]) if (!wanted.includes(el)) el.remove();
    wanted.forEach((el, i) => { if (grid.children[i] !== el) grid.insertBefore(el, grid.children[i] || null); });
    for (const tile of wall.tiles.values()) if (tile.video.srcObject && tile.video.paused) tile.video.play().catch(() => {});
  }

  const msg = $('wall-msg');
  msg.hidden = wall.cams.length > 0;
  msg.textContent = t('msg.no.cameras');
  renderControls();
}

function renderControls() {
  const total = pages();
  $('controls').hidden = false;
  $('pager').hidden = false;
  for (const b of $('layouts').querySelectorAll('button')) b.setAttribute('aria-pressed', String(Number(b.dataset.layout) === wall.layout));
  $('page-label').textContent = t('screen.page', { page: wall.page + 1, pages: total });
  $('prev').disabled = total <= 1;
  $('next').disabled = total <= 1;
  const rot = $('rotate');
  rot.setAttribute('aria-pressed', String(wall.rotate));
  rot.textContent = t(wall.rotate ? 'screen.rotate.on' : 'screen.rotate.off');
  rot.disabled = total <= 1;
  const online = wall.cams.filter((c) => c.health && c.health.online).length;
  $('online-count').textContent = t('screen.online.count', { online, total: wall.cams.length });
  $('events-state').hidden = wall.eventsLive;
}

function goPage(delta) {
  wall.page = (wall.page + delta + pages()) % pages();
  renderWall();
  restartRotation();
}

function restartRotation() {
  clearInterval(wall.rotateTimer);
  wall.rotateTimer = setInterval(() => {
    if (wall.rotate && !wall.enlarged && pages() > 1) {
      wall.page = (wall.page + 1) % pages();
      renderWall();
    }
  }, ROTATE_MS);
}

function setLayout(n) {
  const first = wall.layout === ALL ? 0 : wall.page * wall.layout;
  if (wall.layout !== ALL) wall.lastLayout = wall.layout;
  wall.layout = n;
  wall.page = n === ALL ? 0 : Math.floor(first / n);
  const p = new URLSearchParams(location.search);
  p.set('layout', String(n));
  history.replaceState(history.state, '', `${location.pathname}?${p}${location.hash}`);
  setEnlarged('');
  renderWall();
  restartRotation();
}

function setEnlarged(id) {
  wall.enlarged = id;
  for (const [tid, tile] of wall.tiles) {
    tile.el.classList.toggle('enlarged', tid === id);
    tile.setStream(streamFor(tile.cam));
    // an enlarged tile can look back through its recording (playback.js)
    if (tid === id && !tile.playback) tile.playback = new Playback(tile.el, tid, wall.token);
    else if (tid !== id && tile.playback) {
      tile.playback.close();
      tile.playback = null;
    }
  }
  document.body.classList.toggle('has-enlarged', Boolean(id));
}

function onCamera(cam) {
  if (wallMap) wallMap.camera(cam);
  const i = wall.cams.findIndex((c) => c.id === cam.id);
  if (i >= 0) wall.cams[i] = cam;
  else wall.cams.push(cam);
  const tile = wall.tiles.get(cam.id);
  if (tile) tile.update(cam);
  if (i < 0 || wall.layout === ALL) renderWall();
  else renderControls();
}

// ---------- incidents ----------

const isOpen = (i) => !i.ended_ms;

/** openOf returns the camera's open incidents, newest first. */
function openOf(camera) {
  return [...inc.all.values()].filter((i) => i.camera === camera && isOpen(i)).sort((a, b) => b.started_ms - a.started_ms);
}

function kindText(i) {
  const key = `inc.kind.${i.kind}`;
  const s = t(key);
  return s === key ? i.kind : s;
}

function detailText(i) {
  if (!i.detail) return '';
  const key = `inc.detail.${i.detail}`;
  const s = t(key);
  return tf(i.code, i.params, s === key ? i.detail : s);
}

function camName(id) {
  const c = wall.cams.find((x) => x.id === id);
  return (c && c.name) || id;
}

/** when: the center's time to the second; the date too when it is not today. */
function when(ms) {
  return fmtTime(ms);
}

function ago(ms) {
  const s = Math.max(0, Math.floor((Date.now() - ms) / 1000));
  if (s < 5) return t('ago.now');
  if (s < 60) return t('ago.s', { n: s });
  if (s < 3600) return t('ago.m', { n: Math.floor(s / 60) });
  if (s < 86400) return t('ago.h', { n: Math.floor(s / 3600) });
  return t('ago.d', { n: Math.floor(s / 86400) });
}

// merge keeps the newer of two versions of an incident; an ended one wins a tie.
function merge(next) {
  const old = inc.all.get(next.id);
  if (old) {
    if ((old.updated_ms || 0) > (next.updated_ms || 0)) return;
    if (!isOpen(old) && isOpen(next) && (old.updated_ms || 0) === (next.updated_ms || 0)) return;
  }
  inc.all.set(next.id, old ? { ...old, ...next, ended_ms: next.ended_ms || 0 } : { ...next, ended_ms: next.ended_ms || 0 });
  if (!isOpen(next) && !inc.endedSeen.has(next.id)) inc.endedSeen.set(next.id, Date.now());
  if (isOpen(next)) inc.endedSeen.delete(next.id);
}

function onIncident(i) {
  if (inc.off) return;
  merge(i);
  renderIncidents();
  if (wallMap) wallMap.incidentsChanged();
}

// loadIncidents takes the open incidents (at start and after each reconnect of
// the event stream, which does not replay them). Incidents we hold as open that
// are no longer in the list ended meanwhile: they are fetched for their end.
async function loadIncidents() {
  const my = ++inc.loading;
  let delay = 2000;
  for (;;) {
    try {
      const list = await openIncidents({ token: wall.token });
      if (my !== inc.loading) return;
      inc.off = false;
      inc.error = '';
      const ids = new Set(list.map((i) => i.id));
      for (const i of list) merge(i);
      const gone = [...inc.all.values()].filter((i) => isOpen(i) && !ids.has(i.id));
      renderIncidents();
      for (const g of gone) {
        try {
          merge(await fetchIncident(g.id, { token: wall.token }));
        } catch {
          merge({ ...g, ended_ms: Date.now(), updated_ms: Date.now() });
        }
      }
      if (gone.length) renderIncidents();
      return;
    } catch (err) {
      if (my !== inc.loading) return;
      if (err instanceof HttpError && err.status === 503) {
        inc.off = true;
        inc.all.clear();
        renderIncidents();
        return;
      }
      inc.error = err.message;
      renderIncidents();
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }
}

function sorted() {
  return [...inc.all.values()].sort((a, b) => (isOpen(b) - isOpen(a)) || (b.started_ms - a.started_ms));
}

function incidentItem(i) {
  const li = document.createElement('li');
  li.className = 'incident';
  li.dataset.id = i.id;
  li.innerHTML = `
    <button type="button" class="incident-btn">
      <span class="incident-pic"><img alt="" decoding="async"><span class="no-pic"></span></span>
      <span class="incident-text">
        <span class="incident-kind"></span>
        <span class="incident-cam"></span>
        <span class="incident-time"></span>
        <span class="incident-end"></span>
      </span>
    </button>`;
  const img = li.querySelector('img');
  img.addEventListener('error', () => { li.classList.add('incident--nopic'); });
  img.addEventListener('load', () => { li.classList.remove('incident--nopic'); });
  li.querySelector('button').addEventListener('click', () => showCamera(li.dataset.camera));
  return li;
}

function fillItem(li, i) {
  const open = isOpen(i);
  li.dataset.camera = i.camera;
  li.dataset.kind = i.kind;
  li.dataset.open = String(open);
  li.classList.toggle('incident--ended', !open);
  const img = li.querySelector('img');
  // The picture is taken when the incident is raised; an update may bring it.
  const src = i.snapshot ? incidentSnapshotURL(i.id, wall.token) : '';
  if (src && img.dataset.src !== src + i.snapshot) {
    img.dataset.src = src + i.snapshot;
    img.src = src;
  } else if (!src) {
    li.classList.add('incident--nopic');
  }
  img.alt = `${kindText(i)} · ${camName(i.camera)}`;
  li.querySelector('.no-pic').textContent = t('inc.no.picture');
  const detail = detailText(i);
  li.querySelector('.incident-kind').textContent = kindText(i) + (detail ? ` · ${detail}` : '');
  li.querySelector('.incident-cam').textContent = camName(i.camera) + (i.zone ? ` · ${i.zone}` : '');
  li.querySelector('.incident-time').textContent = `${t('inc.started', { time: when(i.started_ms) })} · ${ago(i.started_ms)}`;
  li.querySelector('.incident-end').textContent = open ? '' : t('inc.ended', { time: when(i.ended_ms) });
  li.querySelector('button').title = `${kindText(i)} · ${camName(i.camera)}`;
}

// renderIncidents draws the list (open first, newest first), drops ended ones
// after ENDED_KEEP_MS, and marks the tiles and the header count.
function renderIncidents() {
  const now = Date.now();
  for (const [id, seen] of inc.endedSeen) {
    if (now - seen > ENDED_KEEP_MS) {
      inc.endedSeen.delete(id);
      inc.all.delete(id);
    }
  }
  const list = $('incidents-list');
  const note = $('incidents-note');
  const items = inc.off ? [] : sorted();
  const keep = new Set(items.map((i) => i.id));
  for (const [id, li] of inc.items) if (!keep.has(id)) { li.remove(); inc.items.delete(id); }
  items.forEach((i, n) => {
    let li = inc.items.get(i.id);
    if (!li) { li = incidentItem(i); inc.items.set(i.id, li); }
    fillItem(li, i);
    if (list.children[n] !== li) list.insertBefore(li, list.children[n] || null);
  });
  const open = items.filter(isOpen).length;
  list.hidden = inc.off;
  note.hidden = !(inc.off || inc.error || !items.length);
  note.textContent = inc.off ? t('inc.off') : inc.error ? t('inc.failed', { error: inc.error }) : t('inc.none');
  note.classList.toggle('error', Boolean(inc.error) && !inc.off);
  for (const id of ['incidents-count', 'incidents-head-count']) {
    const c = $(id);
    c.textContent = String(open);
    c.hidden = inc.off;
    c.classList.toggle('hot', open > 0);
  }
  $('incidents-toggle').classList.toggle('hot', open > 0);
  for (const tile of wall.tiles.values()) tile.renderIncident();
  if (overview && wall.layout === ALL) overview.render(wall.cams);
}

function setPanel(open) {
  inc.panelOpen = open;
  document.body.classList.toggle('incidents-open', open);
  $('incidents-toggle').setAttribute('aria-expanded', String(open));
  $('incidents-head').setAttribute('aria-expanded', String(open));
}

// showCamera enlarges the camera's tile, going to its page first.
function showCamera(id) {
  const at = wall.cams.findIndex((c) => c.id === id);
  if (at < 0) return;
  if (wall.layout === ALL) setLayout(wall.lastLayout || 9);
  const page = Math.floor(at / wall.layout);
  if (page !== wall.page) {
    wall.page = page;
    renderWall();
    restartRotation();
  }
  if (NARROW.matches) setPanel(false);
  setEnlarged(id);
}

// showLogin puts the sign-in form in place of the wall; note says why (an
// expired sign-in), or is ''; badToken marks the staff token as refused.
function showLogin(note, badToken = false) {
  $('wall').hidden = true;
  $('overview').hidden = true;
  $('wall-msg').hidden = true;
  $('controls').hidden = true;
  $('pager').hidden = true;
  $('logout').hidden = true;
  $('incidents').hidden = true;
  $('incidents-toggle').hidden = true;
  $('ticker').hidden = true;
  $('map-toggle').hidden = true;
  if (wallMap) wallMap.hide();
  $('who').textContent = '';
  $('token-view').hidden = false;
  $('token-error').hidden = !badToken;
  if (badToken) $('token-view').querySelector('.token-more').open = true;
  loginForm($('login-host'), {
    page: 'screen',
    roles: CENTER,
    note,
    onLogin: (s) => {
      wall.token = s.token;
      start(s);
    },
  });
}

// ---------- the map (wallmap.js) ----------

let wallMap = null;

// setMap shows the map over the wall, or the wall again; ?map=1 keeps it
// across a reload.
function setMap(open) {
  if (open && !wallMap) {
    wallMap = new WallMap($('mapview'), {
      token: wall.token,
      cameras: () => wall.cams,
      incidents: openOf,
      onCamera: (id) => { setMap(false); showCamera(id); },
      onTask: (id) => { if (wall.board) wall.board.open(id); },
    });
  }
  if (open) wallMap.show();
  else if (wallMap) wallMap.hide();
  $('map-toggle').setAttribute('aria-expanded', String(open));
  $('map-toggle').classList.toggle('on', open);
  const p = new URLSearchParams(location.search);
  if (open) p.set('map', '1');
  else p.delete('map');
  history.replaceState(history.state, '', `${location.pathname}${p.size ? `?${p}` : ''}${location.hash}`);
}

// Loads the camera list, retrying on network and server errors; a refused
// token brings the form back.
async function load() {
  let delay = 2000;
  for (;;) {
    try {
      return await fetchCameras({ token: wall.token });
    } catch (err) {
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) return null;
      const msg = $('wall-msg');
      msg.hidden = false;
      msg.textContent = t('msg.load.failed', { error: err.message });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
}

// start checks the token (unless a fresh login brings its claims), then
// shows the wall, the incidents and the tasks ticker.
async function start(signedIn = null, { viaToken = false } = {}) {
  $('token-view').hidden = true;
  const s = signedIn || await session('screen', CENTER, {
    token: wall.token,
    onRetry: (err) => {
      const msg = $('wall-msg');
      msg.hidden = false;
      msg.textContent = t('msg.load.failed', { error: err.message });
    },
  });
  if (!s) {
    wall.token = '';
    showLogin(viaToken ? '' : t('login.expired'), viaToken);
    return;
  }
  wall.me = s.me;
  $('who').textContent = nameOf(s.me);
  $('wall').hidden = false;
  $('logout').hidden = false;
  const list = await load();
  if (list === null) {
    storeToken('');
    wall.token = '';
    showLogin('', true);
    return;
  }
  wall.cams = list;
  $('incidents').hidden = false;
  $('incidents-toggle').hidden = false;
  setPanel(inc.panelOpen);
  const want = params.get('camera');
  const at = want ? wall.cams.findIndex((c) => c.id === want) : -1;
  if (at >= 0 && wall.layout !== ALL) wall.page = Math.floor(at / wall.layout);
  const first = renderWall();
  restartRotation();
  renderIncidents();
  // The overview's first pictures go before the ticker's list: a browser
  // has six connections to the bridge, and list requests ahead of them
  // held 128 pictures back by seconds.
  if (first) await Promise.race([first, new Promise((r) => { setTimeout(r, 3000); })]);
  wall.board = new Board({ token: wall.token, me: s.me, cameras: () => wall.cams });
  wall.ticker = new Ticker({ token: wall.token, cameras: () => wall.cams, onOpen: (id) => wall.board.open(id) });
  wall.ticker.start();
  if (params.get('task')) wall.board.open(params.get('task'), '', { push: false });
  $('map-toggle').hidden = false;
  if (params.get('map') === '1') setMap(true);
  wall.feed = events(onCamera, {
    token: wall.token,
    onIncident,
    onTask: (m) => {
      wall.board.onTask(m);
      wall.ticker.onTask(m);
      if (wallMap) wallMap.onTask(m);
    },
    onPosition: (p) => { if (wallMap) wallMap.onPosition(p); },
    // The stream replays neither incidents nor tasks: (re)load both on each connect.
    onStatus: (st) => {
      wall.eventsLive = st === 'open';
      renderControls();
      if (st === 'open') {
        loadIncidents();
        wall.ticker.reload();
        if (wallMap) wallMap.reload();
      }
    },
  });
}

function tick() {
  const now = new Date();
  const el = $('clock');
  el.textContent = fmtTime(now.getTime(), { date: 'full' });
  el.dateTime = now.toISOString();
}

function init() {
  applyI18n();
  document.title = t('screen.title');
  langToggle($('lang'));
  tick();
  setInterval(tick, 1000);
  setInterval(() => { if (!$('incidents').hidden) renderIncidents(); }, 5000);
  $('incidents-toggle').title = t('inc.toggle.title');
  $('incidents-toggle').addEventListener('click', () => setPanel(!inc.panelOpen));
  $('incidents-head').addEventListener('click', () => setPanel(!inc.panelOpen));

  $('layouts').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-layout]');
    if (b) setLayout(Number(b.dataset.layout));
  });
  $('prev').addEventListener('click', () => goPage(-1));
  $('next').addEventListener('click', () => goPage(1));
  $('rotate').addEventListener('click', () => {
    wall.rotate = !wall.rotate;
    renderControls();
    restartRotation();
  });
  $('logout').addEventListener('click', () => logout('screen'));
  $('map-toggle').addEventListener('click', () => setMap(!(wallMap && wallMap.shown)));
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('token-input').value.trim();
    if (!token) return;
    storeToken(token);
    wall.token = token;
    $('token-input').value = '';
    start(null, { viaToken: true });
  });
  addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement) return;
    if (ev.key === 'Escape' && wall.board && wall.board.detail) return; // the detail closes first
    if (ev.key === 'Escape') setEnlarged('');
    else if (ev.key === 'ArrowRight' || ev.key === 'PageDown') goPage(1);
    else if (ev.key === 'ArrowLeft' || ev.key === 'PageUp') goPage(-1);
  });
  addEventListener('langchange', () => {
    for (const tile of wall.tiles.values()) tile.render();
    if (!$('wall').hidden) renderControls();
    if (!$('incidents').hidden) renderIncidents();
    $('incidents-toggle').title = t('inc.toggle.title');
    if (wall.board) wall.board.relabel();
    if (wall.ticker) wall.ticker.render();
    if (wall.me) $('who').textContent = nameOf(wall.me);
    document.title = t('screen.title');
    tick();
  });

  const fromHash = tokenFromHash();
  wall.token = fromHash || storedToken();
  if (!wall.token) showLogin('');
  else start(null, { viaToken: Boolean(fromHash) });
}

init();
