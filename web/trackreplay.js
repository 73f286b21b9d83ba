// trackreplay: a task's track (轨迹回放) next to its timeline on the wall's
// task detail: the worker's positions as a line on a map, and a play button
// that moves a marker through them in the order the phone sent them, with
// the time of each. The track is asked for again when the task changes.
//
// For tests: .td-track[data-points] once loaded; while playing and after,
// [data-step] is the index of the point the marker is at and
// [data-latlng] its "lat,lng".

import { t, fmtTime } from './i18n.js';
import { track, makeMap } from './map.js';

const STEP_MS = 400; // one position per step: a 12-hour track of 2880 plays in about 19 minutes

/** TrackReplay draws the track of the task shown into box (a <section>). */
export class TrackReplay {
  constructor(box, token) {
    this.box = box;
    this.token = token;
    this.id = '';
    this.entries = -1;
    this.points = [];
    this.m = null;
    this.layers = [];
    this.timer = 0;
    box.innerHTML = `
      <h3 class="td-track-title"></h3>
      <div class="td-track-map"></div>
      <div class="td-track-bar">
        <button type="button" class="td-track-play"></button>
        <span class="td-track-time"></span>
        <span class="td-track-n note"></span>
      </div>`;
    box.querySelector('.td-track-play').addEventListener('click', () => (this.timer ? this.pause() : this.play()));
  }

  /** show follows task: its track is loaded when the task or its timeline changed. */
  async show(task) {
    this.box.querySelector('.td-track-title').textContent = t('track.title');
    this.label();
    if (task.id === this.id && task.entries === this.entries) return;
    if (task.id !== this.id) {
      this.pause();
      this.points = [];
      delete this.box.dataset.step;
      delete this.box.dataset.latlng;
    }
    this.id = task.id;
    this.entries = task.entries;
    // a task that was never claimed has no track
    if (!task.since || !task.since.claimed) {
      this.box.hidden = true;
      return;
    }
    try {
      const { points } = await track(task.id, { token: this.token });
      if (this.id !== task.id) return;
      this.points = points || [];
    } catch {
      this.points = [];
    }
    this.box.hidden = false;
    this.box.dataset.points = String(this.points.length);
    await this.draw();
  }

  label() {
    const b = this.box.querySelector('.td-track-play');
    b.textContent = this.timer ? t('track.pause') : t('track.play');
    b.disabled = this.points.length < 1;
    this.box.querySelector('.td-track-n').textContent = this.points.length ? t('track.points', { n: this.points.length }) : t('track.none');
  }

  async draw() {
    if (!this.m) this.m = await makeMap(this.box.querySelector('.td-track-map'), { token: this.token, places: this.points });
    const { L, map } = this.m;
    for (const l of this.layers) l.remove();
    this.layers = [];
    this.marker = null;
    const ll = this.points.map((p) => [p.lat, p.lng]);
    if (ll.length) {
      this.layers.push(L.polyline(ll, { className: 'qmap-track-line' }).addTo(map));
      for (const p of ll) this.layers.push(L.circleMarker(p, { radius: 3, weight: 1, className: 'qmap-track-dot', interactive: false }).addTo(map));
      this.marker = L.marker(ll[ll.length - 1], { icon: L.divIcon({ className: 'qmap-me', html: '<span></span>', iconSize: [16, 16] }) }).addTo(map);
      this.layers.push(this.marker);
      map.invalidateSize();
      if (ll.length > 1) map.fitBounds(L.latLngBounds(ll).pad(0.2), { maxZoom: 18 });
      else map.setView(ll[0], 17);
    }
    this.label();
    this.time(this.points.length - 1);
  }

  time(i) {
    const p = this.points[i];
    this.box.querySelector('.td-track-time').textContent = p ? fmtTime(p.at_ms) : '';
  }

  /** play moves the marker from the first position to the last, in order. */
  play() {
    if (!this.points.length || !this.marker) return;
    let i = 0;
    const step = () => {
      if (!this.box.isConnected) { // the detail was closed
        this.pause();
        return;
      }
      const p = this.points[i];
      this.marker.setLatLng([p.lat, p.lng]);
      this.box.dataset.step = String(i);
      this.box.dataset.latlng = `${p.lat},${p.lng}`;
      this.time(i);
      i++;
      if (i >= this.points.length) this.pause();
    };
    this.timer = setInterval(step, STEP_MS);
    step();
    this.label();
  }

  pause() {
    clearInterval(this.timer);
    this.timer = 0;
    if (this.box.isConnected) this.label();
  }

  /** close stops the replay. */
  close() { this.pause(); }
}
