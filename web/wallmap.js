// wallmap: the wall's map view (地图), shown over the video wall by the 地图
// toggle and hidden again by it, so the video keeps the screen otherwise.
// It shows the cameras (online, offline, with open incidents; a click opens
// the camera live), the open tasks with a place (a click opens the task)
// and the workers' last positions from their tasks' tracks. It follows the
// wall's server-sent events (camera, incident, task, position) and loads
// tasks and positions again on each (re)connect.
//
// For tests: #mapview[data-ready] once drawn; path.qmap-cam[data-camera]
// per camera (.qmap-cam--offline, .qmap-cam--incident), .qmap-task[data-task],
// .qmap-worker[data-worker][data-latlng].

import { t, fmtTime } from './i18n.js';
import { tasks as fetchTasks } from './api.js';
import { makeMap, located, gridAreas, positions } from './map.js';
import { OPEN, taskTitle, stateText } from './tasks.js';

const STALE_MS = 10 * 60 * 1000; // a worker's position older than this is faded

/** WallMap is the wall's map view in el. */
export class WallMap {
  /**
   * opts: token; cameras() the wall's cameras; incidents(id) a camera's open
   * incidents; onCamera(id) opens a camera live; onTask(id) opens a task.
   */
  constructor(el, opts) {
    this.el = el;
    this.opts = opts;
    this.m = null; // {L, map}
    this.making = null;
    this.cams = new Map(); // camera id → circle marker
    this.tasks = new Map(); // task id → task (open, with a place)
    this.taskMarks = new Map();
    this.workers = new Map(); // worker → {pos, mark}
  }

  /** show draws the map (the first time) and loads tasks and positions. */
  async show() {
    this.el.hidden = false;
    if (!this.making) this.making = this.make();
    await this.making;
    this.m.map.invalidateSize();
    await this.reload();
  }

  hide() { this.el.hidden = true; }

  get shown() { return !this.el.hidden; }

  async make() {
    const cams = this.opts.cameras().filter(located);
    this.m = await makeMap(this.el, { token: this.opts.token, places: cams.map((c) => c.location), grids: gridAreas(cams) });
    for (const c of this.opts.cameras()) this.camera(c);
    this.el.dataset.ready = '1';
  }

  /** camera adds or updates the marker of cam (a /api/cameras entry). */
  camera(cam) {
    if (!this.m || !located(cam)) return;
    const { L, map } = this.m;
    const online = Boolean(cam.health && cam.health.online);
    const hot = this.opts.incidents(cam.id).length > 0;
    const cls = `qmap-cam qmap-cam--${online ? 'online' : 'offline'}${hot ? ' qmap-cam--incident' : ''}`;
    let mk = this.cams.get(cam.id);
    if (!mk) {
      mk = L.circleMarker([cam.location.lat, cam.location.lng], { radius: 9, weight: 3, className: cls });
      mk.on('click', () => this.opts.onCamera(cam.id));
      mk.addTo(map);
      mk.getElement().dataset.camera = cam.id;
      this.cams.set(cam.id, mk);
    }
    const path = mk.getElement();
    path.setAttribute('class', `${cls} leaflet-interactive`);
    const status = online ? t('status.online') : t('status.offline');
    mk.bindTooltip(`${cam.name || cam.id} · ${status}${hot ? ` · ${t('map.incident')}` : ''}`, { direction: 'top', offset: [0, -8] });
  }

  /** incidentsChanged recolours every camera (an incident began or ended). */
  incidentsChanged() {
    for (const c of this.opts.cameras()) this.camera(c);
  }

  /** onTask takes a `task` event: an open task with a place is shown, others leave. */
  onTask(msg) {
    const task = msg.task;
    if (OPEN.includes(task.state) && task.location && (task.location.lat || task.location.lng)) this.tasks.set(task.id, task);
    else this.tasks.delete(task.id);
    this.drawTasks();
  }

  /** onPosition takes a `position` event: a worker's new last position. */
  onPosition(p) {
    this.workers.set(p.worker, { ...(this.workers.get(p.worker) || {}), pos: p });
    this.drawWorkers();
  }

  /** reload asks for the open tasks and the workers' positions again. */
  async reload() {
    if (!this.m) return;
    try {
      const { tasks } = await fetchTasks({ limit: 200 }, { token: this.opts.token });
      this.tasks = new Map(tasks.filter((x) => OPEN.includes(x.state) && x.location && (x.location.lat || x.location.lng)).map((x) => [x.id, x]));
      this.drawTasks();
      for (const p of await positions({ token: this.opts.token })) {
        this.workers.set(p.worker, { ...(this.workers.get(p.worker) || {}), pos: p });
      }
      this.drawWorkers();
      this.el.dataset.loaded = '1';
    } catch (err) {
      this.el.dataset.error = err.message;
    }
  }

  drawTasks() {
    if (!this.m) return;
    const { L, map } = this.m;
    for (const [id, mk] of this.taskMarks) {
      if (!this.tasks.has(id)) {
        mk.remove();
        this.taskMarks.delete(id);
      }
    }
    for (const task of this.tasks.values()) {
      let mk = this.taskMarks.get(task.id);
      const at = [task.location.lat, task.location.lng];
      if (!mk) {
        const icon = L.divIcon({ className: 'qmap-task', html: '<span></span>', iconSize: [16, 16] });
        mk = L.marker(at, { icon, keyboard: false });
        mk.on('click', () => this.opts.onTask(task.id));
        mk.addTo(map);
        mk.getElement().dataset.task = task.id;
        this.taskMarks.set(task.id, mk);
      } else {
        mk.setLatLng(at);
      }
      mk.getElement().dataset.state = task.state;
      mk.bindTooltip(`${taskTitle(task)} · ${stateText(task.state)}`, { direction: 'top', offset: [0, -8] });
    }
  }

  drawWorkers() {
    if (!this.m) return;
    const { L, map } = this.m;
    for (const [worker, w] of this.workers) {
      const p = w.pos;
      if (!w.mark) {
        const icon = L.divIcon({ className: 'qmap-worker', html: '<span class="qmap-worker-dot"></span><span class="qmap-worker-name"></span>', iconSize: [14, 14] });
        w.mark = L.marker([p.lat, p.lng], { icon, keyboard: false, zIndexOffset: 500 });
        w.mark.on('click', () => { if (w.pos.task) this.opts.onTask(w.pos.task); });
        w.mark.addTo(map);
        w.mark.getElement().dataset.worker = worker;
      }
      w.mark.setLatLng([p.lat, p.lng]);
      const e = w.mark.getElement();
      e.dataset.latlng = `${p.lat},${p.lng}`;
      e.querySelector('.qmap-worker-name').textContent = p.name || worker;
      e.classList.toggle('qmap-worker--stale', Date.now() - p.at_ms > STALE_MS);
      w.mark.bindTooltip(t('map.worker.at', { name: p.name || worker, time: fmtTime(p.at_ms) }), { direction: 'top', offset: [0, -8] });
    }
  }
}
