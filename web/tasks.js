// tasks: what the pages share about tasks (工单): the names of states and
// steps, times to the second, running timers, overdue marks, pictures and
// the timeline (全程留痕). The wall, the worker's phone and the resident's
// phone draw a task the same way.

import { t, tf, fmtTime, fmtDuration, timeZone } from './i18n.js';
import { pictureURL, getJSON } from './api.js';

/** BOARD lists the states in flow order, as the wall's board shows them. */
export const BOARD = ['reported', 'accepted', 'dispatched', 'claimed', 'arrived', 'submitted', 'verified', 'closed'];

/** OPEN lists the states in which a task still waits for someone. */
export const OPEN = ['reported', 'accepted', 'dispatched', 'claimed', 'arrived', 'submitted', 'verified'];

/** stateText is the state's name (待核单, 已派单, …). */
export function stateText(s) {
  const key = `task.state.${s}`;
  const v = t(key);
  return v === key ? s : v;
}

/** actionText is the button text of a transition (签收, 交单, …). */
export function actionText(a) {
  const key = `task.action.${a}`;
  const v = t(key);
  return v === key ? a : v;
}

function known(key, fallback) {
  const v = t(key);
  return v === key ? fallback : v;
}

/** taskTitle names a task: the title given, else the incident's kind. */
export function taskTitle(task) {
  if (task.title) return task.title;
  if (task.kind) return known(`inc.kind.${task.kind}`, task.kind);
  return task.id;
}

/** sourceText says where the task came from (摄像头事件, 居民上报, …). */
export function sourceText(source) {
  return known(`task.source.${source}`, source || '');
}

const pad = (n) => String(n).padStart(2, '0');

/** at is a time to the second in the center's zone, with the date when it is not today. */
export function at(ms) {
  return fmtTime(ms);
}

/** span is a duration in words: 12秒, 3分05秒, 2小时03分, 1天4小时. */
export function span(ms) {
  return fmtDuration(ms);
}

/** description is a task's description in the page language (one the bridge wrote comes as a code). */
export function description(task) {
  return tf(task.description_code, task.description_params, task.description || '');
}

