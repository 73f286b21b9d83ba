// map: what the pages' maps share (the wall's camera map, the resident's
// location picker, a task's track replay). Leaflet is vendored
// (web/vendor/leaflet/VERSION) and loaded on first use. The tiles come from
// the configured URL template (GET /api/map); with none configured the map
// draws a plain background (a light grid and the grids' areas from the
// cameras' coordinates), so it works with no tile server and offline.

import { getJSON, sendJSON } from './api.js';

const LEAFLET = '/web/vendor/leaflet/';
let leaflet = null;
let settings = null;

/** loadLeaflet adds Leaflet's stylesheet and script once; it resolves to window.L. */
export function loadLeaflet() {
  if (!leaflet) {
    leaflet = new Promise((resolve, reject) => {
      const css = document.createElement('link');
      css.rel = 'stylesheet';
      css.href = LEAFLET + 'leaflet.css';
      document.head.append(css);
      const s = document.createElement('script');
      s.src = LEAFLET + 'leaflet.js';
      s.onload = () => resolve(window.L);
      s.onerror = () => { leaflet = null; reject(new Error('Leaflet did not load')); };
      document.head.append(s);
    });
  }
  return leaflet;
}

/** mapSettings is GET /api/map, asked once per page. */
export function mapSettings(token = '') {
  if (!settings) settings = getJSON('/api/map', { token }).catch((err) => { settings = null; throw err; });
  return settings;
}

/** track is GET /api/tasks/{id}/track: {task, worker, points: [{lat, lng, accuracy_m, at_ms}]}. */
export function track(id, opts) {
  return getJSON(`/api/tasks/${encodeURIComponent(id)}/track`, opts);
}

/** postTrack reports one position of the worker's phone on task id. */
export function postTrack(id, { lat, lng, accuracy, at }, opts) {
  return sendJSON('POST', `/api/tasks/${encodeURIComponent(id)}/track`, { lat, lng, accuracy, at }, opts);
}

/** positions is GET /api/workers/positions (the center): the workers' last positions. */
export async function positions(opts) {
  const { positions: list } = await getJSON('/api/workers/positions', opts);
  return list || [];
}

/** distanceM is the great-circle distance between {lat, lng} a and b in metres (task.DistanceM). */
export function distanceM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** located says whether a camera has a place on the map. */
export const located = (cam) => Boolean(cam.location && (cam.location.lat || cam.location.lng));

/** nearest lists up to n of cams with a place, each with distance_m from loc, nearest first. */
export function nearest(cams, loc, n = 3) {
  return cams.filter(located)
    .map((cam) => ({ cam, distance_m: Math.round(distanceM(loc, cam.location)) }))
    .sort((a, b) => a.distance_m - b.distance_m)
    .slice(0, n);
}

/** distanceText gives metres as the pages show them: 820 米, 2.7 公里 (lang: zh-CN or en). */
export function distanceText(m, lang) {
  const en = lang === 'en';
  if (m < 1000) return `${Math.round(m)} ${en ? 'm' : '米'}`;
  return `${(m / 1000).toFixed(1)} ${en ? 'km' : '公里'}`;
}

// The plain background: a light grid whatever the zoom, drawn on canvas
// tiles, so nothing is fetched.
function plainLayer(L) {
  const Plain = L.GridLayer.extend({
    createTile() {
      const c = document.createElement('canvas');
      c.width = 256;
      c.height = 256;
      const g = c.getContext('2d');
      g.fillStyle = '#eef1f4';
      g.fillRect(0, 0, 256, 256);
      g.strokeStyle = '#d5dbe1';
      g.lineWidth = 1;
      g.beginPath();
      for (const v of [0.5, 128.5]) {
        g.moveTo(v, 0); g.lineTo(v, 256);
        g.moveTo(0, v); g.lineTo(256, v);
      }
      g.stroke();
      return c;
    },
  });
  return new Plain({ className: 'qmap-plain' });
}

/**
 * makeMap makes a Leaflet map in el with the configured tiles (or the plain
 * background) and fits it to the places given (cameras' {lat, lng}); it
 * resolves to {L, map, settings}. grids (optional: [{id, points}]) are
 * drawn as the grids' areas on the plain background.
 */
export async function makeMap(el, { token = '', places = [], grids = [], zoomControl = true } = {}) {
  const [L, s] = await Promise.all([loadLeaflet(), mapSettings(token)]);
  const map = L.map(el, { zoomControl, attributionControl: Boolean(s.attribution), maxZoom: s.max_zoom || 18 });
  el.classList.add('qmap');
  if (s.tiles) {
    L.tileLayer(s.tiles, { subdomains: s.subdomains || 'abc', attribution: s.attribution || '', maxZoom: s.max_zoom || 18 }).addTo(map);
  } else {
    el.classList.add('qmap--plain');
    plainLayer(L).addTo(map);
    if (s.attribution) map.attributionControl.addAttribution(s.attribution);
    for (const g of grids) {
      if (!g.points.length) continue;
      const b = L.latLngBounds(g.points.map((p) => [p.lat, p.lng])).pad(0.15);
      L.rectangle(b, { className: 'qmap-grid', weight: 1, fillOpacity: 0.06, interactive: false }).addTo(map)
        .bindTooltip(g.id, { permanent: true, direction: 'center', className: 'qmap-grid-label' });
    }
  }
  fit(L, map, s, places);
  return { L, map, settings: s };
}

/** fit shows the configured center and zoom, else the places, else the whole world. */
export function fit(L, map, s, places) {
  if (s.center && s.zoom) {
    map.setView(s.center, s.zoom);
  } else if (places.length > 1) {
    map.fitBounds(L.latLngBounds(places.map((p) => [p.lat, p.lng])).pad(0.1), { maxZoom: 18 });
  } else if (places.length === 1) {
    map.setView([places[0].lat, places[0].lng], s.zoom || 17);
  } else {
    map.setView(s.center || [35, 105], s.zoom || 4);
  }
}

/** gridAreas groups cameras with a place by grid: [{id, points}]. */
export function gridAreas(cams) {
  const by = new Map();
  for (const c of cams.filter(located)) {
    if (!by.has(c.grid)) by.set(c.grid, []);
    by.get(c.grid).push(c.location);
  }
  return [...by].map(([id, points]) => ({ id, points }));
}
