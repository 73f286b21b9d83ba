// playback: looking back through a camera's recording on the wall. Under
// an enlarged tile, a bar with the last record.keep minutes: 回看 (or a
// point picked on the bar) plays the recording from there, segment after
// segment (GET /api/cameras/{id}/recording lists them, each a standalone
// MP4), over the live video; 直播 goes back to live. The center only: the
// API refuses everyone else (403).
//
// Hooks for the browser tests (tests/browser/check.mjs):
//   .rec-bar[data-camera=ID] in the tile, with button.rec-back, input.rec-range
//   (ms since the epoch), span.rec-at and button.rec-live; while it plays, the
//   tile has data-mode="recording" and holds video.rec-video[data-recording=ID]
//   whose data-segment-start is the start (ms) of the segment playing.

import { t, fmtTime } from './i18n.js';
import { getJSON } from './api.js';

const BACK_MS = 60000; // 回看 starts this long ago

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const hhmmss = (ms) => fmtTime(ms);

/** Playback is the recording bar of one tile. */
export class Playback {
  /**
   * @param {HTMLElement} tile the tile's element
   * @param {string} camera its camera id
   * @param {string} token the staff token
   */
  constructor(tile, camera, token) {
    this.tile = tile;
    this.camera = camera;
    this.token = token;
    this.segments = [];
    this.video = null;
    const bar = el('div', 'rec-bar');
    bar.dataset.camera = camera;
    this.back = el('button', 'rec-back', t('rec.back'));
    this.range = el('input', 'rec-range');
    this.range.type = 'range';
    this.at = el('span', 'rec-at', '');
    this.live = el('button', 'rec-live', t('rec.live'));
    this.live.hidden = true;
    bar.append(this.back, this.range, this.at, this.live);
    // the tile's own click enlarges and shrinks it: not for the bar
    bar.addEventListener('click', (ev) => ev.stopPropagation());
    this.back.addEventListener('click', () => this.playFrom(Date.now() - BACK_MS));
    this.live.addEventListener('click', () => this.toLive());
    this.range.addEventListener('change', () => this.playFrom(Number(this.range.value)));
    this.bar = bar;
    tile.append(bar);
    this.refresh();
  }

  /** refresh reads what is kept of the camera and sets the bar's span. */
  async refresh() {
    try {
      const rec = await getJSON(`/api/cameras/${encodeURIComponent(this.camera)}/recording`, { token: this.token });
      this.segments = rec.segments || [];
    } catch (err) {
      this.at.textContent = err.message;
      this.segments = [];
      return false;
    }
    const now = Date.now();
    const from = this.segments.length ? this.segments[0].start_ms : now;
    this.range.min = String(from);
    this.range.max = String(now);
    if (!this.video) this.range.value = String(now);
    if (!this.segments.length) this.at.textContent = t('rec.none');
    return true;
  }

  /** playFrom plays the recording from ms (the nearest kept moment). */
  async playFrom(ms) {
    if (!(await this.refresh()) || !this.segments.length) return;
    let i = this.segments.findIndex((s) => s.end_ms > ms);
    if (i < 0) i = this.segments.length - 1;
    const seg = this.segments[i];
    this.show(seg, Math.max(0, ms - seg.start_ms));
  }

  // show plays segment seg from offset ms into it.
  show(seg, offset) {
    if (!this.video) {
      this.video = el('video', 'rec-video');
      this.video.dataset.recording = this.camera;
      this.video.muted = true;
      this.video.playsInline = true;
      this.video.autoplay = true;
      this.video.addEventListener('ended', () => this.next());
      this.video.addEventListener('timeupdate', () => this.tick());
      this.tile.append(this.video);
    }
    const v = this.video;
    v.dataset.segmentStart = String(seg.start_ms);
    this.current = seg;
    const sep = seg.url.includes('?') ? '&' : '?';
    v.src = `${seg.url}${sep}token=${encodeURIComponent(this.token)}`;
    v.addEventListener('loadedmetadata', () => { if (offset > 0) v.currentTime = offset / 1000; }, { once: true });
    v.play().catch(() => { /* autoplay of a muted video is allowed */ });
    this.tile.dataset.mode = 'recording';
    this.live.hidden = false;
    this.tick();
  }

  tick() {
    if (!this.current || !this.video) return;
    const ms = this.current.start_ms + Math.round(this.video.currentTime * 1000);
    this.range.value = String(ms);
    this.at.textContent = t('rec.at', { time: hhmmss(ms) });
  }

  // next plays the segment after the current one, or goes live after the last.
  async next() {
    const end = this.current ? this.current.end_ms : 0;
    await this.refresh();
    const seg = this.segments.find((s) => s.start_ms >= end - 50);
    if (seg) this.show(seg, 0);
    else this.toLive();
  }

  /** toLive stops the recording and shows the live video again. */
  toLive() {
    if (this.video) {
      this.video.removeAttribute('src');
      this.video.load();
      this.video.remove();
    }
    this.video = null;
    this.current = null;
    delete this.tile.dataset.mode;
    this.live.hidden = true;
    this.at.textContent = '';
    this.range.value = this.range.max;
  }

  /** close goes live and removes the bar (the tile is no longer enlarged). */
  close() {
    this.toLive();
    this.bar.remove();
  }
}