/** clock is a running duration as a clock: 03:05, 1:02:03, 2d 03:00:00. */
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hms = `${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
  const h = Math.floor(s / 3600);
  if (h === 0) return hms;
  if (h < 24) return `${h}:${hms}`;
  return `${Math.floor(h / 24)}d ${pad(h % 24)}:${hms}`;
}

// The stage whose time limit runs in each state (task/deadline.go): claim
// from each dispatch, arrive from each claim, resolve from the first
// dispatch to the submission.
const RUNNING = {
  dispatched: ['claim', 'resolve'],
  claimed: ['arrive', 'resolve'],
  arrived: ['resolve'],
};

/**
 * overdue lists the stages the task is past its limit in now: a mark in
 * overdue_ms made since the stage began.
 */
export function overdue(task) {
  const marks = task.overdue_ms || {};
  const out = [];
  for (const stage of RUNNING[task.state] || []) {
    const m = marks[stage];
    if (!m) continue;
    const began = stage === 'resolve' ? (task.since && task.since.dispatched) || 0 : task.state_ms || 0;
    if (m >= began) out.push(stage);
  }
  return out;
}

/** overdueText is the mark of an overdue task: 签收超时 · 办理超时. */
export function overdueText(stages) {
  return stages.map((s) => t('task.overdue.stage', { stage: known(`stage.${s}`, s) })).join(' · ');
}

/**
 * timer makes el a running timer of the time since ms: it shows the clock
 * and is updated each second by the one ticker of the page.
 */
export function timer(el, ms) {
  el.classList.add('timer');
  el.dataset.since = String(ms || 0);
  el.textContent = ms ? clock(Date.now() - ms) : '';
  return el;
}

let ticking = 0;

/**
 * startTicker keeps every timer of the page current (one interval for
 * all). Timers start at any moment, so a once-a-second tick could show a
 * second late; four ticks a second, writing only what changed, keep each
 * within a quarter second.
 */
export function startTicker() {
  if (ticking) return;
  ticking = setInterval(() => {
    const now = Date.now();
    for (const el of document.querySelectorAll('.timer[data-since]')) {
      const ms = Number(el.dataset.since);
      const text = ms ? clock(now - ms) : '';
      if (el.textContent !== text) el.textContent = text;
    }
  }, 250);
}

/** place is the task's place in words: the address, else the coordinates, else ''. */
export function place(task) {
  const l = task.location || {};
  if (l.address) return l.address;
  if (l.lat || l.lng) return coords(l);
  return '';
}

/** coords is "lat, lng" to six decimals (about 10 cm). */
export function coords(l) {
  return `${Number(l.lat).toFixed(6)}, ${Number(l.lng).toFixed(6)}`;
}

/** who names an actor id for people: a camera, the system, a user's name. */
export function who(id, { names = new Map(), cameras = new Map() } = {}) {
  if (!id) return '';
  if (id.startsWith('camera:')) {
    const cam = id.slice(7);
    const c = cameras.get(cam);
    return t('who.camera', { name: (c && c.name) || cam });
  }
  if (id === 'system') return t('who.system');
  if (id === '@staff_token') return t('who.staff_token');
  const n = names.get(id);
  if (id.startsWith('dev-')) return n || t('who.device');
  return n && n !== id ? `${n} (${id})` : id;
}

// The sentences the bridge wrote into timelines before notes came with a
// code (entries stored by older bridges), in the page's language; a note
// a person wrote is shown as it is.
const NOTES = [
  [/^seen on camera (.+)$/, 'note.seen', 'cam'],
  [/^verification proposed \(seen on camera\)$/, '', ''],
  [/^the zone still differs \(seen on camera\)$/, 'note.differs', ''],
  [/^confirmed what camera (.+) saw$/, 'note.confirmed', 'cam'],
  [/^accepted automatically: (\S+) is in tasks\.auto_accept$/, 'note.auto', 'kind'],
];

/**
 * noteText is a timeline entry's note in the page's language ('' when the
 * step's name says it all): the bridge's own notes come as a code (e.code,
 * e.params), a person's as they wrote it.
 */
export function noteText(e, { cameras = new Map() } = {}) {
  const note = e.note || '';
  if (e.code === 'note.proposed') return ''; // the step's name (tl.propose) says it
  if (e.code) {
    const p = { ...(e.params || {}) };
    if (p.camera) {
      const c = cameras.get(p.camera);
      if (c && c.name) p.camera = c.name;
    }
    return tf(e.code, p, note);
  }
  for (const [re, key, arg] of NOTES) {
    const m = re.exec(note);
    if (!m) continue;
    if (!key) return '';
    const c = arg === 'cam' ? cameras.get(m[1]) : null;
    return t(key, { name: (c && c.name) || m[1], kind: known(`inc.kind.${m[1]}`, m[1]) });
  }
  return note;
}

/** geoText is why the browser gave no position (a GeolocationPositionError), in the page language. */
export function geoText(e) {
  const key = `geo.${e && e.code}`;
  const s = t(key);
  return s === key ? (e && e.message) || '' : s;
}

/** verdictText is the camera's verdict (evidence or proposal) in the page language. */
export function verdictText(v) {
  return tf(v.verdict_code, v.verdict_params, v.verdict || '');
}

/** entryVerb is what a timeline entry records (上报, 派单, 到场, 摄像头建议核查通过, …). */
export function entryVerb(e) {
  return known(`tl.${e.action}`, e.action);
}

/**
 * pictures lists the pictures of a task's evidence as {label, url, kind}:
 * the snapshot, the worker's photo, before and after.
 */
export function pictures(ev, token) {
  if (!ev) return [];
  const out = [];
  if (ev.snapshot) out.push({ label: t('td.snapshot'), url: pictureURL(ev.snapshot, 'snapshot', token), kind: 'snapshot' });
  if (ev.photo) out.push({ label: t('td.photo'), url: pictureURL(ev.photo, 'photo', token), kind: 'photo' });
  if (ev.before) out.push({ label: t('td.before'), url: pictureURL(ev.before, 'snapshot', token), kind: 'before' });
  if (ev.after) out.push({ label: t('td.after'), url: pictureURL(ev.after, 'snapshot', token), kind: 'after' });
  return out;
}

/** thumb is a picture link: a small <img> that opens the full picture in a new tab. */
export function thumb({ label, url, kind }) {
  const a = document.createElement('a');
  a.className = 'thumb';
  a.href = url;
  a.target = '_blank';
  a.rel = 'noopener';
  a.dataset.kind = kind;
  const img = document.createElement('img');
  img.alt = label;
  img.loading = 'lazy';
  img.decoding = 'async';
  img.src = url;
  img.addEventListener('error', () => a.classList.add('thumb--none'));
  const cap = document.createElement('span');
  cap.textContent = label;
  a.append(img, cap);
  return a;
}

function span2(cls, text) {
  const el = document.createElement('span');
  el.className = cls;
  el.textContent = text;
  return el;
}

/**
 * timeline draws a task's entries, oldest first, into ol: each step with
 * its time to the second, what it was, who made it, whether a person or a
 * camera confirmed it, its note and its evidence (pictures, GPS, verdict).
 * Hooks for the browser tests: li.tl-entry[data-action][data-source] and
 * its <time datetime>; with clips (the center's pages), an entry's clip is
 * .tl-clip[data-clip=ID][data-state] with button.tl-clip-play, and plays in
 * its video[data-clip=ID].
 */
export function timeline(ol, entries, { token = '', names, cameras, clips = false } = {}) {
  ol.classList.add('timeline');
  let prev = null;
  const items = [...entries].sort((a, b) => a.seq - b.seq).map((e) => {
    const li = document.createElement('li');
    li.className = 'tl-entry';
    li.dataset.action = e.action;
    li.dataset.source = e.source || '';
    li.dataset.seq = String(e.seq);
    const time = document.createElement('time');
    time.className = 'tl-time';
    time.dateTime = new Date(e.at_ms).toISOString();
    // the date on every step, and under it the time since the step before
    time.textContent = fmtTime(e.at_ms, { date: true });
    time.title = fmtTime(e.at_ms, { date: 'full' });
    const when = document.createElement('div');
    when.className = 'tl-when';
    when.append(time);
    if (prev && e.at_ms >= prev.at_ms) when.append(span2('tl-gap', t('tl.after', { d: span(e.at_ms - prev.at_ms) })));
    prev = e;

    const body = document.createElement('div');
    body.className = 'tl-body';
    const head = document.createElement('div');
    head.className = 'tl-head';
    head.append(span2('tl-what', entryVerb(e)));
    if (e.action === 'dispatch' && e.worker) head.append(span2('tl-to', t('tl.to', { name: who(e.worker, { names, cameras }) })));
    if (e.action === 'rate' && e.stars) head.append(span2('tl-stars', '★'.repeat(e.stars) + '☆'.repeat(Math.max(0, 5 - e.stars))));
    if (e.from && e.to && e.from !== e.to) head.append(span2('tl-states', `${stateText(e.from)} → ${stateText(e.to)}`));
    const src = span2('tl-src', known(`src.${e.source}`, e.source || ''));
    src.dataset.source = e.source || '';
    if (e.source) head.append(src);
    body.append(head);
    // a resident gets no logins: staff come without a name, a worker as the center names them
    body.append(span2('tl-who', who(e.by, { names, cameras }) || (e.role && e.role !== 'system' ? t(`role.${e.role}`) : '')));
    if (e.action === 'overdue' && e.stage) body.append(span2('tl-note', t('task.overdue.stage', { stage: known(`stage.${e.stage}`, e.stage) })));
    const note = e.action === 'overdue' ? '' : noteText(e, { cameras });
    if (note) body.append(span2('tl-note', note));
    const ev = e.evidence;
    if (ev && ev.verdict) body.append(span2('tl-verdict', verdictText(ev)));
    if (ev && ev.gps) {
      const g = ev.gps;
      let s = t('td.gps', { lat: Number(g.lat).toFixed(6), lng: Number(g.lng).toFixed(6) });
      if (g.accuracy_m) s += ` ${t('td.accuracy', { m: Math.round(g.accuracy_m) })}`;
      if (g.distance_m) s += ` · ${t('td.distance', { m: Math.round(g.distance_m) })}`;
      body.append(span2('tl-gps', s));
    }
    const pics = pictures(ev, token);
    if (pics.length) {
      const box = document.createElement('div');
      box.className = 'tl-pics';
      box.append(...pics.map(thumb));
      body.append(box);
    }
    if (clips && ev && ev.clip) body.append(clipBox(ev.clip, token));
    li.append(when, body);
    return li;
  });
  ol.replaceChildren(...items);
  return ol;
}

/** clipURL is a clip's video; <video> cannot send headers, so ?token=. */
export function clipURL(id, token) {
  return `/api/clips/${encodeURIComponent(id)}.mp4` + (token ? `?token=${encodeURIComponent(token)}` : '');
}

/**
 * clipBox is an entry's clip (the camera's video from record.before to
 * record.after around the step): a button that plays it in place, or says
 * it is still being recorded (and tries again), short, or missing.
 */
export function clipBox(clip, token) {
  const box = document.createElement('div');
  box.className = 'tl-clip';
  box.dataset.clip = clip.id;
  box.dataset.state = 'idle';
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.className = 'tl-clip-play';
  btn.textContent = t('clip.play', { s: Math.round((clip.end_ms - clip.start_ms) / 1000) });
  const status = span2('tl-clip-status', '');
  box.append(btn, status);
  const play = async () => {
    btn.disabled = true;
    let info;
    try {
      info = await getJSON(`/api/clips/${encodeURIComponent(clip.id)}`, { token });
    } catch (err) {
      box.dataset.state = 'error';
      status.textContent = err.message;
      btn.disabled = false;
      return;
    }
    box.dataset.state = info.state;
    if (info.state === 'pending') {
      status.textContent = t('clip.pending');
      setTimeout(() => { if (box.isConnected) play(); }, 3000);
      return;
    }
    if (info.state !== 'ready') {
      status.textContent = `${t('clip.none')} ${info.note || ''}`.trim();
      btn.disabled = false;
      return;
    }
    status.textContent = info.short ? `${t('clip.short')} ${info.note || ''}` : '';
    const v = document.createElement('video');
    v.dataset.clip = clip.id;
    v.controls = true;
    v.muted = true;
    v.playsInline = true;
    v.preload = 'auto';
    v.src = clipURL(clip.id, token);
    btn.hidden = true;
    box.append(v);
    v.play().catch(() => { /* the controls are there */ });
  };
  btn.addEventListener('click', play);
  return box;
}

/** newer returns the newer of two versions of a task (by updated_ms, then entries). */
export function newer(old, next) {
  if (!old) return next;
  if ((next.updated_ms || 0) !== (old.updated_ms || 0)) return (next.updated_ms || 0) > (old.updated_ms || 0) ? next : old;
  return (next.entries || 0) >= (old.entries || 0) ? next : old;
}

/** stateBadge makes the coloured state label of a task. */
export function stateBadge(state, el = document.createElement('span')) {
  el.className = 'state';
  el.dataset.state = state;
  el.textContent = stateText(state);
  return el;
}

/** startOfToday is midnight in the center's zone, in ms. */
export function startOfToday() {
  const now = Date.now();
  const p = {};
  for (const x of new Intl.DateTimeFormat('en-US', { timeZone: timeZone(), hourCycle: 'h23', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(now)) p[x.type] = Number(x.value);
  return now - now % 1000 - ((p.hour * 60 + p.minute) * 60 + p.second) * 1000;
}
