// api: the bridge's HTTP API for the pages: the tokens, JSON fetches that
// carry them, cameras, incidents, tasks (工单), uploads, statistics, and the
// server-sent camera, incident and task events with reconnect.
//
// Tokens go as "Authorization: Bearer TOKEN"; EventSource and <img> cannot
// set headers, so they get it as ?token=. Without a token the caller is an
// anonymous resident: public cameras only.

import { tf, setTimeZone } from './i18n.js';

// Each page keeps its own token, so a phone that is both a worker's and a
// resident's does not mix them up: the wall's ('qly.token', the name it has
// always had), the worker page's and the resident page's.
const TOKEN_KEYS = { screen: 'qly.token', worker: 'qly.token.worker', resident: 'qly.token.resident' };

/** storedToken returns the token page ('screen', 'worker', 'resident') keeps in localStorage, or ''. */
export function storedToken(page = 'screen') {
  try { return localStorage.getItem(TOKEN_KEYS[page] || TOKEN_KEYS.screen) || ''; } catch { return ''; }
}

/** storeToken keeps page's token in localStorage ('' forgets it). */
export function storeToken(token, page = 'screen') {
  const key = TOKEN_KEYS[page] || TOKEN_KEYS.screen;
  try {
    if (token) localStorage.setItem(key, token);
    else localStorage.removeItem(key);
  } catch { /* private mode: the token lives as long as the page */ }
}

/**
 * tokenFromHash takes "#token=..." out of the address: stores it as page's
 * token, removes the hash from the address bar (so it is not bookmarked or
 * shown on the wall) and returns it; '' when there is none.
 */
export function tokenFromHash(page = 'screen') {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token') || '';
  if (!token) return '';
  storeToken(token, page);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  return token;
}

/**
 * HttpError is a failed API call: status is the HTTP status (0 for a
 * network error); message is the server's message in the page language
 * (its code and params translated), english the server's own sentence.
 */
export class HttpError extends Error {
  constructor(status, message, { code = '', params = null, english = message } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.params = params;
    this.english = english;
  }
}

// zoneOf takes the center's time zone from an answer (X-Time-Zone).
function zoneOf(res) {
  const z = res.headers && res.headers.get('X-Time-Zone');
  if (z) setTimeZone(z);
}

// refusal reads an error body: {error, code, params, ...} or text.
async function refusal(res) {
  let text = '';
  try { text = await res.text(); } catch { /* body lost with the connection */ }
  let j = null;
  try { j = JSON.parse(text); } catch { /* not JSON */ }
  const english = (j && typeof j.error === 'string' && j.error) || text.trim().slice(0, 200) || `HTTP ${res.status} ${res.statusText}`.trim();
  const code = (j && typeof j.code === 'string' && j.code) || '';
  const params = (j && j.params && typeof j.params === 'object') ? j.params : null;
  return { j, english, code, params, message: tf(code, params, english) };
}

/** errorMessage reads the server's error body in the page language, or falls back to its sentence or the status text. */
export async function errorMessage(res) {
  return (await refusal(res)).message;
}

/** authHeaders returns the headers that carry token (none for a resident). */
export function authHeaders(token, extra = {}) {
  return token ? { ...extra, Authorization: `Bearer ${token}` } : { ...extra };
}

