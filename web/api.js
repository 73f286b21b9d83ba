// api: the bridge's HTTP API for the pages: the staff token, JSON fetches
// that carry it, the incidents, and the server-sent camera and incident
// events with reconnect.
//
// Staff send the token as "Authorization: Bearer TOKEN"; EventSource cannot set
// headers, so /api/events gets it as ?token=. Without a token the page is a
// resident's and the server answers with public cameras only.

const TOKEN_KEY = 'qly.token';

/** storedToken returns the staff token kept in localStorage, or ''. */
export function storedToken() {
  try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

/** storeToken keeps the staff token in localStorage ('' forgets it). */
export function storeToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch { /* private mode: the token lives as long as the page */ }
}

/**
 * tokenFromHash takes "#token=..." out of the address: stores it, removes the
 * hash from the address bar (so it is not bookmarked or shown on the wall) and
 * returns it; '' when there is none.
 */
export function tokenFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token') || '';
  if (!token) return '';
  storeToken(token);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  return token;
}

/** HttpError is a failed API call: status is the HTTP status (0 for a network error). */
export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

/** errorMessage reads the server's {"error": "..."} body, or falls back to the status text. */
export async function errorMessage(res) {
  let text = '';
  try { text = await res.text(); } catch { /* body lost with the connection */ }
  try {
    const j = JSON.parse(text);
    if (j && typeof j.error === 'string' && j.error) return j.error;
  } catch { /* not JSON */ }
  return text.trim().slice(0, 200) || `HTTP ${res.status} ${res.statusText}`.trim();
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
  if (!res.ok) throw new HttpError(res.status, await errorMessage(res));
  return res.json();
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
 * 'lost') tells the page whether it is live. Returns {close()}.
 */
export function events(onCamera, { token = '', onStatus = () => {}, onIncident = null } = {}) {
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
