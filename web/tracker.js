// tracker: while the worker has a claimed or arrived task, the phone
// reports where it is, one position every 15 s at most
// (navigator.geolocation.watchPosition, throttled by the fixes' own
// times), to POST /api/tasks/{id}/track; the wall replays it as the task's
// track and shows the worker's last position on its map. The watch stops
// when no task needs it. A refused point is not retried: the next one
// comes 15 s later.

import { postTrack } from './map.js';

const EVERY_MS = 15000;
const TRACKED = ['claimed', 'arrived'];

/** Tracker reports the phone's position for the worker's tracked tasks. */
export class Tracker {
  /** opts: token; onChange(on) is told when reporting starts or stops. */
  constructor({ token, onChange = () => {} }) {
    this.token = token;
    this.onChange = onChange;
    this.ids = [];
    this.watch = null;
    this.lastAt = 0; // the time of the last fix sent
    this.sending = null; // the posts in flight, one after the other
    this.held = false; // the check-in has the phone's position
  }

  /** sync takes the worker's tasks (an iterable) and starts or stops the watch. */
  sync(tasks) {
    this.ids = [...tasks].filter((x) => TRACKED.includes(x.state)).map((x) => x.id);
    this.start();
  }

  // start watches the position while a task needs it and nothing holds it.
  start() {
    const want = this.ids.length > 0 && !this.held && 'geolocation' in navigator;
    if (want && this.watch === null) {
      this.watch = navigator.geolocation.watchPosition((p) => this.fix(p), () => { /* the next fix may come */ },
        { enableHighAccuracy: true, maximumAge: 5000, timeout: 60000 });
      this.onChange(true);
    } else if (!want && this.watch !== null) {
      this.stop();
    }
  }

  fix(pos) {
    const at = Math.round(pos.timestamp || Date.now());
    if (at - this.lastAt < EVERY_MS) return;
    this.lastAt = at;
    const c = pos.coords;
    const point = { lat: c.latitude, lng: c.longitude, accuracy: Math.round((c.accuracy || 0) * 10) / 10, at };
    // one after the other, so the track keeps the order walked
    this.sending = (this.sending || Promise.resolve()).then(() => Promise.all(this.ids.map((id) => postTrack(id, point, { token: this.token })
      .catch(() => { /* refused or offline: the next fix goes */ }))));
  }

  /**
   * hold stops the watch while on (the GPS check-in asks for a fresh fix:
   * with a watch running, Chromium answers such a request only at the
   * watch's next fix, which a phone standing still, or an emulated
   * position, may not give), and starts it again after.
   */
  hold(on) {
    this.held = on;
    if (on && this.watch !== null) {
      navigator.geolocation.clearWatch(this.watch);
      this.watch = null;
    } else if (!on) {
      this.start();
    }
  }

  /** stop ends the watch (signing out, no tracked task left). */
  stop() {
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    this.watch = null;
    this.onChange(false);
  }
}
