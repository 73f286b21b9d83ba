// taskboard: the center's part of the tasks (工单). Board is the duty
// officer's board (/board, board.js): a column per state with its count,
// newest or most urgent first, filtered by grid, kind, source, overdue and
// a search, fed by the board's API (GET /api/tasks?states=…&sort=…) and kept
// live by the `task` events; bulk reject (误报/重复) and merge of the cards
// ticked; accept/reject of what the cameras and residents reported,
// dispatch to a worker picked from the task's grid, a task's detail (its
// camera live beside its timeline, the allowed actions, one-click verify of
// the camera's proposal) and today's statistics. The wall (screen.js) uses
// the same detail without the columns, and Ticker: the newest open tasks in
// one row. The open task is in the address (?task=ID): a reload keeps it
// open, the browser's back closes it.
//
// Hooks for the browser tests (tests/browser/check.mjs):
//   #board .col[data-state=S] holds li.tcard[data-id][data-state][data-camera]
//   [data-source] (data-overdue when late), in the column's order, its quick
//   buttons button[data-act=accept|reject|dispatch|verify|close], its
//   input.tcard-check (board page) and its .timer; the column's .count is
//   how many match; #stats has .stat[data-key];
//   #bulk (board page) has #bulk-count and button[data-bulk=false_alarm|
//   duplicate|merge], #bulk-note says what a bulk action did;
//   #task-detail[data-id][data-state] has button[data-action=A] for each
//   allowed action, the dispatch picker's input[name=worker][value=USER] and
//   button[data-confirm=dispatch], .td-proposal with the camera's before and
//   after, video[data-camera] in .td-live, and the timeline's li.tl-entry;
//   #ticker (the wall) holds li.tick[data-id][data-state][data-camera].

import { TrackReplay } from './trackreplay.js';
import { t, tf } from './i18n.js';
import { board as fetchBoard, bulk as sendBulk, task as fetchTask, act, rate, workers as fetchWorkers, stats as fetchStats, HttpError, pictureURL, incidentSnapshotURL } from './api.js';
import { WhepPlayer, viewStatus } from './whep.js';
import {
  BOARD, OPEN, stateText, actionText, taskTitle, sourceText, at, span, timer, startTicker, overdue, overdueText,
  place, who, timeline, newer, stateBadge, startOfToday, thumb, verdictText,
} from './tasks.js';

const FALLBACK_MS = 120000; // a full reload now and then, in case an event was missed
const STATS_MS = 60000;
const SETTLE_MS = 1500; // after events, the columns are reloaded for their counts and order
const PER_COLUMN = 100; // cards a column shows; its count says how many match
const CLOSED_SHOWN = 30; // the closed column shows the latest ones only
// Actions a card offers without opening the task; the others need a choice
// (a worker, a reason), made in the detail.
const QUICK = { reported: ['accept', 'reject'], accepted: ['dispatch'], submitted: ['verify'], verified: ['close'] };
const NEEDS_FORM = new Set(['dispatch', 'reject', 'rework', 'merge']);

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** priority is how much a task matters by what it is (task.Priority in Go, for tasks that came by event). */
export function priority(task) {
  let p = 1;
  if (task.kind === 'camera_tampered') p = 3;
  else if (task.kind === 'loitering' || task.kind === 'camera_offline' || task.source === 'resident') p = 2;
  return p + Math.min(task.repeats || 0, 2);
}

/** late reports whether a running stage of the task is past its limit (the board's answer, or the marks). */
export function late(task) {
  return overdue(task).length > 0 || (task.overdue === true && task.state !== 'closed' && task.state !== 'rejected');
}