/** getJSON fetches path with the token and returns the parsed body; throws HttpError. */
export async function getJSON(path, { token = '', signal } = {}) {
  let res;
  try {
    res = await fetch(path, { headers: authHeaders(token, { Accept: 'application/json' }), signal, cache: 'no-store' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new HttpError(0, err.message || 'network error');
  }
  zoneOf(res);
  if (!res.ok) {
    const r = await refusal(res);
    throw new HttpError(res.status, r.message, r);
  }
  return res.json();
}

// failure turns a refused request into an HttpError with the server's
// sentence; a refused task action also carries the actions that would be
// allowed now (err.allowed).
async function failure(res) {
  const r = await refusal(res);
  const err = new HttpError(res.status, r.message, r);
  if (r.j && Array.isArray(r.j.allowed)) err.allowed = r.j.allowed;
  return err;
}

/** sendJSON sends body (JSON, or FormData as is) with method and the token; returns the parsed answer; throws HttpError. */
export async function sendJSON(method, path, body, { token = '', signal } = {}) {
  const form = typeof FormData !== 'undefined' && body instanceof FormData;
  const headers = authHeaders(token, form ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' });
  let res;
  try {
    res = await fetch(path, { method, headers, body: form ? body : body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new HttpError(0, err.message || 'network error');
  }
  zoneOf(res);
  if (!res.ok) throw await failure(res);
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

/**
 * login posts a user name and password; returns {token, user, name, role,
 * grids, expires_ms, adopted}. device is the resident's guest (device)
 * token on this phone, whose reports then become the account's (adopted
 * says how many).
 */
export function login(user, password, device = '') {
  return sendJSON('POST', '/api/login', device ? { user, password, device } : { user, password });
}

/** device gets a resident's device token (same shape as login's answer). */
export function device() {
  return sendJSON('POST', '/api/device', {});
}

/** me returns the token's claims {sub, name, role, grids, exp}; HttpError(401) when it is refused. */
export function me(token) {
  return getJSON('/api/me', { token });
}

/**
 * tasks lists tasks: query is {state, grid, worker, camera, mine, limit,
 * offset} (empty ones left out); returns {tasks, total}.
 */
export async function tasks(query, opts) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, v === true ? '1' : String(v));
  const body = await getJSON(`/api/tasks${q.toString() ? `?${q}` : ''}`, opts);
  return { tasks: Array.isArray(body.tasks) ? body.tasks : [], total: Number(body.total) || 0 };
}

/**
 * board gets a page of the duty officer's board (GET /api/tasks with the
 * board's filters): query is {states, grid, kind, source, overdue, q, sort,
 * limit, cursor} (empty ones left out); returns {tasks, total, counts, next}.
 */
export async function board(query, opts) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, v === true ? '1' : String(v));
  const body = await getJSON(`/api/tasks?${q}`, opts);
  return { tasks: Array.isArray(body.tasks) ? body.tasks : [], total: Number(body.total) || 0, counts: body.counts || {}, next: body.next || '' };
}

/** bulk makes one action on several tasks (POST /api/tasks/bulk); returns {action, into, done, failed, results}. */
export function bulk(body, opts) {
  return sendJSON('POST', '/api/tasks/bulk', body, opts);
}

/** task returns {task, timeline, ratings, allowed} of one task. */
export async function task(id, opts) {
  const body = await getJSON(`/api/tasks/${encodeURIComponent(id)}`, opts);
  return {
    task: body.task,
    timeline: Array.isArray(body.timeline) ? body.timeline : [],
    ratings: Array.isArray(body.ratings) ? body.ratings : [],
    allowed: Array.isArray(body.allowed) ? body.allowed : [],
  };
}

/** requestID is a fresh id for one action, so that a retry is not done twice. */
export function requestID() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b); // randomUUID needs a secure context; this does not
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * act makes action (claim, arrive, submit, …) on task id; body is {worker,
 * grid, note, evidence}, a request_id is added when missing. Returns {task,
 * entry}; a refusal throws HttpError with .allowed.
 */
export function act(id, action, body, opts) {
  return sendJSON('POST', `/api/tasks/${encodeURIComponent(id)}/${encodeURIComponent(action)}`, { request_id: requestID(), ...body }, opts);
}

/** rate gives a closed task 1–5 stars and a comment. */
export function rate(id, stars, comment, opts) {
  return sendJSON('POST', `/api/tasks/${encodeURIComponent(id)}/rating`, { stars, comment }, opts);
}

/** report files a resident's or worker's report: {title, description, photo, location, camera}; returns {task}. */
export function report(body, opts) {
  return sendJSON('POST', '/api/reports', body, opts);
}

const PHOTO_MAX_PX = 1920; // phone photos are shrunk to this before upload (the limit is 5 MiB)

// shrink re-encodes a big photo to at most PHOTO_MAX_PX on its long side as
// JPEG: phone cameras make 4–12 MB pictures, the server takes 5 MiB, and a
// street on a mobile network should not wait for the rest.
async function shrink(file) {
  if (file.size < 1024 * 1024 || typeof createImageBitmap !== 'function') return file;
  try {
    const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, PHOTO_MAX_PX / Math.max(bmp.width, bmp.height));
    const c = document.createElement('canvas');
    c.width = Math.round(bmp.width * scale);
    c.height = Math.round(bmp.height * scale);
    c.getContext('2d').drawImage(bmp, 0, 0, c.width, c.height);
    bmp.close();
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.85));
    return blob ? new File([blob], 'photo.jpg', { type: 'image/jpeg' }) : file;
  } catch {
    return file;
  }
}

/** upload sends a picture (a File or Blob, JPEG or PNG; big ones are shrunk first); returns its name. */
export async function upload(file, opts) {
  file = await shrink(file);
  const form = new FormData();
  form.append('file', file, file.name || 'photo.jpg');
  const body = await sendJSON('POST', '/api/uploads', form, opts);
  return body.photo || body.name || '';
}

