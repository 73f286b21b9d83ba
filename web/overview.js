// overview: every camera of the wall at once (分屏 "全部"), from pictures the
// bridge already has: GET /api/thumbs?cameras=… gives detection's last
// analysed pictures, 320 wide, several in one answer (a browser has six
// connections to a host), so 128 cameras cost the bridge no decoding and
// the browser no video. Each cell: the picture, the name, 在线/离线 (an
// offline camera greyed with its reason), the open incident's kind; a click
// opens the camera's live video.
//
// DOM hooks (tests/browser/check.mjs): #overview holds .ov-cell[data-camera]
// [data-status=online|offline] each with an <img> and .ov-name; a cell with
// an open incident has ov--incident and .ov-alert[data-kind].

import { t, cameraWhy } from './i18n.js';
import { getJSON } from './api.js';

// Pictures are asked for again every REFRESH_MS, an eighth of the cameras
// at a time so 128 cameras do not arrive as one burst; an idle camera's
// picture changes once per GOP anyway.
const REFRESH_MS = 5000;
const STEPS = 8;
// At first the pictures come in this many requests at once.
const FIRST_REQUESTS = 4;

/** Overview draws the cells in host and keeps their pictures fresh. */
export class Overview {
  /**
   * @param {HTMLElement} host
   * @param {{token: string, onOpen: (id: string) => void, incidents: (id: string) => Array<{kind: string}>, kindText: (i: object) => string}} opts
   */
  constructor(host, opts) {
    this.host = host;
    this.opts = opts;
    this.cells = new Map(); // camera id → {el, img, cam}
    this.timer = 0;
    this.next = 0; // the next cell to refresh
    this.inflight = 0; // picture requests not answered yet
    this.host.addEventListener('click', (ev) => {
      const cell = ev.target.closest('.ov-cell');
      if (cell) this.opts.onOpen(cell.dataset.camera);
    });
  }

  /**
   * render lays out cams (in the wall's order); pictures load as cells
   * appear. It returns a promise of those first pictures' arrival.
   */
  render(cams) {
    const ids = new Set(cams.map((c) => c.id));
    const fresh = [];
    for (const [id, c] of this.cells) {
      if (!ids.has(id)) {
        c.el.remove();
        this.cells.delete(id);
      }
    }
    const cols = Math.max(1, Math.ceil(Math.sqrt(cams.length * 16 / 9)));
    this.host.style.setProperty('--ov-cols', cols);
    cams.forEach((cam, i) => {
      let c = this.cells.get(cam.id);
      if (!c) {
        c = this.cell(cam);
        this.cells.set(cam.id, c);
        fresh.push(c);
      }
      c.cam = cam;
      this.paint(c);
      if (this.host.children[i] !== c.el) this.host.insertBefore(c.el, this.host.children[i] || null);
    });
    const per = Math.ceil(fresh.length / FIRST_REQUESTS);
    const loads = [];
    for (let k = 0; k < fresh.length; k += per) loads.push(this.load(fresh.slice(k, k + per)));
    return Promise.all(loads);
  }

  cell(cam) {
    const el = document.createElement('button');
    el.type = 'button';
    el.className = 'ov-cell';
    el.dataset.camera = cam.id;
    el.innerHTML = '<img alt="" decoding="async"><span class="ov-name"></span><span class="ov-why"></span><span class="ov-alert" hidden></span>';
    return { el, img: el.querySelector('img'), cam };
  }

  paint(c) {
    const cam = c.cam;
    const h = cam.health || {};
    const online = h.online !== false;
    c.el.dataset.status = online ? 'online' : 'offline';
    c.el.querySelector('.ov-name').textContent = cam.name || cam.id;
    c.el.title = `${cam.name || cam.id} · ${t(online ? 'status.online' : 'status.offline')}`;
    c.el.querySelector('.ov-why').textContent = online ? '' : cameraWhy(h) || t('status.offline');
    const open = this.opts.incidents(cam.id);
    c.el.classList.toggle('ov--incident', open.length > 0);
    const alert = c.el.querySelector('.ov-alert');
    alert.hidden = open.length === 0;
    if (open.length) {
      alert.dataset.kind = open[0].kind;
      alert.textContent = this.opts.kindText(open[0]);
    }
  }

  // load asks for the pictures of cells in one request; a camera without
  // one (offline, no picture yet) keeps the last one shown.
  async load(cells) {
    if (!cells.length) return;
    const ids = cells.map((c) => c.cam.id).join(',');
    let res;
    this.inflight++;
    try {
      res = await getJSON(`/api/thumbs?cameras=${encodeURIComponent(ids)}`, { token: this.opts.token });
    } catch {
      return; // the next round asks again
    } finally {
      this.inflight--;
    }
    for (const th of res.thumbs || []) {
      const c = this.cells.get(th.camera);
      if (!c || c.el.dataset.pictureAt === String(th.at_ms)) continue;
      const img = new Image();
      img.decoding = 'async';
      img.onload = () => {
        c.img.src = img.src;
        c.el.dataset.pictureAt = String(th.at_ms);
        c.el.dataset.loadedAt = String(Date.now());
      };
      img.src = `data:image/jpeg;base64,${th.jpeg}`;
    }
  }

  /** start refreshes the pictures until stop. */
  start() {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), REFRESH_MS / STEPS);
  }

  // refresh asks for the next eighth of the pictures; not while pictures
  // asked for are still on their way (a slow link or a busy bridge would
  // otherwise pile requests up, the first ones behind the rest).
  refresh() {
    const all = [...this.cells.values()];
    if (!all.length || this.inflight > 0 || document.visibilityState !== 'visible') return;
    const batch = Math.ceil(all.length / STEPS);
    const due = [];
    for (let k = 0; k < Math.min(batch, all.length); k++) {
      const c = all[(this.next + k) % all.length];
      if (!(c.cam.health && c.cam.health.online === false)) due.push(c);
    }
    this.next = (this.next + batch) % all.length;
    this.load(due);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
  }
}