/** order compares two tasks in the board's order sort ('newest' or 'urgent'), as the API sorts them. */
export function order(sort) {
  if (sort === 'urgent') {
    return (a, b) => (late(b) - late(a)) || (priority(b) - priority(a)) || (a.created_ms - b.created_ms) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }
  return (a, b) => (b.created_ms - a.created_ms) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * Filter is what the board shows, as the address holds it:
 * ?states=a,b&grid=&kind=&source=&overdue=1&q=&sort=newest|urgent.
 */
export class Filter {
  constructor(params = new URLSearchParams(location.search)) {
    const states = (params.get('states') || '').split(',').filter((s) => BOARD.includes(s) || s === 'rejected');
    this.states = states.length ? states : [...BOARD];
    this.grid = params.get('grid') || '';
    this.kind = params.get('kind') || '';
    this.source = params.get('source') || '';
    this.overdue = params.get('overdue') === '1';
    this.q = params.get('q') || '';
    this.sort = params.get('sort') === 'urgent' ? 'urgent' : 'newest';
  }

  /** query is the API's query for one column. */
  query(state) {
    return { states: state, grid: this.grid, kind: this.kind, source: this.source, overdue: this.overdue, q: this.q.trim(), sort: this.sort };
  }

  /** params writes the filter into p (the address's query). */
  params(p) {
    const set = (k, v) => (v ? p.set(k, v) : p.delete(k));
    set('states', this.states.join(',') === BOARD.join(',') ? '' : this.states.join(','));
    set('grid', this.grid);
    set('kind', this.kind);
    set('source', this.source);
    set('overdue', this.overdue ? '1' : '');
    set('q', this.q.trim());
    set('sort', this.sort === 'newest' ? '' : this.sort);
    return p;
  }

  /** match reports whether a task (from an event) belongs on the board as filtered; names gives a camera's name. */
  match(task, name = () => '') {
    if (!this.states.includes(task.state)) return false;
    if ((this.grid && task.grid !== this.grid) || (this.kind && task.kind !== this.kind) || (this.source && task.source !== this.source)) return false;
    if (this.overdue && !late(task)) return false;
    const q = this.q.trim().toLowerCase();
    if (!q) return true;
    const l = task.location || {};
    return [task.id, task.title, task.description, l.address, task.camera, task.camera ? name(task.camera) : '']
      .some((f) => (f || '').toLowerCase().includes(q));
  }
}

/**
 * setTaskParam puts the open task into the address: push adds a history
 * entry (so back closes it), otherwise the entry is replaced.
 */
function setTaskParam(id, push) {
  const p = new URLSearchParams(location.search);
  if (id) p.set('task', id);
  else p.delete('task');
  const url = `${location.pathname}${p.toString() ? `?${p}` : ''}${location.hash}`;
  if (push) history.pushState({ qlyTask: id }, '', url);
  else history.replaceState(id ? { qlyTask: id } : null, '', url);
}

/** Board is the center's task board, stats and detail; without #board-cols (the wall), the detail alone. */
export class Board {
  /**
   * @param {{token: string, me: object, cameras: () => Array, onCount?: (n: number) => void, filter?: Filter}} opts
   *   cameras gives the camera list (for names); onCount the number waiting for review (待核单).
   */
  constructor({ token, me, cameras, onCount = () => {}, filter = new Filter() }) {
    this.token = token;
    this.me = me;
    this.cameras = cameras;
    this.onCount = onCount;
    this.filter = filter;
    this.tasks = new Map();
    this.cards = new Map();
    this.counts = {}; // state → how many match, from the last reload, moved by events since
    this.selected = new Set(); // ticked cards, for bulk actions
    this.names = new Map();
    if (me && me.sub) this.names.set(me.sub, me.name || me.sub);
    this.off = false;
    this.error = '';
    this.bulkBusy = false;
    this.loading = 0;
    this.settle = 0;
    this.statsTimer = 0;
    this.statsSoon = 0;
    this.detail = null; // {id, data, player, form, busy, error, reloadTimer}
    this.root = document.getElementById('board');
    this.cols = document.getElementById('board-cols');
    this.pane = document.getElementById('task-detail');
    // the browser's back and forward open and close the task the address names
    addEventListener('popstate', () => {
      const id = new URLSearchParams(location.search).get('task') || '';
      if (!id) this.hide();
      else if (!this.detail || this.detail.id !== id) this.open(id, '', { push: false });
    });
    addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.detail && !(ev.target instanceof HTMLInputElement)) this.close();
    });
  }

  /** start draws the columns of the filter's states and loads the tasks, the workers' names and the stats. */
  start() {
    this.root.hidden = false;
    this.drawColumns();
    startTicker();
    setInterval(() => this.renderCards(), 1000 * 15); // overdue marks and 'today' move with the clock
    setInterval(() => this.reload(), FALLBACK_MS);
    this.reload();
    this.loadNames();
    this.statsTimer = setInterval(() => this.loadStats(), STATS_MS);
    this.loadStats();
  }

  drawColumns() {
    this.cards.clear();
    this.cols.style.setProperty('--ncols', String(this.filter.states.length));
    this.cols.replaceChildren(...this.filter.states.map((s) => {
      const col = el('section', 'col');
      col.dataset.state = s;
      const h = el('h3', 'col-head');
      h.append(el('span', 'col-name', stateText(s)), el('span', 'count', '0'));
      const list = el('ol', 'col-list');
      list.setAttribute('aria-label', stateText(s));
      col.append(h, list);
      return col;
    }));
  }

  /** refilter shows the board as filter f says: new columns, a new load. */
  refilter(f) {
    this.filter = f;
    this.tasks = new Map();
    this.counts = {};
    this.selected.clear();
    this.drawColumns();
    this.renderBulk();
    this.reload();
  }

  cam(id) {
    return (this.cameras() || []).find((c) => c.id === id);
  }

  camMap() {
    return new Map((this.cameras() || []).map((c) => [c.id, c]));
  }

  camName(id) {
    const c = this.cam(id);
    return (c && c.name) || '';
  }

  /** reload fetches each column of the board (at start, on each reconnect of the events, after events settle, and slowly as a fallback). */
  async reload() {
    if (!this.cols) return;
    const my = ++this.loading;
    let delay = 2000;
    const f = this.filter;
    for (;;) {
      try {
        const lists = await Promise.all(f.states.map((s) => fetchBoard({ ...f.query(s), limit: s === 'closed' || s === 'rejected' ? CLOSED_SHOWN : PER_COLUMN }, { token: this.token })));
        if (my !== this.loading || f !== this.filter) return;
        this.off = false;
        this.error = '';
        const fresh = new Map();
        this.counts = {};
        f.states.forEach((s, i) => {
          this.counts[s] = lists[i].counts[s] ?? lists[i].total;
          for (const task of lists[i].tasks) fresh.set(task.id, newer(this.tasks.get(task.id), task));
        });
        // Tasks we hold that no list has any more left the board (filtered out, or old closed ones).
        this.tasks = fresh;
        for (const id of this.selected) if (!fresh.has(id)) this.selected.delete(id);
        this.renderCards();
        this.renderBulk();
        return;
      } catch (err) {
        if (my !== this.loading) return;
        if (err instanceof HttpError && (err.status === 404 || err.status === 503)) {
          this.off = true;
          this.renderCards();
          return;
        }
        this.error = err.message;
        this.renderCards();
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30000);
      }
    }
  }

  reloadSoon() {
    if (!this.cols) return;
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.reload(), SETTLE_MS);
  }

  async loadNames() {
    try {
      for (const w of await fetchWorkers('', { token: this.token })) this.names.set(w.user, w.name || w.user);
      this.renderCards();
    } catch { /* names are a nicety: ids are shown instead */ }
  }

  /** onTask takes a `task` event: the board and an open detail follow it. */
  onTask(msg) {
    const task = msg.task;
    const old = this.tasks.get(task.id);
    const kept = newer(old, task);
    if (this.cols) {
      const name = (id) => this.camName(id);
      const was = old && this.filter.match(old, name) ? old.state : '';
      const is = this.filter.match(kept, name) ? kept.state : '';
      if (was !== is) {
        if (was) this.counts[was] = Math.max(0, (this.counts[was] || 0) - 1);
        if (is) this.counts[is] = (this.counts[is] || 0) + 1;
      }
      if (is) this.tasks.set(task.id, kept);
      else this.tasks.delete(task.id);
      this.renderCards();
      this.reloadSoon();
    } else {
      this.tasks.set(task.id, kept);
    }
    if (this.detail && this.detail.id === task.id) this.reloadDetailSoon();
    clearTimeout(this.statsSoon);
    this.statsSoon = setTimeout(() => this.loadStats(), 1500);
  }

  // ---------- the board ----------

  renderCards() {
    if (!this.cols) return;
    const note = document.getElementById('board-note');
    note.hidden = !(this.off || this.error);
    note.textContent = this.off ? t('board.off') : this.error ? t('board.failed', { error: this.error }) : '';
    note.classList.toggle('error', Boolean(this.error) && !this.off);
    this.cols.hidden = this.off;
    const byState = new Map(this.filter.states.map((s) => [s, []]));
    for (const task of this.tasks.values()) if (byState.has(task.state)) byState.get(task.state).push(task);
    const keep = new Set();
    const cmp = order(this.filter.sort);
    for (const [state, list] of byState) {
      list.sort(cmp);
      const shown = list.slice(0, state === 'closed' || state === 'rejected' ? CLOSED_SHOWN : PER_COLUMN);
      const col = this.cols.querySelector(`.col[data-state="${state}"]`);
      if (!col) continue;
      col.querySelector('.col-name').textContent = stateText(state);
      const count = col.querySelector('.count');
      const n = Math.max(this.counts[state] || 0, list.length);
      count.textContent = String(n);
      count.classList.toggle('hot', state === 'reported' && n > 0);
      const ol = col.querySelector('.col-list');
      shown.forEach((task, i) => {
        keep.add(task.id);
        let li = this.cards.get(task.id);
        if (!li) {
          li = this.card(task);
          this.cards.set(task.id, li);
        }
        this.fillCard(li, task);
        if (ol.children[i] !== li) ol.insertBefore(li, ol.children[i] || null);
      });
      for (const e of ol.querySelectorAll('.col-more')) e.remove();
      if (!shown.length) {
        if (!ol.querySelector('.col-empty')) ol.append(el('li', 'col-empty', t('board.empty')));
        ol.querySelector('.col-empty').textContent = t('board.empty');
      } else {
        for (const e of ol.querySelectorAll('.col-empty')) e.remove();
        if (n > shown.length) ol.append(el('li', 'col-more', t('bd.more', { n: n - shown.length })));
      }
    }
    for (const [id, li] of this.cards) {
      if (!keep.has(id)) {
        li.remove();
        this.cards.delete(id);
      }
    }
    this.onCount(this.counts.reported || 0);
  }

  card(task) {
    const li = el('li', 'tcard');
    li.dataset.id = task.id;
    li.innerHTML = `
      <label class="tcard-pick"><input type="checkbox" class="tcard-check"></label>
      <button type="button" class="tcard-open">
        <span class="tcard-pic"><img alt="" decoding="async" loading="lazy"></span>
        <span class="tcard-text">
          <span class="tcard-title"></span>
          <span class="tcard-meta"></span>
          <span class="tcard-foot"><span class="tcard-timer"></span><span class="tcard-prio"></span><span class="tcard-overdue"></span></span>
        </span>
      </button>
      <div class="tcard-acts"></div>`;
    li.querySelector('.tcard-open').addEventListener('click', () => this.open(li.dataset.id));
    const check = li.querySelector('.tcard-check');
    check.dataset.id = task.id;
    check.addEventListener('change', () => {
      if (check.checked) this.selected.add(li.dataset.id);
      else this.selected.delete(li.dataset.id);
      li.classList.toggle('picked', check.checked);
      this.renderBulk();
    });
    // a picture that failed stays hidden through the card's later renders
    li.querySelector('img').addEventListener('error', (ev) => {
      ev.target.dataset.failed = ev.target.dataset.src || '';
      ev.target.closest('.tcard-pic').hidden = true;
    });
    li.querySelector('.tcard-acts').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-act]');
      if (!b) return;
      const a = b.dataset.act;
      if (NEEDS_FORM.has(a)) this.open(li.dataset.id, a);
      else this.quick(li.dataset.id, a, b);
    });
    return li;
  }

  picture(task) {
    if (task.photo) return pictureURL(task.photo, task.source === 'incident' ? 'snapshot' : 'photo', this.token);
    if (task.incident_id) return incidentSnapshotURL(task.incident_id, this.token);
    return '';
  }

  fillCard(li, task) {
    li.dataset.state = task.state;
    li.dataset.camera = task.camera || '';
    li.dataset.source = task.source || '';
    const marks = overdue(task);
    if (late(task)) li.dataset.overdue = marks.join(' ') || 'overdue';
    else delete li.dataset.overdue;
    const prio = priority(task);
    li.dataset.priority = String(prio);
    const check = li.querySelector('.tcard-check');
    check.checked = this.selected.has(task.id);
    li.classList.toggle('picked', check.checked);
    check.setAttribute('aria-label', t('bd.pick', { title: taskTitle(task) }));
    const cam = task.camera ? this.cam(task.camera) : null;
    // a problem that came back: its count of sightings
    li.querySelector('.tcard-title').textContent = taskTitle(task) + (task.repeats ? ` ×${task.repeats + 1}` : '');
    const meta = [sourceText(task.source), cam ? cam.name || cam.id : task.camera || place(task), task.grid];
    if (task.worker) meta.push(who(task.worker, { names: this.names }));
    li.querySelector('.tcard-meta').textContent = meta.filter(Boolean).join(' · ');
    const tm = li.querySelector('.tcard-timer');
    if (task.state === 'closed' || task.state === 'rejected') {
      tm.classList.remove('timer');
      delete tm.dataset.since;
      tm.textContent = at(task.state_ms);
    } else {
      timer(tm, task.state_ms);
    }
    const pr = li.querySelector('.tcard-prio');
    pr.textContent = prio >= 2 && task.state !== 'closed' && task.state !== 'rejected' ? t('bd.prio', { n: prio }) : '';
    pr.dataset.priority = String(prio);
    li.querySelector('.tcard-overdue').textContent = late(task) ? (marks.length ? overdueText(marks) : t('bd.overdue')) : '';
    const pic = li.querySelector('.tcard-pic');
    const src = task.state === 'reported' || task.state === 'accepted' ? this.picture(task) : '';
    const img = pic.querySelector('img');
    pic.hidden = !src || img.dataset.failed === src;
    if (src && img.dataset.src !== src) {
      img.dataset.src = src;
      img.src = src;
    }
    const acts = li.querySelector('.tcard-acts');
    let quick = QUICK[task.state] || [];
    if (task.state === 'submitted' && !(task.proposal && task.proposal.state === 'submitted')) quick = [];
    const want = quick.join(',');
    if (acts.dataset.acts !== want) {
      acts.dataset.acts = want;
      acts.replaceChildren(...quick.map((a) => {
        const b = el('button', a === 'reject' ? '' : 'primary', a === 'verify' ? t('td.verify.one') : actionText(a));
        b.type = 'button';
        b.dataset.act = a;
        return b;
      }));
    }
    acts.hidden = quick.length === 0;
  }

  async quick(id, action, button) {
    button.disabled = true;
    try {
      const res = await act(id, action, {}, { token: this.token });
      if (res.task) this.onTask({ type: 'task', task: res.task, entry: res.entry });
    } catch (err) {
      this.open(id);
      this.showError(err);
    } finally {
      button.disabled = false;
    }
  }

  // ---------- bulk actions ----------

  /** renderBulk shows how many cards are ticked and what may be done to them. */
  renderBulk() {
    const bar = document.getElementById('bulk');
    if (!bar) return;
    const n = this.selected.size;
    bar.dataset.count = String(n);
    document.getElementById('bulk-count').textContent = t('bd.selected', { n });
    for (const b of bar.querySelectorAll('button[data-bulk]')) b.disabled = n === 0 || (b.dataset.bulk === 'merge' && n < 2) || this.bulkBusy;
  }

  /** runBulk rejects the ticked tasks (reason false_alarm or duplicate) or merges them into the oldest. */
  async runBulk(what) {
    const ids = [...this.selected];
    if (!ids.length || this.bulkBusy) return;
    const body = what === 'merge' ? { ids, action: 'merge', note: t('bd.merge.note') } : { ids, action: 'reject', reason: what, note: t(what === 'duplicate' ? 'td.reason.dup' : 'td.reason.false') };
    const note = document.getElementById('bulk-note');
    this.bulkBusy = true;
    this.renderBulk();
    try {
      const res = await sendBulk(body, { token: this.token });
      const failed = (res.results || []).filter((r) => !r.ok);
      note.textContent = t('bd.done', { done: res.done || 0, failed: res.failed || 0 }) + (failed.length ? ` — ${failed.map((r) => `${r.id}: ${tf(r.msg_code, r.params, r.error)}`).join('; ')}` : '');
      note.classList.toggle('error', failed.length > 0);
      note.dataset.done = String(res.done || 0);
      note.dataset.failed = String(res.failed || 0);
      this.selected.clear();
    } catch (err) {
      note.textContent = t('td.failed', { error: err.message });
      note.classList.add('error');
    } finally {
      this.bulkBusy = false;
      note.hidden = false;
    }
    this.renderCards();
    this.renderBulk();
    this.reload();
  }

  // ---------- statistics ----------

  async loadStats() {
    const box = document.getElementById('stats');
    if (!box) return;
    let st;
    try {
      st = await fetchStats({ fromMS: startOfToday(), toMS: Date.now() + 60000 }, { token: this.token });
    } catch {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const pct = (x) => `${Math.round((Number(x) || 0) * 100)}%`;
    const sat = st.satisfaction || {};
    const items = [
      ['title', t('stats.title'), ''],
      ['reported', t('stats.reported'), String(st.reported || 0)],
      ['dispatched', t('stats.dispatched'), String(st.dispatched || 0)],
      ['closed', t('stats.closed'), String(st.closed || 0)],
      ['open', t('stats.open'), String(st.open || 0)],
      ['closing_rate', t('stats.rate'), pct(st.closing_rate)],
      ['satisfaction', t('stats.satisfaction'), sat.count ? `${pct(sat.share)} · ${t('stats.ratings', { n: sat.count })}` : t('td.none')],
    ];
    const stages = (st.stages || []).filter((s) => s.count > 0);
    const out = items.map(([key, label, value]) => {
      const d = el('div', 'stat');
      d.dataset.key = key;
      d.append(el('dt', '', label), el('dd', '', value));
      return d;
    });
    if (stages.length) {
      const d = el('div', 'stat stat-stages');
      d.dataset.key = 'stages';
      const dd = el('dd');
      for (const s of stages) {
        const one = el('span', 'stage');
        one.dataset.stage = s.stage;
        one.append(el('span', 'stage-name', t(`stage.${s.stage}`)), el('span', 'stage-time', span(s.median_ms)));
        dd.append(one);
      }
      d.append(el('dt', '', t('stats.median')), dd);
      out.push(d);
    }
    box.replaceChildren(...out);
  }

  // ---------- the detail ----------

  /**
   * open shows task id in the detail pane; form opens the choice an action
   * needs ('dispatch', 'reject', 'rework'). The address names the task; push
   * false when it already does (a reload, the browser's back or forward).
   */
  async open(id, form = '', { push = true } = {}) {
    if (!this.detail || this.detail.id !== id) {
      this.hide();
      if (new URLSearchParams(location.search).get('task') !== id) setTaskParam(id, push);
      this.detail = { id, data: null, player: null, form, busy: false, error: '', reloadTimer: 0, workers: null };
      this.pane.hidden = false;
      this.pane.dataset.id = id;
      this.pane.replaceChildren(el('p', 'td-loading', t('td.loading')));
      document.body.classList.add('detail-open');
    } else if (form) {
      this.detail.form = form;
    }
    await this.loadDetail();
  }

  /** close closes the detail: back in the history when open pushed the task there, else out of the address. */
  close() {
    if (!this.detail) return;
    if (history.state && history.state.qlyTask === this.detail.id) {
      history.back(); // popstate hides it
      return;
    }
    this.hide();
    setTaskParam('', false);
  }

  /** hide hides the detail and stops its video, leaving the address alone. */
  hide() {
    const d = this.detail;
    if (!d) return;
    if (d.player) d.player.stop();
    clearTimeout(d.reloadTimer);
    this.detail = null;
    this.pane.hidden = true;
    this.pane.replaceChildren();
    delete this.pane.dataset.id;
    delete this.pane.dataset.state;
    document.body.classList.remove('detail-open');
  }

  reloadDetailSoon() {
    const d = this.detail;
    clearTimeout(d.reloadTimer);
    d.reloadTimer = setTimeout(() => { if (this.detail === d) this.loadDetail(); }, 150);
  }

  async loadDetail() {
    const d = this.detail;
    if (!d) return;
    try {
      const data = await fetchTask(d.id, { token: this.token });
      if (this.detail !== d) return;
      d.data = data;
      if (!this.cols || this.tasks.has(data.task.id)) this.tasks.set(data.task.id, newer(this.tasks.get(data.task.id), data.task));
      this.renderCards();
      if (d.form && !data.allowed.includes(d.form)) d.form = '';
      if (d.form === 'dispatch' && !d.workers) this.loadWorkers(data.task.grid);
      this.renderDetail();
    } catch (err) {
      if (this.detail !== d) return;
      if (!d.data) this.pane.replaceChildren(el('p', 'td-loading error', t('td.failed', { error: err.message })));
      else this.showError(err);
    }
  }

  async loadWorkers(grid) {
    const d = this.detail;
    try {
      const list = await fetchWorkers(grid, { token: this.token });
      for (const w of list) this.names.set(w.user, w.name || w.user);
      if (this.detail !== d) return;
      d.workers = list;
    } catch (err) {
      if (this.detail !== d) return;
      d.workers = [];
      d.error = err.message;
    }
    this.renderDetail();
  }

  showError(err) {
    if (!this.detail) return;
    this.detail.error = err.message;
    const p = this.pane.querySelector('.td-error');
    if (p) {
      p.hidden = false;
      p.textContent = t('td.failed', { error: err.message });
    }
  }

  // The pane is built once per task and then filled: the <video> must stay
  // in the document for its session to keep playing.
  build() {
    const p = this.pane;
    p.innerHTML = `
      <div class="td-panel">
        <header class="td-head">
          <span class="state"></span>
          <h2 id="td-title"></h2>
          <span class="td-since"></span>
          <span class="td-overdue"></span>
          <span class="spacer"></span>
          <button type="button" class="td-close"></button>
        </header>
        <div class="td-body">
          <div class="td-media">
            <div class="tile td-live" data-status="connecting">
              <video muted playsinline autoplay disablepictureinpicture></video>
              <div class="tile-msg"><strong></strong><small></small></div>
              <div class="tile-info top"><span class="badge"></span></div>
              <div class="tile-info bottom"><span class="tile-name"></span><span class="tile-grid"></span></div>
            </div>
            <p class="td-nocam note" hidden></p>
            <section class="td-proposal" hidden>
              <h3></h3>
              <div class="td-ba"></div>
              <p class="td-verdict"></p>
              <button type="button" class="primary td-verify-one" data-action="verify"></button>
            </section>
            <dl class="td-facts"></dl>
            <section class="td-track" hidden></section>
          </div>
          <div class="td-side">
            <div class="td-actions"></div>
            <form class="td-form" hidden></form>
            <form class="td-followup" hidden>
              <h3></h3>
              <div class="td-fu-stars stars"></div>
              <input class="td-fu-comment" maxlength="500">
              <button type="submit" class="primary td-fu-send"></button>
            </form>
            <p class="td-error error" role="alert" hidden></p>
            <h3 class="td-tl-title"></h3>
            <ol class="timeline"></ol>
          </div>
        </div>
      </div>`;
    p.querySelector('.td-close').addEventListener('click', () => this.close());
    p.querySelector('.td-actions').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-action]');
      if (b) this.choose(b.dataset.action);
    });
    p.querySelector('.td-verify-one').addEventListener('click', () => this.run('verify', {}));
    p.querySelector('.td-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.confirmForm();
    });
    const fu = p.querySelector('.td-followup');
    fu.querySelector('.td-fu-stars').replaceChildren(...[1, 2, 3, 4, 5].map((n) => {
      const b = el('button', '', '★');
      b.type = 'button';
      b.dataset.fuStars = String(n);
      return b;
    }));
    fu.querySelector('.td-fu-stars').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-fu-stars]');
      if (!b || !this.detail) return;
      this.detail.fuStars = Number(b.dataset.fuStars);
      this.renderFollowUp();
    });
    fu.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.followUp();
    });
  }

  // The center's follow-up (回访): a closed task's reporter called in or was
  // called back, and staff record their rating for them.
  renderFollowUp() {
    const d = this.detail;
    const fu = this.pane.querySelector('.td-followup');
    if (!d || !d.data || !fu) return;
    fu.hidden = d.data.task.state !== 'closed';
    if (fu.hidden) return;
    fu.querySelector('h3').textContent = t('td.followup');
    const n = d.fuStars || 0;
    for (const b of fu.querySelectorAll('button[data-fu-stars]')) {
      const k = Number(b.dataset.fuStars);
      b.classList.toggle('on', k <= n);
      b.setAttribute('aria-pressed', String(k <= n));
      b.setAttribute('aria-label', t('td.stars', { n: k }));
    }
    fu.querySelector('.td-fu-comment').placeholder = t('td.followup.comment');
    const send = fu.querySelector('.td-fu-send');
    send.textContent = t('td.followup.send');
    send.disabled = d.busy || !n;
  }

  async followUp() {
    const d = this.detail;
    if (!d || d.busy || !d.fuStars) return;
    d.busy = true;
    d.error = '';
    this.renderDetail();
    try {
      const comment = this.pane.querySelector('.td-fu-comment').value.trim();
      await rate(d.id, d.fuStars, comment, { token: this.token });
      if (this.detail !== d) return;
      d.fuStars = 0;
      this.pane.querySelector('.td-fu-comment').value = '';
    } catch (err) {
      if (this.detail === d) d.error = err.message;
    } finally {
      d.busy = false;
    }
    if (this.detail === d) await this.loadDetail();
  }

  renderDetail() {
    const d = this.detail;
    if (!d || !d.data) return;
    const { task, timeline: entries, allowed } = d.data;
    const p = this.pane;
    if (!p.querySelector('.td-panel')) this.build();
    p.dataset.state = task.state;
    p.dataset.id = task.id;
    stateBadge(task.state, p.querySelector('.td-head .state'));
    p.querySelector('#td-title').textContent = taskTitle(task);
    const since = p.querySelector('.td-since');
    if (task.state === 'closed' || task.state === 'rejected') {
      since.classList.remove('timer');
      delete since.dataset.since;
      since.textContent = at(task.state_ms);
    } else {
      timer(since, task.state_ms);
    }
    since.title = t('td.in.state', { time: span(Date.now() - task.state_ms) });
    const late = overdue(task);
    p.querySelector('.td-overdue').textContent = late.length ? overdueText(late) : '';
    p.querySelector('.td-close').textContent = t('td.back');

    this.renderLive(task);
    // the worker's track (轨迹回放, trackreplay.js)
    const tr = p.querySelector('.td-track');
    if (!tr.replay) tr.replay = new TrackReplay(tr, this.token);
    tr.replay.show(task);

    const prop = task.proposal;
    const propBox = p.querySelector('.td-proposal');
    const showProp = Boolean(prop && (task.state === 'submitted' || task.state === 'arrived'));
    propBox.hidden = !showProp;
    if (showProp) {
      propBox.dataset.state = prop.state;
      propBox.querySelector('h3').textContent = `${t('td.proposal')} · ${at(prop.at_ms)}`;
      const ba = propBox.querySelector('.td-ba');
      const key = `${prop.before}|${prop.after}`;
      if (ba.dataset.key !== key) {
        ba.dataset.key = key;
        const pics = [];
        if (prop.before) pics.push(thumb({ label: t('td.before'), url: pictureURL(prop.before, 'snapshot', this.token), kind: 'before' }));
        if (prop.after) pics.push(thumb({ label: t('td.after'), url: pictureURL(prop.after, 'snapshot', this.token), kind: 'after' }));
        ba.replaceChildren(...pics);
      }
      propBox.querySelector('.td-verdict').textContent = verdictText(prop);
      const one = propBox.querySelector('.td-verify-one');
      one.textContent = t('td.verify.one');
      one.hidden = !allowed.includes('verify');
      one.disabled = d.busy;
    }

    const cam = task.camera ? this.cam(task.camera) : null;
    const facts = [
      ['source', t('td.source'), sourceText(task.source)],
      ['camera', t('td.camera'), cam ? cam.name || cam.id : task.camera || ''],
      ['grid', t('td.grid'), task.grid || ''],
      ['place', t('td.place'), place(task)],
      ['worker', t('td.worker'), task.worker ? who(task.worker, { names: this.names }) : ''],
      ['reporter', t('td.reporter'), task.reporter ? who(task.reporter, { names: this.names, cameras: this.camMap() }) : ''],
      ['created', t('td.created'), at(task.created_ms)],
    ].filter(([, , v]) => v);
    p.querySelector('.td-facts').replaceChildren(...facts.map(([key, k, v]) => {
      const row = el('div', 'fact');
      row.dataset.key = key;
      row.append(el('dt', '', k), el('dd', '', v));
      return row;
    }));

    const acts = p.querySelector('.td-actions');
    acts.replaceChildren(...allowed.map((a) => {
      const b = el('button', a === 'reject' || a === 'rework' ? '' : 'primary', actionText(a));
      b.type = 'button';
      b.dataset.action = a;
      b.disabled = d.busy;
      b.setAttribute('aria-pressed', String(d.form === a));
      return b;
    }));
    this.renderForm();
    this.renderFollowUp();

    const err = p.querySelector('.td-error');
    err.hidden = !d.error;
    err.textContent = d.error ? t('td.failed', { error: d.error }) : '';
    p.querySelector('.td-tl-title').textContent = t('td.timeline');
    timeline(p.querySelector('.timeline'), entries, { token: this.token, names: this.names, cameras: this.camMap(), clips: true });
  }

  renderLive(task) {
    const d = this.detail;
    const p = this.pane;
    const live = p.querySelector('.td-live');
    const nocam = p.querySelector('.td-nocam');
    live.hidden = !task.camera;
    nocam.hidden = Boolean(task.camera);
    nocam.textContent = t('td.no.camera');
    if (!task.camera) return;
    if (!d.player || d.player.camera !== task.camera) {
      if (d.player) d.player.stop();
      d.player = new WhepPlayer(live.querySelector('video'), { camera: task.camera, token: this.token, onState: () => this.renderLiveState() });
      d.player.start();
    }
    this.renderLiveState();
  }

  renderLiveState() {
    const d = this.detail;
    if (!d || !d.player) return;
    const live = this.pane.querySelector('.td-live');
    if (!live) return;
    const cam = this.cam(d.player.camera);
    const status = viewStatus(d.player.state, cam);
    live.dataset.status = status;
    const badge = live.querySelector('.badge');
    badge.dataset.status = status;
    badge.textContent = t(`status.${status}`);
    live.querySelector('.tile-name').textContent = (cam && cam.name) || d.player.camera;
    live.querySelector('.tile-grid').textContent = (cam && cam.grid) || '';
    const msg = { offline: t('status.offline'), forbidden: t('status.forbidden'), error: t('status.error'), connecting: t('msg.connecting'), idle: t('status.idle'), warning: t('status.warning') }[status] || '';
    live.querySelector('.tile-msg strong').textContent = msg;
    live.querySelector('.tile-msg small').textContent = status === 'forbidden' ? t('msg.forbidden') : status === 'online' ? '' : d.player.message || '';
  }

  choose(action) {
    const d = this.detail;
    if (!d || d.busy) return;
    d.error = '';
    if (NEEDS_FORM.has(action)) {
      d.form = d.form === action ? '' : action;
      if (d.form === 'dispatch' && !d.workers) this.loadWorkers(d.data.task.grid);
      this.renderDetail();
      return;
    }
    d.form = '';
    this.run(action, {});
  }

  renderForm() {
    const d = this.detail;
    const form = this.pane.querySelector('.td-form');
    form.hidden = !d.form;
    form.dataset.form = d.form;
    if (!d.form) {
      form.replaceChildren();
      return;
    }
    const key = `${d.form}|${d.workers ? d.workers.map((w) => `${w.user}:${w.open_tasks}`).join(',') : '-'}|${document.documentElement.lang}`;
    if (form.dataset.key === key) {
      const ok = form.querySelector('button[data-confirm]');
      if (ok) ok.disabled = d.busy;
      return;
    }
    form.dataset.key = key;
    delete form.dataset.reason;
    const parts = [];
    if (d.form === 'dispatch') {
      const fs = el('fieldset', 'worker-pick');
      fs.append(el('legend', '', t('td.pick.worker')));
      if (!d.workers) fs.append(el('p', 'note', t('td.loading')));
      else if (!d.workers.length) fs.append(el('p', 'note', t('td.no.workers')));
      for (const w of d.workers || []) {
        fs.append(pickOption('worker', w.user, w.name || w.user, [w.user, w.phone, t('td.open.tasks', { n: w.open_tasks || 0 })], d.data.task.worker === w.user));
      }
      parts.push(fs);
    } else if (d.form === 'merge') {
      // the duplicate goes into another task of the board: those of the
      // same camera first, then the newest
      const here = d.data.task;
      const others = [...this.tasks.values()]
        .filter((x) => x.id !== here.id && x.state !== 'rejected')
        .sort((a, b) => (b.camera === here.camera) - (a.camera === here.camera) || b.created_ms - a.created_ms)
        .slice(0, 12);
      const fs = el('fieldset', 'merge-pick');
      fs.append(el('legend', '', t('td.merge.into')));
      if (!others.length) fs.append(el('p', 'note', t('td.merge.none')));
      for (const x of others) {
        fs.append(pickOption('into', x.id, taskTitle(x), [x.id, t(`task.state.${x.state}`), at(x.created_ms)], false));
      }
      parts.push(fs);
    } else {
      const label = el('label', 'td-note');
      label.append(el('span', '', d.form === 'reject' ? t('td.reason') : t('td.note')));
      const input = el('input');
      input.name = 'note';
      input.required = d.form === 'reject';
      input.maxLength = 1000;
      label.append(input);
      parts.push(label);
      if (d.form === 'reject') {
        const quick = el('div', 'td-reasons');
        for (const [k, reason] of [['td.reason.false', 'false_alarm'], ['td.reason.dup', 'duplicate']]) {
          const b = el('button', '', t(k));
          b.type = 'button';
          b.dataset.reason = reason;
          // the reason goes as its code (the timeline names it in any language), the words as the note
          b.addEventListener('click', () => {
            input.value = t(k);
            form.dataset.reason = reason;
          });
          quick.append(b);
        }
        parts.push(quick);
      }
    }
    const row = el('div', 'td-form-row');
    const ok = el('button', 'primary', t('td.confirm', { action: actionText(d.form) }));
    ok.type = 'submit';
    ok.dataset.confirm = d.form;
    ok.disabled = d.busy;
    const cancel = el('button', '', t('td.cancel'));
    cancel.type = 'button';
    cancel.addEventListener('click', () => {
      d.form = '';
      this.renderDetail();
    });
    row.append(ok, cancel);
    parts.push(row);
    form.replaceChildren(...parts);
  }

  confirmForm() {
    const d = this.detail;
    if (!d || !d.form) return;
    const form = this.pane.querySelector('.td-form');
    if (d.form === 'dispatch') {
      const picked = form.querySelector('input[name=worker]:checked');
      if (!picked) return;
      this.run('dispatch', { worker: picked.value, grid: d.data.task.grid });
      return;
    }
    if (d.form === 'merge') {
      const picked = form.querySelector('input[name=into]:checked');
      if (!picked) return;
      this.run('merge', { into: picked.value, note: t('td.merge.note', { id: picked.value }) });
      return;
    }
    const note = (form.querySelector('input[name=note]') || {}).value || '';
    if (d.form === 'reject' && !note.trim()) return;
    const reason = d.form === 'reject' ? form.dataset.reason || '' : '';
    this.run(d.form, reason ? { note: note.trim(), reason } : { note: note.trim() });
  }

  async run(action, body) {
    const d = this.detail;
    if (!d || d.busy) return;
    d.busy = true;
    d.error = '';
    this.renderDetail();
    try {
      const res = await act(d.id, action, body, { token: this.token });
      if (this.detail !== d) return;
      d.form = '';
      if (res.task) this.onTask({ type: 'task', task: res.task, entry: res.entry });
    } catch (err) {
      if (this.detail === d) d.error = err.message;
    } finally {
      d.busy = false;
    }
    if (this.detail === d) await this.loadDetail();
  }

  /** relabel re-renders the text after a language change. */
  relabel() {
    for (const li of this.cards.values()) li.querySelector('.tcard-acts').dataset.acts = '';
    this.renderCards();
    this.loadStats();
    if (this.detail) {
      const f = this.pane.querySelector('.td-form');
      if (f) f.dataset.key = '';
      this.renderDetail();
    }
  }
}