/** workers lists the workers of grid (staff only): [{user, name, grids, phone, open_tasks}]. */
export async function workers(grid, opts) {
  const body = await getJSON(`/api/workers${grid ? `?grid=${encodeURIComponent(grid)}` : ''}`, opts);
  return Array.isArray(body.workers) ? body.workers : [];
}

/** stats returns the center's figures of the tasks created in [fromMS, toMS). */
export function stats({ fromMS, toMS, grid } = {}, opts) {
  const q = new URLSearchParams();
  if (fromMS) q.set('from_ms', String(fromMS));
  if (toMS) q.set('to_ms', String(toMS));
  if (grid) q.set('grid', grid);
  return getJSON(`/api/stats?${q}`, opts);
}

/**
 * pictureURL is where a task's picture is: an uploaded photo
 * (kind 'photo') under /api/uploads, a camera's picture under
 * /api/snapshots; a path or URL is taken as it is. <img> cannot send
 * headers, so the token goes as ?token=.
 */
export function pictureURL(ref, kind, token) {
  if (!ref) return '';
  let url;
  if (/^(https?:|data:|blob:)/.test(ref)) return ref;
  if (ref.startsWith('/')) url = ref;
  else url = `${kind === 'photo' ? '/api/uploads/' : '/api/snapshots/'}${encodeURIComponent(ref)}`;
  if (!token || !url.startsWith('/api/')) return url;
  return url + (url.includes('?') ? '&' : '?') + `token=${encodeURIComponent(token)}`;
}

/** cameras returns the camera list (public ones only without a token). */
export async function cameras(opts) {
  const body = await getJSON('/api/cameras', opts);
  return Array.isArray(body.cameras) ? body.cameras : [];
}

/** snapshotURL is a fresh URL of a camera's latest key-frame picture. */
export function snapshotURL(id) {
  return `/api/cameras/${encodeURIComponent(id)}/snapshot.jpg?t=${Date.now()}`;
}

/**
 * openIncidents returns the open incidents, newest first (staff only). When
 * detection is off the server answers 503 and this throws HttpError(503).
 */
export async function openIncidents(opts) {
  const body = await getJSON('/api/incidents?open=1&limit=50', opts);
  return Array.isArray(body.incidents) ? body.incidents : [];
}

/** incident returns one incident by id (staff only). */
export async function incident(id, opts) {
  return getJSON(`/api/incidents/${encodeURIComponent(id)}`, opts);
}

/** incidentSnapshotURL is the incident's picture, zone outlined; <img> cannot send headers, so ?token=. */
export function incidentSnapshotURL(id, token) {
  return `/api/incidents/${encodeURIComponent(id)}/snapshot.jpg` + (token ? `?token=${encodeURIComponent(token)}` : '');
}

/**
 * events follows /api/events: onCamera(camera) for each `camera` event (one per
 * camera on connect, then each change) and, for staff, onIncident(incident) for
 * each `incident` event (raised, updated, ended; none are replayed on
 * connect, so a page reloads the open ones on each 'open'). EventSource retries a dropped
 * connection itself but gives up on an HTTP error (401, 5xx) or a bad content
 * type; then this starts it again, 1 s doubling to 15 s. onStatus('open' |
 * 'lost') tells the page whether it is live. onTask({type, task, entry}) gets
 * each `task` event (type 'task', 'overdue' or 'rating'; the server sends
 * each caller the tasks it may see). Returns {close()}.
 */
export function events(onCamera, { token = '', onStatus = () => {}, onIncident = null, onTask = null, onPosition = null } = {}) {
  const url = '/api/events' + (token ? `?token=${encodeURIComponent(token)}` : '');
  let es = null;
  let timer = 0;
  let delay = 1000;
  let closed = false;

  const connect = () => {
    timer = 0;
    if (closed) return;
    es = new EventSource(url);
    es.onopen = () => { delay = 1000; onStatus('open'); };
    es.addEventListener('camera', (ev) => {
      let cam;
      try { cam = JSON.parse(ev.data); } catch { return; }
      if (cam && cam.id) onCamera(cam);
    });
    if (onIncident) {
      es.addEventListener('incident', (ev) => {
        let inc;
        try { inc = JSON.parse(ev.data); } catch { return; }
        if (inc && inc.id) onIncident(inc);
      });
    }
    if (onTask) {
      es.addEventListener('task', (ev) => {
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        if (msg && msg.task && msg.task.id) onTask(msg);
      });
    }
    if (onPosition) {
      // a worker's new last position (the center only; map.js)
      es.addEventListener('position', (ev) => {
        let p;
        try { p = JSON.parse(ev.data); } catch { return; }
        if (p && p.worker) onPosition(p);
      });
    }
    es.onerror = () => {
      onStatus('lost');
      if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      es.close();
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    };
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (es) es.close();
    },
  };
}
