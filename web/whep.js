// whep: a small WHEP player. One RTCPeerConnection per camera view, the offer
// sent whole (ICE gathered first, no trickle), the answer's candidates taken
// from its SDP; the session is DELETEd when the view stops or the page goes.
//
// States given to onState(state, message):
//   'connecting'  sending the offer or waiting for the first frame (连接中)
//   'playing'     a frame was shown (在线)
//   'offline'     the server said the camera is offline (503); retries (离线)
//   'busy'        the bridge has as many viewers as it takes (503 with
//                 Retry-After); retries when it says (繁忙)
//   'forbidden'   401/403: not allowed to watch; no retry (无权限)
//   'error'       message says why; retries only when it may pass by itself
//   'idle'        stopped
//
// A player asks for the camera's main stream or its low-resolution sub-stream
// (stream: 'sub', POST /whep/ID?stream=sub); the server plays main when the
// camera has no sub-stream, and played/fallback say what came and why.

import { authHeaders, errorMessage } from './api.js';

const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 15000;
const GATHER_MAX = 1000;
// A viewer whose video stops for this long while the page is visible starts a
// new session: the camera may have come back on a session that stays silent.
const STALL_MS = 8000;
// A session that brings no first frame in this time is tried again (the
// bridge starts a viewer at a cached key frame, so this is generous).
const FIRST_FRAME_MS = 12000;
// 'disconnected' often heals by itself (a lost burst of packets); 'failed' does not.
const DISCONNECTED_GRACE_MS = 3000;

let iceServersCache = null;

// The ICE servers from /api/webrtc, fetched once per page. A failed fetch is
// not kept: the next connect asks again, and this one goes on with none
// (host candidates are enough on a LAN or loopback).
// A bridge that does not read the camera relays the page's WHEP requests
// to the member that does: a browser cannot follow a redirect there (another
// origin). See api.ProxyHeader.
const VIA_MEMBER = { 'X-Qly-Proxy': '1' };

function iceServers(token) {
  if (!iceServersCache) {
    iceServersCache = fetch('/api/webrtc', { headers: authHeaders(token, { Accept: 'application/json' }) })
      .then((res) => (res.ok ? res.json() : Promise.reject(new Error(`HTTP ${res.status}`))))
      .then((body) => (Array.isArray(body.ice_servers) ? body.ice_servers : []).map(toIceServer).filter(Boolean))
      .catch(() => {
        iceServersCache = null;
        return [];
      });
  }
  return iceServersCache;
}

// RTCPeerConnection refuses a TURN server without credentials, and an empty
// username on STUN is noise: keep only what the constructor accepts.
function toIceServer(s) {
  if (!s) return null;
  const urls = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => typeof u === 'string' && u);
  if (!urls.length) return null;
  const out = { urls };
  if (s.username) out.username = s.username;
  if (s.credential) out.credential = s.credential;
  if (urls.some((u) => /^turns?:/.test(u)) && !(out.username && out.credential)) return null;
  return out;
}