/** pickOption is one radio choice of a form: a title and a line of facts. */
function pickOption(name, value, title, facts, checked) {
  const label = el('label', 'worker-opt');
  const input = el('input');
  input.type = 'radio';
  input.name = name;
  input.value = value;
  input.required = true;
  input.checked = checked;
  const text = el('span', 'worker-text');
  text.append(el('strong', '', title), el('span', 'worker-meta', facts.filter(Boolean).join(' · ')));
  label.append(input, text);
  return label;
}

const TICKER_SHOWN = 12;

/**
 * Ticker is the wall's one row of the newest open tasks (incidents the
 * cameras raised, reports, …): a click opens the task's detail; the link
 * goes to the board (/board) with the count waiting for review (待核单).
 * Live from the `task` events; reloaded on each reconnect.
 */
export class Ticker {
  /** @param {{token: string, cameras: () => Array, onOpen: (id: string) => void}} opts */
  constructor({ token, cameras, onOpen }) {
    this.token = token;
    this.cameras = cameras;
    this.tasks = new Map();
    this.reported = 0;
    this.root = document.getElementById('ticker');
    this.list = this.root.querySelector('.ticker-list');
    this.list.addEventListener('click', (ev) => {
      const b = ev.target.closest('li[data-id]');
      if (b) onOpen(b.dataset.id);
    });
  }

