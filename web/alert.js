// alert: how the worker's phone calls for attention. A task sent to the
// worker (it comes over the event stream within seconds) gives a beep
// (WebAudio, no sound file), a vibration, a system notification and a
// count in the title ("(2) 千里眼 · 网格员") until the task is opened or
// claimed; a task that waits past its time limit to be claimed does the
// same at once and again every few minutes until it is claimed.
//
// Browsers let a page start audio and ask for notifications only from a
// tap: arm() is called on every tap (cheap once done) and by the
// 开启提醒 button; the permission is asked once, the browser keeps the
// answer, and that it was asked is kept in localStorage so a refusal is not
// asked again. Notifications use the Notifications API of the page; where
// the page may not make one itself (Chrome on Android), a service worker
// (sw.js) shows it, and a tap on it opens the task.

import { t } from './i18n.js';
import { taskTitle, overdue } from './tasks.js';

const ASKED_KEY = 'qly.notify.asked';

/** REMIND_MS is how often an overdue, unclaimed task calls again. */
export const REMIND_MS = 3 * 60 * 1000;

function asked() {
  try { return localStorage.getItem(ASKED_KEY) === '1'; } catch { return false; }
}

function rememberAsked() {
  try { localStorage.setItem(ASKED_KEY, '1'); } catch { /* asked again next time */ }
}

/** Alerts calls the worker's attention; title() is the page's own title, open(id) opens a task. */
export class Alerts {
  constructor({ title, open }) {
    this.title = title;
    this.open = open;
    this.unread = new Set(); // ids of tasks sent to me and not seen yet
    this.called = new Map(); // id → when an overdue task last called (ms)
    this.audio = null;
    // the service worker's registration (a promise), which shows the
    // notifications a page may not make itself; no tap needed for it
    this.sw = null;
    if ('serviceWorker' in navigator) {
      this.sw = navigator.serviceWorker.register('/web/sw.js', { scope: '/web/' }).catch(() => null);
      navigator.serviceWorker.addEventListener('message', (ev) => {
        if (ev.data && ev.data.open) this.open(ev.data.open);
      });
    }
  }

  /** canAsk says whether the 开启提醒 button has something to do. */
  canAsk() {
    return 'Notification' in window && Notification.permission === 'default' && !asked();
  }

  /** arm unlocks the sound and asks for notifications once; call it from a tap. */
  arm() {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!this.audio && AC) {
      try { this.audio = new AC(); } catch { this.audio = null; }
    }
    if (this.audio && this.audio.state === 'suspended') this.audio.resume().catch(() => {});

    if (this.canAsk()) {
      rememberAsked();
      Promise.resolve(Notification.requestPermission()).catch(() => {});
    }
  }

  /** arrived calls for a task just sent to me (dispatched, or sent back for rework). */
  arrived(task) {
    this.unread.add(task.id);
    this.renderTitle();
    this.call(task, t('alert.new'), [200, 100, 200], 2);
  }

  /** late calls for my task that went past its limit unclaimed, at once and then every REMIND_MS. */
  late(task, now = Date.now()) {
    this.called.set(task.id, now);
    this.call(task, t('alert.overdue'), [500, 200, 500, 200, 500], 3);
  }

  /** remind calls again for each of tasks still waiting to be claimed past its limit. */
  remind(tasks, now = Date.now()) {
    for (const task of tasks) {
      if (task.state !== 'dispatched' || overdue(task).length === 0) {
        this.called.delete(task.id);
        continue;
      }
      if (now - (this.called.get(task.id) || 0) >= REMIND_MS) this.late(task, now);
    }
  }

  /** seen clears a task from the count: opened, claimed, or no longer mine. */
  seen(id) {
    if (this.unread.delete(id)) this.renderTitle();
  }

  renderTitle() {
    const n = this.unread.size;
    document.title = n ? `(${n}) ${this.title()}` : this.title();
  }

  call(task, heading, pattern, beeps) {
    this.beep(beeps);
    if (typeof navigator.vibrate === 'function') {
      try { navigator.vibrate(pattern); } catch { /* not on this device */ }
    }
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    const opts = { body: taskTitle(task), tag: `qly-${task.id}`, renotify: true, data: { task: task.id } };
    try {
      const n = new Notification(heading, opts);
      n.onclick = () => {
        window.focus();
        this.open(task.id);
        n.close();
      };
    } catch {
      // Chrome on Android: "Illegal constructor", only a service worker may
      Promise.resolve(this.sw).then((reg) => reg && reg.showNotification(heading, opts)).catch(() => {});
    }
  }

  // beep plays n short 880 Hz tones; silent until a tap has unlocked the audio.
  beep(n) {
    const ctx = this.audio;
    if (!ctx || ctx.state !== 'running') return;
    const t0 = ctx.currentTime + 0.02;
    for (let i = 0; i < n; i++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      const at = t0 + i * 0.3;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.4, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.2);
    }
  }
}