function gathered(pc, maxMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, maxMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

// Timing hooks for the browser tests (tests/browser/check.mjs):
// window.__whep[camera] = {postAt, answerAt, firstFrameAt, attempts, stream},
// times from performance.now() of the latest attempt, stream the one asked for.
function timing(camera, stream) {
  const all = (window.__whep ||= {});
  const prev = all[camera];
  const rec = { camera, stream, attempts: (prev ? prev.attempts : 0) + 1, postAt: null, answerAt: null, firstFrameAt: null, status: null };
  all[camera] = rec;
  return rec;
}

const running = new Set();
let parked = [];
// Leaving the page ends every session at once (keepalive DELETE), so the
// server does not keep sending to a closed tab until ICE times out; a page
// brought back from the back-forward cache starts them again.
addEventListener('pagehide', () => {
  parked = [...running];
  for (const p of parked) p.stop();
});
addEventListener('pageshow', (ev) => {
  if (ev.persisted) for (const p of parked) p.start();
  parked = [];
});

/** WhepPlayer plays one camera over WHEP into a <video> and keeps it playing. */
export class WhepPlayer {
  /**
   * @param {HTMLVideoElement} video where the picture goes (made muted, playsinline, autoplay)
   * @param {{camera: string, token?: string, stream?: 'main'|'sub', onState?: (state: string, message: string) => void}} opts
   */
  constructor(video, { camera, token = '', stream = 'main', onState = () => {} }) {
    this.video = video;
    this.camera = camera;
    this.token = token;
    /** stream is the stream asked for: 'main' or 'sub'. */
    this.stream = stream === 'sub' ? 'sub' : 'main';
    /** played is the stream the server plays (X-Stream), '' before its answer. */
    this.played = '';
    /** fallback says why the server plays main when sub was asked for (X-Stream-Fallback). */
    this.fallback = '';
    this.onState = onState;
    /** state is the latest state given to onState. */
    this.state = 'idle';
    /** message is the latest message (the server's error text, or why it reconnects). */
    this.message = '';
    /** lastFrameAt is performance.now() of the latest frame seen (0: none yet). */
    this.lastFrameAt = 0;

    this._gen = 0; // bumps on every connect and stop; late callbacks of older ones do nothing
    this._running = false;
    this._pc = null;
    this._session = '';
    this._retryTimer = 0;
    this._discTimer = 0;
    this._firstTimer = 0;
    this._watchTimer = 0;
    this._delay = BACKOFF_MIN;
    this._frames = -1;
    this._movingAt = 0;

    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute('muted', '');
    video.setAttribute('autoplay', '');
    video.setAttribute('playsinline', '');
    video.dataset.camera = camera;
    this._stream = null; // the current session's stream, once it has a track
    // Only the current session's stream counts: the <video> keeps showing the
    // last one's picture while a new session is on its way.
    this._onPlaying = () => {
      if (this._running && this._stream && this.video.srcObject === this._stream && this.video.videoWidth > 0) this._firstFrame(this._gen);
    };
  }

  /** running tells whether start was called and stop was not. */
  get running() { return this._running; }

  /** start connects, and keeps reconnecting until stop. */
  start() {
    if (this._running) return;
    this._running = true;
    running.add(this);
    this._delay = BACKOFF_MIN;
    this.video.addEventListener('playing', this._onPlaying);
    this._watchTimer = setInterval(() => this._watch(), 1000);
    this._connect();
  }

  /** stop ends the session (DELETE) and clears the video. */
  stop() {
    if (!this._running) return;
    this._running = false;
    running.delete(this);
    this._gen++;
    this.video.removeEventListener('playing', this._onPlaying);
    clearInterval(this._watchTimer);
    clearTimeout(this._retryTimer);
    this._teardown();
    this.video.srcObject = null;
    this._set('idle', '');
  }

  /** restart drops the session and connects at once, forgetting the backoff. */
  restart() {
    if (!this._running) { this.start(); return; }
    clearTimeout(this._retryTimer);
    this._delay = BACKOFF_MIN;
    this._teardown();
    this._connect();
  }

  /** stats returns {framesDecoded, bytesReceived, packetsLost} of the video from getStats(). */
  async stats() {
    const out = { framesDecoded: 0, bytesReceived: 0, packetsLost: 0 };
    if (!this._pc) return out;
    const report = await this._pc.getStats();
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && (s.kind || s.mediaType) === 'video') {
        out.framesDecoded += s.framesDecoded || 0;
        out.bytesReceived += s.bytesReceived || 0;
        out.packetsLost += s.packetsLost || 0;
      }
    });
    return out;
  }

  _set(state, message) {
    if (state === this.state && message === this.message) return;
    this.state = state;
    this.message = message;
    const rec = window.__whep && window.__whep[this.camera];
    if (rec) rec.status = state;
    try { this.onState(state, message); } catch (err) { console.error(err); }
  }

  async _connect() {
    const gen = ++this._gen;
    this._retryTimer = 0;
    this._frames = -1;
    const rec = timing(this.camera, this.stream);
    this._set('connecting', '');
    rec.status = 'connecting';

    let pc;
    try {
      const servers = await iceServers(this.token);
      if (gen !== this._gen) return;
      pc = new RTCPeerConnection({ iceServers: servers, bundlePolicy: 'max-bundle' });
    } catch (err) {
      this._retry(gen, 'error', `WebRTC: ${err.message}`);
      return;
    }
    this._pc = pc;

    const stream = new MediaStream();
    pc.ontrack = (ev) => {
      if (gen !== this._gen) return;
      stream.addTrack(ev.track);
      if (this.video.srcObject !== stream) {
        this._stream = stream;
        this.video.srcObject = stream;
        this._watchFirstFrame(gen, rec);
      }
      this.video.play().catch(() => { /* autoplay is allowed when muted; the 'playing' event tells */ });
    };
    pc.onconnectionstatechange = () => {
      if (gen !== this._gen) return;
      const s = pc.connectionState;
      clearTimeout(this._discTimer);
      if (s === 'failed' || s === 'closed') {
        this._retry(gen, 'connecting', `connection ${s}`);
      } else if (s === 'disconnected') {
        this._discTimer = setTimeout(() => {
          if (gen === this._gen && pc.connectionState === 'disconnected') this._retry(gen, 'connecting', 'connection lost');
        }, DISCONNECTED_GRACE_MS);
      }
    };
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });

    const url = `/whep/${encodeURIComponent(this.camera)}${this.stream === 'sub' ? '?stream=sub' : ''}`;
    let res;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, GATHER_MAX);
      if (gen !== this._gen) return;
      rec.postAt = performance.now();
      res = await fetch(url, {
        method: 'POST',
        headers: authHeaders(this.token, { 'Content-Type': 'application/sdp', Accept: 'application/sdp', ...VIA_MEMBER }),
        body: pc.localDescription.sdp,
        cache: 'no-store',
      });
    } catch (err) {
      if (gen === this._gen) this._retry(gen, 'error', err.message || 'network error');
      return;
    }

    if (res.status !== 201 && res.status !== 200) {
      const msg = await errorMessage(res);
      if (gen !== this._gen) return;
      if (res.status === 401 || res.status === 403) this._fail(gen, 'forbidden', msg);
      else if (res.status === 503 && res.headers.get('Retry-After')) {
        // the bridge's viewer caps: ask again when it says places come free
        const wait = Number(res.headers.get('Retry-After')) * 1000;
        if (wait > 0) this._delay = Math.max(this._delay, Math.min(wait, 60000));
        this._retry(gen, 'busy', msg);
      } else if (res.status === 503) this._retry(gen, 'offline', msg);
      else if (res.status === 408 || res.status === 429 || res.status >= 500) this._retry(gen, 'error', msg);
      else this._fail(gen, 'error', msg); // 400, 404, 415, 422: trying again gives the same answer
      return;
    }

    const loc = res.headers.get('Location');
    const session = loc ? new URL(loc, new URL(url, location.href)).href : '';
    let answer;
    try {
      answer = await res.text();
    } catch (err) {
      if (gen === this._gen) this._retry(gen, 'error', err.message);
      return;
    }
    if (gen !== this._gen) {
      // Stopped while the POST was on its way: end the session it made.
      if (session) deleteSession(session, this.token);
      return;
    }
    this._session = session;
    rec.answerAt = performance.now();
    this.played = res.headers.get('X-Stream') || 'main';
    this.fallback = res.headers.get('X-Stream-Fallback') || '';
    this.video.dataset.stream = this.played;
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (err) {
      if (gen === this._gen) this._retry(gen, 'error', `answer: ${err.message}`);
      return;
    }
    clearTimeout(this._firstTimer);
    this._firstTimer = setTimeout(() => {
      if (gen === this._gen && this.state !== 'playing') this._retry(gen, 'connecting', 'no video');
    }, FIRST_FRAME_MS);
  }

  // The first frame: requestVideoFrameCallback fires when it is presented;
  // browsers without it rely on the 'playing' event.
  _watchFirstFrame(gen, rec) {
    const v = this.video;
    if (typeof v.requestVideoFrameCallback !== 'function') return;
    v.requestVideoFrameCallback(() => {
      if (gen !== this._gen) return;
      if (rec.firstFrameAt == null) rec.firstFrameAt = performance.now();
      this._firstFrame(gen);
    });
  }

  _firstFrame(gen) {
    if (gen !== this._gen || this.state === 'playing') return;
    const rec = window.__whep && window.__whep[this.camera];
    if (rec && rec.firstFrameAt == null) rec.firstFrameAt = performance.now();
    this.lastFrameAt = performance.now();
    this._movingAt = this.lastFrameAt;
    this._delay = BACKOFF_MIN;
    this._set('playing', '');
  }

  // Once a second: notes new frames, and starts over when the picture has
  // stopped for STALL_MS on a visible page.
  _watch() {
    if (!this._running || this.state !== 'playing') return;
    const q = this.video.getVideoPlaybackQuality ? this.video.getVideoPlaybackQuality() : null;
    const frames = q ? q.totalVideoFrames : -1;
    const now = performance.now();
    if (frames !== this._frames) {
      this._frames = frames;
      this.lastFrameAt = now;
      this._movingAt = now;
      return;
    }
    // A hidden page may not render frames at all: that is no stall.
    if (document.visibilityState !== 'visible') this._movingAt = now;
    else if (now - this._movingAt > STALL_MS) this._retry(this._gen, 'connecting', 'no video');
  }

  _fail(gen, state, message) {
    if (gen !== this._gen) return;
    this._teardown();
    this._set(state, message);
  }

  _retry(gen, state, message) {
    if (gen !== this._gen || !this._running) return;
    this._teardown();
    this._gen++;
    this._set(state, message);
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._connect(), this._delay);
    this._delay = Math.min(this._delay * 2, BACKOFF_MAX);
  }

  _teardown() {
    this._stream = null;
    clearTimeout(this._discTimer);
    clearTimeout(this._firstTimer);
    if (this._pc) {
      this._pc.ontrack = null;
      this._pc.onconnectionstatechange = null;
      this._pc.close();
      this._pc = null;
    }
    if (this._session) {
      deleteSession(this._session, this.token);
      this._session = '';
    }
  }
}

/**
 * viewStatus is what a view of camera shows, from the player's state and the
 * camera's health (from /api/cameras or /api/events): 'online', 'offline',
 * 'connecting', 'busy', 'forbidden', 'warning', 'error' or 'idle'. A camera the server
 * reports offline or with a warning shows that whatever the player is doing.
 */
export function viewStatus(playerState, camera) {
  const h = camera && camera.health;
  if (playerState === 'forbidden') return 'forbidden';
  if (h && h.warning) return 'warning';
  if (h && h.online === false) return 'offline';
  switch (playerState) {
    case 'playing': return 'online';
    case 'offline': return 'offline';
    case 'busy': return 'busy';
    case 'error': return 'error';
    case 'idle': return 'idle';
    default: return 'connecting';
  }
}

// keepalive lets the DELETE out even when the page is being closed.
function deleteSession(url, token) {
  fetch(url, { method: 'DELETE', headers: authHeaders(token, VIA_MEMBER), keepalive: true }).catch(() => { /* the server times it out */ });
}