  start() {
    this.root.hidden = false;
    startTicker();
    this.reload();
    setInterval(() => this.render(), 15000); // overdue marks move with the clock
  }

  async reload() {
    try {
      const page = await fetchBoard({ states: OPEN.join(','), sort: 'newest', limit: TICKER_SHOWN }, { token: this.token });
      this.tasks = new Map(page.tasks.map((x) => [x.id, x]));
      this.reported = page.counts.reported || 0;
      this.error = '';
    } catch (err) {
      this.error = err.message;
    }
    this.render();
  }

  /** onTask takes a `task` event: a new open task comes first, a closed or rejected one leaves. */
  onTask(msg) {
    const task = msg.task;
    const old = this.tasks.get(task.id);
    const kept = newer(old, task);
    const wasReported = old ? old.state === 'reported' : false;
    if (!old && msg.entry && msg.entry.action === 'create' && kept.state === 'reported') this.reported++;
    else if (old && wasReported !== (kept.state === 'reported')) this.reported += kept.state === 'reported' ? 1 : -1;
    if (OPEN.includes(kept.state)) this.tasks.set(task.id, kept);
    else this.tasks.delete(task.id);
    this.render();
  }

  render() {
    const cams = new Map((this.cameras() || []).map((c) => [c.id, c]));
    const shown = [...this.tasks.values()].sort(order('newest')).slice(0, TICKER_SHOWN);
    const count = this.root.querySelector('.ticker-link .count');
    count.textContent = String(Math.max(0, this.reported));
    count.classList.toggle('hot', this.reported > 0);
    const items = shown.map((task) => {
      const li = el('li', 'tick');
      li.dataset.id = task.id;
      li.dataset.state = task.state;
      li.dataset.camera = task.camera || '';
      li.dataset.source = task.source || '';
      if (late(task)) li.dataset.overdue = 'true';
      const b = el('button', 'tick-btn');
      b.type = 'button';
      const cam = task.camera ? cams.get(task.camera) : null;
      b.append(stateBadge(task.state), el('span', 'tick-title', taskTitle(task)),
        el('span', 'tick-where', cam ? cam.name || cam.id : task.camera || place(task)), el('time', 'tick-time', at(task.created_ms)));
      b.title = `${taskTitle(task)} · ${stateText(task.state)} · ${sourceText(task.source)}`;
      li.append(b);
      return li;
    });
    if (!items.length) items.push(el('li', 'tick-empty', this.error ? t('board.failed', { error: this.error }) : t('bd.ticker.none')));
    this.list.replaceChildren(...items);
  }
}
