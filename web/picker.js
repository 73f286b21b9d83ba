// picker: the location picker of the resident's report (/app): a map to
// tap the place on (or the phone's position, set from outside), the nearest
// cameras with their distance (a tap chooses one as the report's "nearby
// camera"), and a clear message when the chosen camera is farther than
// map.nearby_m from the place, which the server refuses too (400).
//
// For tests: #report-near li[data-camera][data-distance], #report-far.

import { t, lang } from './i18n.js';
import { makeMap, mapSettings, nearest, distanceM, distanceText, located } from './map.js';

/** LocationPicker wires the map, the nearest list and the far-camera message. */
export class LocationPicker {
  /**
   * opts: mapEl, nearEl (<ul>), farEl, select (the camera <select>),
   * cams() the cameras the resident may name, onPick(loc) when the map is
   * tapped.
   */
  constructor(opts) {
    this.o = opts;
    this.m = null;
    this.making = null;
    this.loc = null;
    this.mark = null;
    this.nearbyM = 500;
    opts.select.addEventListener('change', () => this.render());
    opts.nearEl.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-camera]');
      if (!b) return;
      opts.select.value = b.dataset.camera;
      this.render();
    });
  }

  /** open draws the map the first time the report sheet shows. */
  async open() {
    if (!this.making) {
      this.making = (async () => {
        const cams = this.o.cams().filter(located);
        // no zoom buttons: a phone pinches (and Leaflet's are 30 px, under the 44 px of a tap target)
        this.m = await makeMap(this.o.mapEl, { places: cams.map((c) => c.location), zoomControl: false });
        this.nearbyM = (await mapSettings()).nearby_m || 500;
        const { L, map } = this.m;
        for (const c of cams) {
          L.circleMarker([c.location.lat, c.location.lng], { radius: 7, weight: 2, className: 'qmap-cam qmap-cam--online' })
            .bindTooltip(c.name || c.id).addTo(map);
        }
        map.on('click', (ev) => {
          this.set({ lat: ev.latlng.lat, lng: ev.latlng.lng, accuracy: null });
          this.o.onPick(this.loc);
        });
      })().catch((err) => { this.o.farEl.hidden = false; this.o.farEl.textContent = t('map.failed', { error: err.message }); });
    }
    await this.making;
    if (this.m) this.m.map.invalidateSize();
    if (this.loc) this.set(this.loc, { center: true });
    this.render();
  }

  /** set puts the report's place at loc ({lat, lng, accuracy}); center moves the map there. */
  set(loc, { center = false } = {}) {
    this.loc = loc;
    if (this.m) {
      const { L, map } = this.m;
      const at = [loc.lat, loc.lng];
      if (!this.mark) this.mark = L.marker(at, { icon: L.divIcon({ className: 'qmap-me', html: '<span></span>', iconSize: [16, 16] }) }).addTo(map);
      else this.mark.setLatLng(at);
      if (center) map.setView(at, Math.max(map.getZoom() || 0, 16));
    }
    this.render();
  }

  /** far is the chosen camera's distance when it is farther than nearby_m, else 0. */
  far() {
    const cam = this.o.cams().find((c) => c.id === this.o.select.value);
    if (!cam || !this.loc || !located(cam)) return 0;
    const d = distanceM(this.loc, cam.location);
    return d > this.nearbyM ? d : 0;
  }

  /** farText is the message for a far camera ('' when it is near). */
  farText() {
    const d = this.far();
    return d ? t('app.report.far', { d: distanceText(d, lang()), max: distanceText(this.nearbyM, lang()) }) : '';
  }

  render() {
    const ul = this.o.nearEl;
    if (!this.loc) {
      ul.replaceChildren();
    } else {
      const chosen = this.o.select.value;
      ul.replaceChildren(...nearest(this.o.cams(), this.loc, 3).map(({ cam, distance_m: d }) => {
        const li = document.createElement('li');
        li.dataset.camera = cam.id;
        li.dataset.distance = String(d);
        const b = document.createElement('button');
        b.type = 'button';
        b.dataset.camera = cam.id;
        b.classList.toggle('on', cam.id === chosen);
        const name = document.createElement('span');
        name.textContent = cam.name || cam.id;
        const dist = document.createElement('span');
        dist.className = 'note';
        dist.textContent = distanceText(d, lang());
        b.append(name, dist);
        li.append(b);
        return li;
      }));
    }
    const msg = this.farText();
    this.o.farEl.hidden = !msg;
    this.o.farEl.textContent = msg;
  }
}
