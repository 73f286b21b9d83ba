#!/usr/bin/env node
// check: headless Chromium checks of the pages, for the Go tests.
//
//   node check.mjs screen  <baseURL> <outDir> <token> <n>
//   node check.mjs app     <baseURL> <outDir> <publicCam> <privateCam>
//   node check.mjs offline <baseURL> <outDir> <token> <camera>   (then commands on stdin)
//   node check.mjs ttff    <baseURL> <camera> <token> <runs>      (token '' or '-': resident)
//   node check.mjs incidents <baseURL> <outDir> <token> <camera> <timeoutMs>
//   node check.mjs story3  <baseURL> <outDir> <camera> <originMs> <photo.jpg> <staff:pw> <worker:pw>
//   node check.mjs overview <baseURL> <outDir> <token> <cameras>   (every camera's picture, then one opened live)
//   node check.mjs wallfps <baseURL> <token> <tiles>               (decoded frames a second of each tile)
//   node check.mjs substream <baseURL> <outDir> <token> <camera>
//   node check.mjs recplay <baseURL> <outDir> <token> <task> <camera>  (a timeline entry's clip, then look back and live)
//   node check.mjs workeralert <baseURL> <outDir> <worker:pw> <staffToken> <camera> <grid>
//   node check.mjs phone   <baseURL> <outDir> <worker:pw> <taskId> <camera>   (tap targets and text sizes at 390x844)
//   node check.mjs account <baseURL> <outDir> <resident:pw> <camera>  (a guest reports, signs in, signs out)
//   node check.mjs stats   <baseURL> <outDir> <token> <query>      (the statistics page at 1920x1080)
//   node check.mjs board   <baseURL> <outDir> <token> <ids.json>   (the duty officer's board, then the wall's ticker, at 1920x1080)
//   node check.mjs map     <baseURL> <outDir> <staffToken> <worker:pw> <taskId> <walkJSON> <lat,lng> <farCamera>
//                          (the worker's scripted walk, the wall's map and track replay, the resident's picker)
//   node check.mjs zhcn    <baseURL> <outDir> <staffToken> <worker:pw> <farTask> <incidentTask> <lat> <lng> [ids,…]
//                          (the story's pages in zh-CN: the English words they show)
//
// Prints results as JSON on stdout (one line; the offline scenario one line
// per event) and exits 0, whatever the pages did: the Go test judges the
// figures. It exits non-zero only when the harness itself fails (no browser,
// bad arguments, a page that does not load), with the reason on stderr.
// What the page logs as an error goes to stderr too, prefixed "[page]".
//
// DOM hooks it relies on (kept by web/*.js):
//   every live <video> has data-camera="ID"; on /screen it sits in
//   .tile[data-camera=ID] whose .badge shows the status text (在线, 离线, 连接中,
//   无权限, …) and carries data-status (online, offline, connecting, forbidden,
//   warning, error); on /app the video is #live and the status is #live-status;
//   a video's data-stream is the stream it plays (main, sub); a tile's second
//   <video>, where a switch of stream starts, has no data-camera until shown;
//   window.__whep[ID] = {postAt, answerAt, firstFrameAt} from performance.now().
//   On /screen the incident panel is #incidents; each incident is
//   .incident[data-id][data-camera][data-kind][data-open=true|false] holding an
//   <img> of its snapshot; a camera's tile with an open incident has tile--incident.
//   The task hooks are listed at the top of web/taskboard.js (the wall),
//   web/worker.js (the worker's phone) and web/resident.js (the resident's).

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const LAUNCH = {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
};
const FRAMES_WANTED = 25;
const PLAY_WAIT_MS = 15000;

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
};
const noToken = (tok) => !tok || tok === '-';
const tokenHash = (tok) => (noToken(tok) ? '' : `#token=${encodeURIComponent(tok)}`);

class UsageError extends Error {}

// In the page: every tile's (or #live's) video with its frames and status.
function videosInPage() {
  return [...document.querySelectorAll('video[data-camera]')].map((v) => {
    const tile = v.closest('.tile');
    const badge = tile ? tile.querySelector('.badge') : document.getElementById('live-status');
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
    return {
      camera: v.dataset.camera,
      frames: q.totalVideoFrames,
      width: v.videoWidth,
      height: v.videoHeight,
      status: badge ? badge.textContent.trim() : '',
      state: badge ? badge.dataset.status || '' : '',
    };
  });
}

async function openBrowser() {
  return chromium.launch(LAUNCH);
}

const contexts = new Set();

async function newPage(browser, viewport, mobile = false) {
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: mobile ? 2 : 1,
    isMobile: mobile,
    hasTouch: mobile,
    locale: 'zh-CN',
  });
  contexts.add(context);
  context.on('close', () => contexts.delete(context));
  const page = await context.newPage();
  page.on('pageerror', (err) => process.stderr.write(`[page] ${err.message}\n`));
  page.on('console', (msg) => { if (msg.type() === 'error') process.stderr.write(`[page] ${msg.text()}\n`); });
  return { context, page };
}

// screen: the wall at layout 4 (or the smallest that holds n), until n tiles
// have played more than 25 frames or 15 s.
async function screen(browser, [base, outDir, token, nArg]) {
  if (!base || !outDir || token === undefined || !nArg) throw new UsageError('screen <baseURL> <outDir> <token> <n>');
  const n = Number(nArg);
  const layout = [4, 9, 16, 25, 36].find((l) => l >= n) || 36;
  fs.mkdirSync(outDir, { recursive: true });
  const { page } = await newPage(browser, { width: 1920, height: 1080 });
  const t0 = Date.now();
  await page.goto(`${base}/screen?layout=${layout}${tokenHash(token)}`);
  let tiles = [];
  for (;;) {
    tiles = await page.evaluate(videosInPage);
    if (tiles.filter((x) => x.frames > FRAMES_WANTED).length >= n || Date.now() - t0 > PLAY_WAIT_MS) break;
    await sleep(250);
  }
  const elapsed = Date.now() - t0;
  await page.screenshot({ path: path.join(outDir, 'screen.png') });
  print({
    tiles: tiles.map(({ camera, frames, width, height, status }) => ({ camera, frames, width, height, status })),
    elapsed_ms: elapsed,
  });
}

// Waits for #live to pass `frames` frames or for ms; returns its last figures.
async function watchLive(page, frames, ms) {
  const t0 = Date.now();
  for (;;) {
    const v = (await page.evaluate(videosInPage))[0] || { frames: 0, width: 0, height: 0, status: '' };
    if (v.frames > frames || Date.now() - t0 > ms) return v;
    await sleep(250);
  }
}

// app: a public camera plays on the phone page; a private one says 无权限.
async function app(browser, [base, outDir, pub, priv]) {
  if (!base || !outDir || !pub || !priv) throw new UsageError('app <baseURL> <outDir> <publicCam> <privateCam>');
  fs.mkdirSync(outDir, { recursive: true });
  const { page } = await newPage(browser, { width: 360, height: 740 }, true);

  await page.goto(`${base}/app?camera=${encodeURIComponent(pub)}`);
  const p = await watchLive(page, FRAMES_WANTED, PLAY_WAIT_MS);
  const timing = await page.evaluate((id) => (window.__whep && window.__whep[id]) || null, pub);
  await page.screenshot({ path: path.join(outDir, 'app.png') });
  const firstFrame = timing && timing.firstFrameAt != null ? Math.round(timing.firstFrameAt) : null;
  const postToFrame = firstFrame != null && timing.postAt != null ? Math.round(timing.firstFrameAt - timing.postAt) : null;

  await page.goto(`${base}/app?camera=${encodeURIComponent(priv)}`);
  await sleep(5000);
  const q = (await page.evaluate(videosInPage))[0] || { frames: 0, status: '' };
  const shown = await page.evaluate(() => {
    const m = document.getElementById('live-msg');
    return m ? m.innerText.trim().replace(/\s+/g, ' ') : '';
  });
  await page.screenshot({ path: path.join(outDir, 'app-private.png') });

  print({
    public: { camera: pub, frames: p.frames, width: p.width, height: p.height, status: p.status, first_frame_ms: firstFrame, post_to_frame_ms: postToFrame },
    private: { camera: priv, frames: q.frames, status: q.status, message: shown },
  });
}

// offline: one camera on the wall; prints {"event":"playing"}, then answers
// commands from stdin (wait-status TEXT MS, wait-frames N MS, quit).
async function offline(browser, [base, outDir, token, camera]) {
  if (!base || !outDir || token === undefined || !camera) throw new UsageError('offline <baseURL> <outDir> <token> <camera>');
  fs.mkdirSync(outDir, { recursive: true });
  const { page } = await newPage(browser, { width: 1280, height: 720 });
  const tile = async () => {
    const all = await page.evaluate(videosInPage);
    return all.find((v) => v.camera === camera) || { camera, frames: 0, status: '', state: '' };
  };

  const t0 = Date.now();
  await page.goto(`${base}/screen?layout=1&camera=${encodeURIComponent(camera)}${tokenHash(token)}`);
  let v;
  for (;;) {
    v = await tile();
    if ((v.frames > 0 && v.state === 'online') || Date.now() - t0 > PLAY_WAIT_MS) break;
    await sleep(100);
  }
  print({ event: 'playing', ok: v.frames > 0 && v.state === 'online', ms: Date.now() - t0, status: v.status, frames: v.frames });

  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    const [cmd, ...rest] = line.trim().split(/\s+/);
    if (!cmd) continue;
    if (cmd === 'quit') break;
    if (cmd === 'wait-status') {
      const [text, msArg] = rest;
      const limit = Number(msArg || 10000);
      const t1 = Date.now();
      for (;;) {
        v = await tile();
        if (v.status === text || v.state === text || Date.now() - t1 > limit) break;
        await sleep(100);
      }
      const ok = v.status === text || v.state === text;
      await page.screenshot({ path: path.join(outDir, 'offline-status.png') });
      print({ event: 'status', status: v.status, ok, ms: Date.now() - t1 });
    } else if (cmd === 'wait-frames') {
      const want = Number(rest[0] || 1);
      const limit = Number(rest[1] || 10000);
      const t1 = Date.now();
      // A reconnect gives the <video> a new stream, whose count starts at 0.
      let last = (await tile()).frames;
      let grown = 0;
      while (grown < want && Date.now() - t1 <= limit) {
        await sleep(100);
        v = await tile();
        grown += v.frames >= last ? v.frames - last : v.frames;
        last = v.frames;
      }
      await page.screenshot({ path: path.join(outDir, 'offline-frames.png') });
      print({ event: 'frames', ok: grown >= want, ms: Date.now() - t1, frames: grown, status: v.status });
    } else {
      print({ event: 'error', ok: false, error: `unknown command ${JSON.stringify(cmd)} (wait-status, wait-frames, quit)` });
    }
  }
  lines.close();
}

// ttff: time from the WHEP POST to the first frame, each run in a new
// browser context (empty cache and storage).
async function ttff(browser, [base, camera, token, runsArg]) {
  if (!base || !camera || token === undefined || !runsArg) throw new UsageError('ttff <baseURL> <camera> <token> <runs>');
  const runs = Number(runsArg);
  const url = noToken(token)
    ? `${base}/app?camera=${encodeURIComponent(camera)}`
    : `${base}/screen?layout=1&camera=${encodeURIComponent(camera)}${tokenHash(token)}`;
  const ms = [];
  const errors = [];
  for (let i = 0; i < runs; i++) {
    const { context, page } = await newPage(browser, { width: 1280, height: 720 });
    await page.goto(url);
    const t0 = Date.now();
    let rec = null;
    for (;;) {
      rec = await page.evaluate((id) => (window.__whep && window.__whep[id]) || null, camera);
      if ((rec && rec.firstFrameAt != null) || (rec && rec.status === 'forbidden') || Date.now() - t0 > PLAY_WAIT_MS) break;
      await sleep(20);
    }
    if (rec && rec.firstFrameAt != null && rec.postAt != null) ms.push(Math.round(rec.firstFrameAt - rec.postAt));
    else if (rec && rec.status === 'forbidden') errors.push(`run ${i + 1}: no permission (forbidden)`);
    else errors.push(rec ? `run ${i + 1}: no frame in 15 s (player ${rec.status || 'unknown'})` : `run ${i + 1}: no WHEP request`);
    await context.close();
  }
  print({ runs_ms: ms, median_ms: median(ms), failed: errors.length, errors });
}

// incidents: the wall until an open incident of camera shows with its picture
// loaded and the tile marked; then until that incident ends. One line each.
async function incidents(browser, [base, outDir, token, camera, msArg]) {
  if (!base || !outDir || token === undefined || !camera || !msArg) throw new UsageError('incidents <baseURL> <outDir> <token> <camera> <timeoutMs>');
  const limit = Number(msArg);
  fs.mkdirSync(outDir, { recursive: true });
  const { page } = await newPage(browser, { width: 1920, height: 1080 });
  const t0 = Date.now();
  await page.goto(`${base}/screen${tokenHash(token)}`);
  const look = (cam) => {
    const tile = document.querySelector(`.tile[data-camera="${CSS.escape(cam)}"]`);
    const items = [...document.querySelectorAll(`#incidents .incident[data-camera="${CSS.escape(cam)}"]`)];
    const open = items.find((el) => el.dataset.open === 'true' && el.querySelector('img') && el.querySelector('img').complete && el.querySelector('img').naturalWidth > 0);
    return {
      id: open ? open.dataset.id : '',
      kind: open ? open.dataset.kind : '',
      img_width: open ? open.querySelector('img').naturalWidth : 0,
      tile_marked: Boolean(tile && tile.classList.contains('tile--incident')),
    };
  };
  let v;
  for (;;) {
    v = await page.evaluate(look, camera);
    if ((v.id && v.tile_marked) || Date.now() - t0 > limit) break;
    await sleep(100);
  }
  const found = Boolean(v.id && v.tile_marked);
  const ms = Date.now() - t0;
  await page.screenshot({ path: path.join(outDir, 'incidents.png') });
  print(found ? { found: true, ms, kind: v.kind, img_width: v.img_width, tile_marked: true } : { found: false, ms, tile_marked: v.tile_marked });
  if (!found) return;

  const t1 = Date.now();
  let ended = false;
  for (;;) {
    ended = await page.evaluate((id) => {
      const el = document.querySelector(`#incidents .incident[data-id="${CSS.escape(id)}"]`);
      return Boolean(el && el.dataset.open === 'false');
    }, v.id);
    if (ended || Date.now() - t1 > limit) break;
    await sleep(100);
  }
  await page.screenshot({ path: path.join(outDir, 'incidents-ended.png') });
  print({ ended, ms: Date.now() - t1 });
}

// ---------- story3: the wall, the worker's phone and the resident's phone ----------

// story3 plays DESIGN.md's story through the three pages at once, over the
// real bridge and camsim's scripted bin scene (a 60 s loop from originMs,
// epoch ms): the bin falls at 20 s, a person stands in its zone from about
// 39.6 s to 50 s, the bin stands again at 55 s. Staff sign in on /screen
// and work on the board (/board) in a second tab: they see the incident's
// task come on the board and in the wall's ticker, accept it and dispatch
// it to the worker with the picker; the worker, signed in on /worker with the phone's position
// granted, sees it come, claims it, is seen arriving by the camera (or
// checks in by GPS if the camera has not by 6 s after the person came),
// and after the bin is back submits with a photo; staff see the camera's
// proposal with before and after and verify with one click, then close;
// the resident watching the camera on /app sees it closed (and may not
// rate it: the camera reported it), staff record a 5-star follow-up (回访).
// Progress goes to stderr as it happens; one JSON line on stdout at the end
// (also when a step fails: "failed" names it).
async function story3(browser, [base, outDir, camera, originArg, photo, staffCred, workerCred]) {
  if (!base || !outDir || !camera || !originArg || !photo || !staffCred || !workerCred) {
    throw new UsageError('story3 <baseURL> <outDir> <camera> <originMs> <photo.jpg> <staff:pw> <worker:pw>');
  }
  fs.mkdirSync(outDir, { recursive: true });
  const origin = Number(originArg);
  const scene = (ms = Date.now()) => Math.round((ms - origin) / 100) / 10; // seconds into the loop
  const [staffUser, staffPw] = staffCred.split(':');
  const [workerUser, workerPw] = workerCred.split(':');
  const out = { ok: false, failed: '', task: '', steps: {}, arrival_source: '', proposal: false, proposal_pictures: 0, timeline: [], frames: {}, stats: {}, timer_ticks: false, worker_timeline: 0, errors: [] };
  const step = (name, extra = {}) => {
    out.steps[name] = { scene_s: scene(), ...extra };
    process.stderr.write(`[story] ${scene().toFixed(1).padStart(5)} s  ${name} ${Object.keys(extra).length ? JSON.stringify(extra) : ''}\n`);
  };
  const until = (ms) => Math.max(1000, origin + ms - Date.now());
  const shots = async () => {
    await Promise.all([
      staff.page.screenshot({ path: path.join(outDir, 'story3-screen.png') }),
      desk.screenshot({ path: path.join(outDir, 'story3-board.png') }),
      worker.page.screenshot({ path: path.join(outDir, 'story3-worker.png'), fullPage: true }),
      resident.page.screenshot({ path: path.join(outDir, 'story3-app.png') }),
    ].map((p) => p.catch((e) => out.errors.push(`screenshot: ${e.message}`))));
  };
  const frames = (page, sel) => page.evaluate((s) => {
    const v = document.querySelector(s);
    if (!v) return { frames: 0, width: 0, camera: '' };
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
    return { frames: q.totalVideoFrames, width: v.videoWidth, camera: v.dataset.camera || '' };
  }, sel);

  const staff = await newPage(browser, { width: 1920, height: 1080 });
  // the duty officer works on the board (/board) beside the wall, in the same browser (one sign-in)
  const desk = await staff.context.newPage();
  desk.on('pageerror', (err) => out.errors.push(`board: ${err.message}`));
  const worker = await newPage(browser, { width: 390, height: 844 }, true);
  const resident = await newPage(browser, { width: 390, height: 844 }, true);
  for (const [who, p] of [['screen', staff.page], ['worker', worker.page], ['app', resident.page]]) {
    p.on('pageerror', (err) => out.errors.push(`${who}: ${err.message}`));
  }
  // The worker's phone lets the page read its position: at the camera's place.
  await worker.context.grantPermissions(['geolocation'], { origin: base });
  const fix = await fetch(`${base}/api/cameras/${encodeURIComponent(camera)}`, { headers: { Authorization: `Bearer ${await tokenOf(base, staffUser, staffPw)}` } })
    .then((r) => r.json()).then((c) => c.location || {}).catch(() => ({}));
  await worker.context.setGeolocation({ latitude: fix.lat || 33.5211, longitude: fix.lng || 119.1432, accuracy: 8 });

  try {
    // Everyone signs in and watches.
    const signIn = async (page, url, user, pw) => {
      await page.goto(`${base}${url}`);
      await page.fill('form.login input[name=user]', user);
      await page.fill('form.login input[name=password]', pw);
      await page.click('form.login button[type=submit]');
    };
    await Promise.all([
      signIn(staff.page, `/screen?layout=1&camera=${encodeURIComponent(camera)}`, staffUser, staffPw),
      signIn(worker.page, '/worker', workerUser, workerPw),
      resident.page.goto(`${base}/app?camera=${encodeURIComponent(camera)}`),
    ]);
    await staff.page.locator('#ticker').waitFor({ timeout: 15000 });
    await desk.goto(`${base}/board`);
    await desk.locator('#board .col[data-state="reported"]').waitFor({ timeout: 15000 });
    await worker.page.locator('#list-view:not([hidden])').waitFor({ timeout: 15000 });
    step('signed in');

    // The incident's task comes to the wall (the bin falls at 20 s).
    out.failed = 'incident task on the wall';
    const card = desk.locator(`#board .col[data-state="reported"] li.tcard[data-camera="${camera}"][data-source="incident"]`).first();
    await card.waitFor({ timeout: until(40000) });
    const id = await card.getAttribute('data-id');
    out.task = id;
    step('task on the board', { task: id, picture: await card.locator('.tcard-pic img').evaluate((i) => i.naturalWidth).catch(() => 0) });
    await staff.page.locator(`#ticker li.tick[data-id="${id}"][data-camera="${camera}"]`).waitFor({ timeout: 10000 });
    step('task in the wall\'s ticker');

    // Accept on the card, then dispatch with the picker in the detail.
    out.failed = 'accept';
    await card.locator('button[data-act="accept"]').click();
    const accepted = desk.locator(`#board .col[data-state="accepted"] li.tcard[data-id="${id}"]`);
    await accepted.waitFor({ timeout: 10000 });
    step('accepted');
    await desk.screenshot({ path: path.join(outDir, 'story3-screen-board.png') });
    out.failed = 'dispatch';
    await accepted.locator('button[data-act="dispatch"]').click();
    const pick = desk.locator(`#task-detail input[name="worker"][value="${workerUser}"]`);
    await pick.waitFor({ timeout: 10000 });
    await pick.check();
    await desk.click('#task-detail button[data-confirm="dispatch"]');
    await desk.locator(`#task-detail[data-id="${id}"][data-state="dispatched"]`).waitFor({ timeout: 10000 });
    step('dispatched');
    // The time in the state ticks each second.
    out.timer_samples = [];
    for (let i = 0; i < 6 && new Set(out.timer_samples).size < 3; i++) {
      out.timer_samples.push(await desk.textContent('#task-detail .td-since'));
      await sleep(500);
    }
    out.timer_ticks = new Set(out.timer_samples.filter(Boolean)).size >= 2;

    // The worker's phone shows it at once; claim.
    out.failed = 'task on the phone';
    const wcard = worker.page.locator(`#todo li.wcard[data-id="${id}"]`);
    await wcard.waitFor({ timeout: 10000 });
    step('on the phone');
    await wcard.locator('button.wcard-open').click();
    await worker.page.locator(`#task-view[data-id="${id}"][data-state="dispatched"] button[data-action="claim"]`).waitFor({ timeout: 10000 });
    out.failed = 'claim';
    await worker.page.click('#task-view button[data-action="claim"]');
    await worker.page.locator(`#task-view[data-state="claimed"]`).waitFor({ timeout: 10000 });
    step('claimed');
    await worker.page.screenshot({ path: path.join(outDir, 'story3-worker-task.png') });

    // Arrival: the camera sees the worker (a person enters at ~39.6 s), or the worker checks in by GPS.
    out.failed = 'arrival';
    const arrivedSel = '#task-view[data-state="arrived"]';
    try {
      await worker.page.locator(arrivedSel).waitFor({ timeout: until(45600) });
    } catch {
      step('checking in by GPS');
      await worker.page.click('#task-view button[data-action="arrive"]');
      await worker.page.locator(arrivedSel).waitFor({ timeout: 15000 });
    }
    await worker.page.locator('#tv-timeline li.tl-entry[data-action="arrive"]').waitFor({ timeout: 5000 });
    out.arrival_source = await worker.page.getAttribute('#tv-timeline li.tl-entry[data-action="arrive"]', 'data-source');
    step('arrived', { source: out.arrival_source });

    // After the bin stands again (55 s): photo and submit.
    out.failed = 'submit';
    await sleep(Math.max(0, origin + 55500 - Date.now()));
    await worker.page.setInputFiles('#photo', photo);
    await worker.page.fill('#submit-note', '垃圾桶已扶正并清理');
    await worker.page.click('#act-submit button[type=submit]');
    await worker.page.locator('#task-view[data-state="submitted"]').waitFor({ timeout: 15000 });
    step('submitted');

    // The wall shows the camera's proposal (before and after); verify with one click, then close.
    out.failed = 'verify';
    const prop = desk.locator(`#task-detail[data-id="${id}"] .td-proposal:not([hidden])`);
    try {
      await prop.waitFor({ timeout: until(70000) });
      out.proposal = true;
      await desk.waitForFunction(() => [...document.querySelectorAll('#task-detail .td-ba img')].filter((i) => i.complete && i.naturalWidth > 0).length >= 2, null, { timeout: 5000 }).catch(() => {});
      out.proposal_pictures = await desk.evaluate(() => [...document.querySelectorAll('#task-detail .td-ba img')].filter((i) => i.complete && i.naturalWidth > 0).length);
      step('proposal on the wall', { pictures: out.proposal_pictures });
      await desk.screenshot({ path: path.join(outDir, 'story3-screen-proposal.png') });
      await desk.click('#task-detail .td-verify-one');
    } catch {
      step('no proposal: verifying by hand');
      await desk.click('#task-detail .td-actions button[data-action="verify"]');
    }
    await desk.locator(`#task-detail[data-state="verified"]`).waitFor({ timeout: 10000 });
    step('verified');
    out.failed = 'close';
    await desk.click('#task-detail .td-actions button[data-action="close"]');
    await desk.locator(`#task-detail[data-state="closed"]`).waitFor({ timeout: 10000 });
    step('closed');

    // The resident watching the camera sees it closed but does not rate
    // it: only a task's reporter rates, and the camera reported this one.
    // The center calls back (回访) and records the rating on the wall.
    out.failed = 'closed on the app';
    await resident.page.locator(`#live-tasks li[data-id="${id}"]`).waitFor({ timeout: 25000 });
    out.resident_may_rate = await resident.page.locator(`#live-tasks li[data-id="${id}"] button[data-rate]`).count();
    out.failed = 'rating';
    await desk.click('#task-detail .td-followup button[data-fu-stars="5"]');
    await desk.fill('#task-detail .td-fu-comment', '电话回访：处理得很快，点赞');
    await desk.click('#task-detail .td-fu-send');
    step('rated');

    // The wall's timeline has every step with its time; the stats count it.
    out.failed = 'timeline';
    await desk.locator('#task-detail li.tl-entry[data-action="rate"]').waitFor({ timeout: 10000 });
    out.timeline = await desk.evaluate(() => [...document.querySelectorAll('#task-detail li.tl-entry')].map((li) => ({
      action: li.dataset.action,
      source: li.dataset.source,
      time: (li.querySelector('time') || {}).textContent || '',
      datetime: (li.querySelector('time') || {}).dateTime || '',
      pictures: [...li.querySelectorAll('.tl-pics img')].filter((i) => i.complete && i.naturalWidth > 0).length,
    })));
    await desk.waitForFunction(() => {
      const dd = document.querySelector('#stats .stat[data-key="satisfaction"] dd');
      return dd && /%/.test(dd.textContent);
    }, null, { timeout: 8000 }).catch(() => {});
    out.stats = await desk.evaluate(() => Object.fromEntries([...document.querySelectorAll('#stats .stat')].map((d) => [d.dataset.key, (d.querySelector('dd') || {}).textContent || ''])));
    await worker.page.locator('#tv-timeline li.tl-entry[data-action="rate"]').waitFor({ timeout: 5000 }).catch(() => {});
    out.worker_timeline = await worker.page.locator('#tv-timeline li.tl-entry').count();
    out.failed = '';
    out.ok = true;
  } catch (err) {
    out.errors.push(`${out.failed}: ${err.message.split('\n')[0]}`);
    step(`failed: ${out.failed}`);
  } finally {
    out.frames = {
      screen_wall: await frames(staff.page, `.wall .tile[data-camera="${camera}"] video`).catch(() => ({})),
      screen_detail: await frames(desk, '#task-detail .td-live video').catch(() => ({})),
      worker: await frames(worker.page, '#tv-video').catch(() => ({})),
      app: await frames(resident.page, '#live').catch(() => ({})),
    };
    await shots();
  }
  print(out);
}

// tokenOf signs in user over the API (for the harness's own look-ups).
async function tokenOf(base, user, password) {
  const res = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user, password }) });
  const body = await res.json();
  return body.token || '';
}

// overview: /screen's layout of every camera at once (1920x1080): how long
// until every online camera's picture has loaded, what each cell shows, that
// pictures are refreshed, and that a click opens the camera's live video.
async function overview(browser, [base, outDir, token, nArg]) {
  if (!base || !outDir || !token || !nArg) throw new UsageError('overview <baseURL> <outDir> <token> <cameras>');
  const n = Number(nArg);
  fs.mkdirSync(outDir, { recursive: true });
  const { page } = await newPage(browser, { width: 1920, height: 1080 });
  const cells = () => page.evaluate(() => [...document.querySelectorAll('#overview .ov-cell')].map((c) => {
    const img = c.querySelector('img');
    const r = c.getBoundingClientRect();
    return {
      camera: c.dataset.camera,
      status: c.dataset.status,
      loaded: Boolean(img && img.complete && img.naturalWidth > 0),
      width: img ? img.naturalWidth : 0,
      loaded_at: Number(c.dataset.loadedAt || 0),
      why: (c.querySelector('.ov-why') || {}).textContent || '',
      visible: r.bottom <= innerHeight && r.right <= innerWidth && r.width > 0,
    };
  }));
  const t0 = Date.now();
  await page.goto(`${base}/screen?layout=all${tokenHash(token)}`);
  let got = [];
  let cellsMS = 0;
  for (;;) {
    got = await cells();
    if (!cellsMS && got.length >= n) cellsMS = Date.now() - t0;
    const online = got.filter((c) => c.status === 'online');
    if ((got.length >= n && online.length && online.every((c) => c.loaded)) || Date.now() - t0 > 20000) break;
    await sleep(100);
  }
  const loadedMS = Date.now() - t0;
  const videos = (await page.evaluate(videosInPage)).length;
  await page.screenshot({ path: path.join(outDir, 'overview.png') });
  // a refresh: within 8 s every online picture is asked for again and loads
  const first = new Map(got.map((c) => [c.camera, c.loaded_at]));
  const t1 = Date.now();
  let refreshed = 0;
  while (Date.now() - t1 < 8000) {
    const now = await cells();
    refreshed = now.filter((c) => c.status === 'online' && c.loaded_at > (first.get(c.camera) || 0)).length;
    if (refreshed >= got.filter((c) => c.status === 'online').length) break;
    await sleep(250);
  }
  // a click opens the camera live, enlarged
  const target = got.find((c) => c.status === 'online');
  let live = null;
  if (target) {
    await page.click(`#overview .ov-cell[data-camera="${target.camera}"]`);
    const t2 = Date.now();
    while (Date.now() - t2 < PLAY_WAIT_MS) {
      const v = (await page.evaluate(videosInPage)).find((x) => x.camera === target.camera);
      const enlarged = await page.evaluate((id) => Boolean(document.querySelector(`.tile.enlarged[data-camera="${id}"]`)), target.camera);
      if (v && v.frames > FRAMES_WANTED) {
        live = { ...v, enlarged, ms: Date.now() - t2 };
        break;
      }
      await sleep(250);
    }
  }
  const counter = await page.evaluate(() => document.getElementById('online-count').textContent);
  print({ cells: got, cells_ms: cellsMS, loaded_ms: loadedMS, videos_in_overview: videos, refreshed, live, online_count: counter });
}

// substream: the wall at 9 tiles a page, where camera's tile plays its
// sub-stream; a click enlarges the tile, which switches to the main stream,
// and a second click shrinks it back to the sub-stream. Every 40 ms of each
// switch the shown video is sampled: a sample without a picture (no shown
// video, or videoWidth 0) is a black gap. A switch is done when the shown
// video plays the wanted stream past 25 decoded frames.
async function substream(browser, [base, outDir, token, camera]) {
  if (!base || !outDir || token === undefined || !camera) throw new UsageError('substream <baseURL> <outDir> <token> <camera>');
  fs.mkdirSync(outDir, { recursive: true });
  const { page } = await newPage(browser, { width: 1920, height: 1080 });
  await page.goto(`${base}/screen?layout=9&rotate=0&board=0${tokenHash(token)}`);
  const shown = (cam) => {
    const tile = document.querySelector(`.tile[data-camera="${CSS.escape(cam)}"]`);
    const vs = tile ? [...tile.querySelectorAll('video[data-camera]')] : [];
    if (vs.length !== 1) return { shown: vs.length, stream: '', width: 0, height: 0, frames: 0 };
    const v = vs[0];
    return { shown: 1, stream: v.dataset.stream || '', width: v.videoWidth, height: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames };
  };
  const until = async (want, click) => {
    const t0 = Date.now();
    if (click) await page.click(`.tile[data-camera="${camera}"]`);
    let v;
    let samples = 0;
    let black = 0;
    for (;;) {
      v = await page.evaluate(shown, camera);
      samples++;
      if (v.shown !== 1 || v.width === 0) black++;
      if ((v.stream === want && v.width > 0 && v.frames > FRAMES_WANTED) || Date.now() - t0 > PLAY_WAIT_MS) break;
      await sleep(40);
    }
    return { ...v, ms: Date.now() - t0, samples, black };
  };
  const first = await until('sub', false);
  const enlarged = await until('main', true);
  await page.screenshot({ path: path.join(outDir, 'substream-enlarged.png') });
  const shrunk = await until('sub', true);

  // A phone on mobile data opens the camera on /app: its sub-stream plays.
  const phone = await newPage(browser, { width: 360, height: 740 }, true);
  await phone.context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'connection', { configurable: true, get: () => ({ type: 'cellular', effectiveType: '4g' }) });
  });
  await phone.page.goto(`${base}/app?camera=${encodeURIComponent(camera)}`);
  const t0 = Date.now();
  let mobile;
  for (;;) {
    mobile = await phone.page.evaluate(() => {
      const v = document.getElementById('live');
      return { stream: v.dataset.stream || '', width: v.videoWidth, height: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames };
    });
    if (mobile.frames > FRAMES_WANTED || Date.now() - t0 > PLAY_WAIT_MS) break;
    await sleep(100);
  }
  print({ first, enlarged, shrunk, mobile });
}

// wallfps: /screen with a page of tiles (1920x1080): after the tiles play,
// each tile's decoded frames a second over 5 s, and its stream and size.
async function wallfps(browser, [base, token, nArg]) {
  if (!base || !token || !nArg) throw new UsageError('wallfps <baseURL> <token> <tiles>');
  const n = Number(nArg);
  const { page } = await newPage(browser, { width: 1920, height: 1080 });
  await page.goto(`${base}/screen?layout=${n}&rotate=0&board=0${tokenHash(token)}`);
  const t0 = Date.now();
  for (;;) {
    const v = await page.evaluate(videosInPage);
    if (v.filter((x) => x.frames > FRAMES_WANTED).length >= n || Date.now() - t0 > 30000) break;
    await sleep(250);
  }
  const sample = () => page.evaluate(() => [...document.querySelectorAll('video[data-camera]')].map((v) => ({
    camera: v.dataset.camera, stream: v.dataset.stream || '', width: v.videoWidth,
    frames: v.getVideoPlaybackQuality().totalVideoFrames, dropped: v.getVideoPlaybackQuality().droppedVideoFrames,
  })));
  const a = await sample();
  const ta = Date.now();
  await sleep(5000);
  const b = await sample();
  const secs = (Date.now() - ta) / 1000;
  print({
    start_ms: ta - t0,
    tiles: b.map((x) => {
      const was = a.find((y) => y.camera === x.camera) || { frames: 0, dropped: 0 };
      return { ...x, fps: (x.frames - was.frames) / secs, dropped_fps: (x.dropped - was.dropped) / secs };
    }),
  });
}

// In the page: the decoded frames of the first video matching sel.
function framesOf(sel) {
  const v = document.querySelector(sel);
  if (!v) return { found: false, frames: 0 };
  const q = v.getVideoPlaybackQuality();
  return { found: true, frames: q.totalVideoFrames, width: v.videoWidth, duration: v.duration, time: v.currentTime,
    start: Number(v.dataset.segmentStart || 0), error: v.error ? v.error.message || String(v.error.code) : '' };
}

// waitFrames polls the video matching sel until it has decoded more than
// FRAMES_WANTED frames or PLAY_WAIT_MS passed; it returns what it saw last.
async function waitFrames(page, sel) {
  const t0 = Date.now();
  let f;
  for (;;) {
    f = await page.evaluate(framesOf, sel);
    if (f.frames > FRAMES_WANTED || Date.now() - t0 > PLAY_WAIT_MS) return { ...f, elapsed_ms: Date.now() - t0 };
    await sleep(250);
  }
}

// recplay: staff open a task on the wall and play the clip of its submit
// entry; then enlarge the camera, look back through its recording and go
// back to live. Frames decoded, not tags, are what counts.
async function recplay(browser, [base, outDir, token, taskID, camera]) {
  if (!base || !outDir || !token || !taskID || !camera) throw new UsageError('recplay <baseURL> <outDir> <token> <task> <camera>');
  fs.mkdirSync(outDir, { recursive: true });
  const out = {};
  {
    const { page } = await newPage(browser, { width: 1920, height: 1080 });
    await page.goto(`${base}/screen?task=${encodeURIComponent(taskID)}&layout=1${tokenHash(token)}`);
    const btn = page.locator(`#task-detail li.tl-entry[data-action="submit"] .tl-clip button.tl-clip-play`);
    await btn.waitFor({ timeout: 15000 });
    await btn.click();
    out.clip = await waitFrames(page, 'video[data-clip]');
    out.clip.state = await page.getAttribute('#task-detail li.tl-entry[data-action="submit"] .tl-clip', 'data-state');
    await page.screenshot({ path: path.join(outDir, 'recplay-clip.png') });
    await page.close();
  }
  const { page } = await newPage(browser, { width: 1920, height: 1080 });
  await page.goto(`${base}/screen?camera=${encodeURIComponent(camera)}&layout=1&board=0${tokenHash(token)}`);
  const tile = page.locator(`.tile[data-camera="${camera}"]`);
  await tile.waitFor({ timeout: 15000 });
  out.live_before = await waitFrames(page, `.tile[data-camera="${camera}"] video[data-camera]`);
  await tile.click();
  const back = page.locator(`.tile.enlarged .rec-bar[data-camera="${camera}"] button.rec-back`);
  await back.waitFor({ timeout: 5000 });
  const clickedAt = Date.now();
  await back.click();
  out.recording = await waitFrames(page, `.tile[data-camera="${camera}"] video.rec-video[data-recording="${camera}"]`);
  out.recording.clicked_ms = clickedAt;
  out.recording.mode = await tile.getAttribute('data-mode');
  await page.screenshot({ path: path.join(outDir, 'recplay-back.png') });
  await page.click(`.tile.enlarged .rec-bar button.rec-live`);
  await sleep(500);
  out.after_live = {
    mode: await tile.getAttribute('data-mode'),
    recording_left: await page.locator('video.rec-video').count(),
    live: await page.evaluate(framesOf, `.tile[data-camera="${camera}"] video[data-camera]`),
  };
  await sleep(1000);
  out.after_live.live_later = await page.evaluate(framesOf, `.tile[data-camera="${camera}"] video[data-camera]`);
  print(out);
}

// signIn fills the sign-in form the pages share.
async function signInForm(page, user, pw) {
  await page.fill('form.login input[name=user]', user);
  await page.fill('form.login input[name=password]', pw);
  await page.click('form.login button[type=submit]');
}

// api calls the bridge as the harness (not as a page): JSON in and out.
async function api(base, method, p, token, body) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

// workeralert: the worker's phone page (390x844, notifications allowed)
// while staff dispatch a task to the worker: the Notification calls (the
// page's Notification is wrapped to count them), navigator.vibrate calls,
// the title's count; then, the task unclaimed past tasks.claim_within, the
// overdue call; then the count cleared once the task is opened.
async function workeralert(browser, [base, outDir, workerCred, staffToken, camera, grid]) {
  if (!base || !outDir || !workerCred || !staffToken || !camera || !grid) {
    throw new UsageError('workeralert <baseURL> <outDir> <worker:pw> <staffToken> <camera> <grid>');
  }
  fs.mkdirSync(outDir, { recursive: true });
  const [user, pw] = workerCred.split(':');
  const { context, page } = await newPage(browser, { width: 390, height: 844 }, true);
  await context.grantPermissions(['notifications'], { origin: base });
  await page.addInitScript(() => {
    const seen = { notifications: [], vibrate: [], asked: 0 };
    window.__alerts = seen;
    const Real = window.Notification;
    class Counted {
      constructor(title, opts = {}) {
        seen.notifications.push({ title, body: opts.body || '', tag: opts.tag || '', at: Date.now() });
      }
      close() {}
      static get permission() { return Real ? Real.permission : 'denied'; }
      static requestPermission() { seen.asked++; return Real ? Real.requestPermission() : Promise.resolve('denied'); }
    }
    window.Notification = Counted;
    Object.defineProperty(Navigator.prototype, 'vibrate', { configurable: true, value: (p) => { seen.vibrate.push(p); return true; } });
  });
  const out = { ok: false, failed: '', permission: '', alerts_button: false, notifications: [], vibrate: 0, title_before: '', title_new: '', title_opened: '', ms_to_notify: null, overdue: false, service_worker: {}, errors: [] };
  page.on('pageerror', (err) => out.errors.push(err.message));
  try {
    await page.goto(`${base}/worker`);
    await signInForm(page, user, pw);
    await page.locator('#list-view:not([hidden])').waitFor({ timeout: 15000 });
    out.alerts_button = await page.isVisible('#alerts-on');
    await page.tap('#todo-count'); // a tap unlocks the page's sound
    out.permission = await page.evaluate(() => Notification.permission);
    out.title_before = await page.title();

    const made = await api(base, 'POST', '/api/tasks', staffToken, { title: '井盖松动', camera, accept: true });
    const id = made.task.id;
    const t0 = Date.now();
    await api(base, 'POST', `/api/tasks/${id}/dispatch`, staffToken, { worker: user, grid });
    const deadline = t0 + 15000;
    for (;;) {
      const a = await page.evaluate(() => window.__alerts.notifications.length);
      if (a > 0 || Date.now() > deadline) break;
      await sleep(50);
    }
    out.ms_to_notify = Date.now() - t0;
    out.title_new = await page.title();
    await page.screenshot({ path: path.join(outDir, 'worker-alert.png') });
    // unclaimed past its limit: the overdue call
    for (;;) {
      const n = await page.evaluate(() => window.__alerts.notifications.length);
      if (n > 1 || Date.now() > deadline + 10000) break;
      await sleep(100);
    }
    await page.click(`li.wcard[data-id="${id}"] button`);
    await page.locator(`#task-view[data-id="${id}"]`).waitFor({ timeout: 10000 });
    out.title_opened = await page.title();
    const seen = await page.evaluate(() => window.__alerts);
    out.notifications = seen.notifications.map(({ title, body, tag }) => ({ title, body, tag }));
    out.vibrate = seen.vibrate.length;
    out.overdue = seen.notifications.some((n) => n.title.includes('超时'));
    out.task = id;

    // A phone that was not asked yet is asked once, on its first tap (here
    // the sign-in; else the 开启提醒 button), and never again, also after a
    // reload and more taps.
    const other = await newPage(browser, { width: 390, height: 844 }, true);
    await other.page.addInitScript(() => {
      window.__asked = 0;
      const real = Notification.requestPermission.bind(Notification);
      Notification.requestPermission = () => { window.__asked++; return real(); };
    });
    await other.page.goto(`${base}/worker`);
    await signInForm(other.page, user, pw);
    await other.page.locator('#list-view:not([hidden])').waitFor({ timeout: 15000 });
    out.ask = { offered: await other.page.isVisible('#alerts-on') };
    if (out.ask.offered) await other.page.click('#alerts-on');
    out.ask.asked = await other.page.evaluate(() => window.__asked);
    out.ask.hidden_after = !(await other.page.isVisible('#alerts-on'));
    await other.page.reload();
    await other.page.locator('#list-view:not([hidden])').waitFor({ timeout: 15000 });
    out.ask.offered_after_reload = await other.page.isVisible('#alerts-on');
    await other.page.tap('#todo-count');
    out.ask.asked_after_reload = await other.page.evaluate(() => window.__asked);

    // A browser that makes notifications only through a service worker
    // (Chrome on Android: the page's constructor throws): sw.js shows it.
    const android = await newPage(browser, { width: 390, height: 844 }, true);
    await android.context.grantPermissions(['notifications'], { origin: base });
    await android.page.addInitScript(() => {
      window.__sw = [];
      const Real = window.Notification;
      window.Notification = class {
        constructor() { throw new TypeError("Failed to construct 'Notification': Illegal constructor. Use ServiceWorkerRegistration.showNotification() instead."); }
        static get permission() { return Real.permission; }
        static requestPermission() { return Real.requestPermission(); }
      };
      ServiceWorkerRegistration.prototype.showNotification = function showNotification(title, opts) {
        window.__sw.push({ title, body: opts.body, task: opts.data && opts.data.task, scope: this.scope });
        return Promise.resolve();
      };
    });
    await android.page.goto(`${base}/worker`);
    await signInForm(android.page, user, pw);
    await android.page.locator('#list-view:not([hidden])').waitFor({ timeout: 15000 });
    const second = await api(base, 'POST', '/api/tasks', staffToken, { title: '路灯不亮', camera, accept: true });
    await api(base, 'POST', `/api/tasks/${second.task.id}/dispatch`, staffToken, { worker: user, grid });
    const until = Date.now() + 10000;
    let sw = [];
    while (Date.now() < until) {
      sw = await android.page.evaluate(() => window.__sw);
      if (sw.length) break;
      await sleep(100);
    }
    out.service_worker = { shown: sw, task: second.task.id };
    out.ok = true;
  } catch (err) {
    out.failed = err.message;
  }
  print(out);
}

// In the page: every visible button, link, input, select, textarea and
// summary shorter than minH px, and every visible element whose own text is
// smaller than minFont px.
function tooSmall([minH, minFont]) {
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && Number(cs.opacity) > 0;
  };
  const name = (el) => {
    const cls = typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    const text = (el.textContent || el.value || el.placeholder || '').trim().replace(/\s+/g, ' ').slice(0, 24);
    return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${cls}${text ? ` "${text}"` : ''}`;
  };
  const targets = [];
  const texts = [];
  let measured = 0;
  for (const el of document.querySelectorAll('button, a[href], input, select, textarea, summary, .button')) {
    if (!shown(el)) continue;
    measured++;
    const h = el.getBoundingClientRect().height;
    if (h < minH - 0.5) targets.push({ el: name(el), height: Math.round(h * 10) / 10 });
  }
  for (const el of document.querySelectorAll('body *')) {
    if (!shown(el) || !['', 'visible'].includes(getComputedStyle(el).visibility)) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    measured++;
    const fs = parseFloat(getComputedStyle(el).fontSize);
    if (fs < minFont - 0.01) texts.push({ el: name(el), font_px: fs });
  }
  return { measured, targets, texts };
}

// phone: the phone pages at 390x844, each view in turn, measured with
// tooSmall(44, 12); a screenshot of each.
async function phone(browser, [base, outDir, workerCred, taskId, camera]) {
  if (!base || !outDir || !workerCred || !taskId || !camera) throw new UsageError('phone <baseURL> <outDir> <worker:pw> <taskId> <camera>');
  fs.mkdirSync(outDir, { recursive: true });
  const [user, pw] = workerCred.split(':');
  const views = {};
  const measure = async (page, name) => {
    await sleep(300);
    views[name] = await page.evaluate(tooSmall, [44, 12]);
    await page.screenshot({ path: path.join(outDir, `phone-${name}.png`) });
  };
  const res = await newPage(browser, { width: 390, height: 844 }, true);
  let p = res.page;
  await p.goto(`${base}/app`);
  await p.locator('#cam-list li').first().waitFor({ timeout: 15000 });
  await measure(p, 'app-list');
  await p.goto(`${base}/app?view=report`);
  await p.locator('#report-view:not([hidden])').waitFor();
  // opened on the report itself: the camera choice fills once the list comes
  await p.locator(`#report-camera option[value="${camera}"]`).waitFor({ state: 'attached', timeout: 15000 });
  await measure(p, 'app-report');
  await p.goto(`${base}/app`);
  await p.click('#res-signin');
  await p.locator('#account-host form.login').waitFor();
  await measure(p, 'app-mine-signin');
  await p.goto(`${base}/app?camera=${encodeURIComponent(camera)}`);
  await p.locator('#live-view:not([hidden])').waitFor();
  await measure(p, 'app-live');

  const wk = await newPage(browser, { width: 390, height: 844 }, true);
  p = wk.page;
  await p.goto(`${base}/worker`);
  await p.locator('form.login').waitFor({ timeout: 15000 });
  await measure(p, 'worker-signin');
  await signInForm(p, user, pw);
  await p.locator('#list-view:not([hidden]) li.wcard').first().waitFor({ timeout: 15000 });
  await measure(p, 'worker-list');
  await p.goto(`${base}/worker?task=${encodeURIComponent(taskId)}`);
  await p.locator('#act-claim:not([hidden])').waitFor({ timeout: 15000 });
  await measure(p, 'worker-task');
  print({ views });
}

// account: a resident on /app (390x844) reports as a guest, signs in from
// the bar and finds the report in 我的上报, then signs out.
async function account(browser, [base, outDir, cred, camera]) {
  if (!base || !outDir || !cred || !camera) throw new UsageError('account <baseURL> <outDir> <resident:pw> <camera>');
  fs.mkdirSync(outDir, { recursive: true });
  const [user, pw] = cred.split(':');
  const { page } = await newPage(browser, { width: 390, height: 844 }, true);
  const out = { ok: false, failed: '', guest_bar: {}, report: '', who: '', sheet_account: '', mine: [], note: '', token_after_signout: '', me_after_signout: 0, bar_after_signout: {}, errors: [] };
  page.on('pageerror', (err) => out.errors.push(err.message));
  const bar = () => page.evaluate(() => ({
    who: document.getElementById('res-who').hidden ? '' : document.getElementById('res-who').textContent,
    signin: !document.getElementById('res-signin').hidden,
    signout: !document.getElementById('res-signout').hidden,
  }));
  try {
    await page.goto(`${base}/app`);
    await page.locator('#cam-list li').first().waitFor({ timeout: 15000 });
    await page.click('#open-report');
    await page.locator('#report-view:not([hidden])').waitFor({ timeout: 15000 });
    await page.fill('#report-form input[name=title]', '楼道堆物');
    await page.locator(`#report-camera option[value="${camera}"]`).waitFor({ state: 'attached', timeout: 15000 });
    await page.selectOption('#report-camera', camera);
    await page.click('#report-form button[type=submit]');
    await page.locator('#report-detail:not([hidden])[data-id]').waitFor({ timeout: 15000 });
    out.report = await page.getAttribute('#report-detail', 'data-id');
    await page.goto(`${base}/app`);
    await page.locator('#res-signin:not([hidden])').waitFor({ timeout: 15000 });
    out.guest_bar = await bar();
    await page.click('#res-signin');
    await signInForm(page, user, pw);
    await page.locator('#res-who:not([hidden])').waitFor({ timeout: 15000 });
    await page.locator(`#mine-list li.mcard[data-id="${out.report}"]`).waitFor({ timeout: 15000 });
    out.who = await page.textContent('#res-who');
    out.mine = await page.$$eval('#mine-list li.mcard', (lis) => lis.map((li) => li.dataset.id));
    out.note = (await page.textContent('#mine-note')).trim();
    out.sheet_account = (await page.textContent('#account')).trim();
    await page.screenshot({ path: path.join(outDir, 'account-mine.png') });
    const token = await page.evaluate(() => localStorage.getItem('qly.token.resident'));
    await page.goto(`${base}/app`);
    await page.click('#res-signout');
    await page.locator('#res-signin:not([hidden])').waitFor({ timeout: 15000 });
    out.bar_after_signout = await bar();
    out.token_after_signout = await page.evaluate(() => localStorage.getItem('qly.token.resident') || '');
    out.me_after_signout = (await fetch(`${base}/api/me`, { headers: { Authorization: `Bearer ${token}` } })).status;
    out.ok = true;
  } catch (err) {
    out.failed = err.message;
  }
  print(out);
}

// ASCII words people may meet in the Chinese pages: units, brands and
// protocol names. Ids with a digit (grids, logins, tasks) are skipped by
// the scan; the config's other ids (cameras) come as an argument.
const ALLOWED_WORDS = ['km', 'WHEP', 'GPS', 'JPEG', 'PNG', 'CSV', 'Excel', 'Qianliyan'];

// In the page: every ASCII word of 3+ letters in the rendered text (and
// the placeholders of shown fields) that allow does not name, with where.
function englishInPage(allow) {
  const ok = new Set(allow.map((x) => x.toLowerCase()));
  const out = [];
  const where = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') + (typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/)[0]}` : '');
  const scan = (text, el) => {
    for (const tok of text.split(/[^A-Za-z0-9_-]+/)) {
      if (/[0-9]/.test(tok)) continue; // an id: hexia-01, worker1, T1k8u7…
      for (const w of tok.split(/[-_]+/)) if (/^[A-Za-z]{3,}$/.test(w) && !ok.has(w.toLowerCase())) out.push({ word: w, text: text.trim().slice(0, 100), el: where(el) });
    }
  };
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script, style, noscript') || !shown(el)) continue;
    scan(n.textContent, el);
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) if (shown(el)) scan(el.placeholder, el);
  return out;
}

// zhcn: the story's pages in zh-CN after a scripted story (the harness made
// an incident and its task, and a task with a place dispatched to the
// worker and claimed): the worker checks in 1.3 km away (refused), then on
// the spot; the wall with its incidents, its ticker and the incident's
// task; the duty officer's board and the far task there; /app with a
// report refused for want of a place, then sent. Each view's English
// words, the refusal's text and screenshots.
async function zhcn(browser, [base, outDir, staffToken, workerCred, farTask, incTask, latArg, lngArg, ids = '']) {
  if (!base || !outDir || !staffToken || !workerCred || !farTask || !incTask || !latArg || !lngArg) {
    throw new UsageError('zhcn <baseURL> <outDir> <staffToken> <worker:pw> <farTask> <incidentTask> <lat> <lng>');
  }
  fs.mkdirSync(outDir, { recursive: true });
  const [user, pw] = workerCred.split(':');
  const lat = Number(latArg);
  const lng = Number(lngArg);
  const out = { ok: false, failed: '', views: {}, refusal: '', report_refusal: '', gone_reason: '', timeline_times: [], errors: [] };
  const look = async (page, name) => {
    await sleep(400);
    out.views[name] = await page.evaluate(englishInPage, [...ALLOWED_WORDS, ...ids.split(',').filter(Boolean)]);
    await page.screenshot({ path: path.join(outDir, `zhcn-${name}.png`), fullPage: true });
  };
  try {
    const wk = await newPage(browser, { width: 390, height: 844 }, true);
    let p = wk.page;
    p.on('pageerror', (err) => out.errors.push(err.message));
    await wk.context.grantPermissions(['geolocation'], { origin: base });
    await wk.context.setGeolocation({ latitude: lat + 0.012, longitude: lng, accuracy: 10 }); // ~1.3 km north
    await p.goto(`${base}/worker`);
    await p.locator('form.login').waitFor({ timeout: 15000 });
    await signInForm(p, user, pw);
    await p.locator('#list-view:not([hidden]) li.wcard').first().waitFor({ timeout: 15000 });
    await look(p, 'worker-list');
    await p.goto(`${base}/worker?task=${encodeURIComponent(farTask)}`);
    await p.locator('#act-arrive:not([hidden])').waitFor({ timeout: 15000 });
    await p.click('#act-arrive');
    await p.locator('#act-error:not([hidden])').waitFor({ timeout: 15000 });
    out.refusal = (await p.textContent('#act-error')).trim();
    await look(p, 'worker-refused');
    // on the spot (over the API: the page may reuse its last position for
    // 30 s, which is the map's work to change), then the task again
    await api(base, 'POST', `/api/tasks/${encodeURIComponent(farTask)}/arrive`, await tokenOf(base, user, pw),
      { evidence: { gps: { lat, lng, accuracy_m: 10 } } });
    await p.goto(`${base}/worker?task=${encodeURIComponent(farTask)}`);
    await p.locator('#task-view[data-state=arrived]').waitFor({ timeout: 15000 });
    out.timeline_times = await p.$$eval('#task-view li.tl-entry .tl-when', (ts) => ts.map((x) => x.textContent.trim()));
    await look(p, 'worker-arrived');

    const wall = await newPage(browser, { width: 1920, height: 1080 });
    p = wall.page;
    p.on('pageerror', (err) => out.errors.push(err.message));
    await p.goto(`${base}/screen#token=${encodeURIComponent(staffToken)}`);
    await p.locator('#incidents .incident').first().waitFor({ timeout: 20000 });
    await p.locator(`#ticker li.tick[data-id="${incTask}"]`).waitFor({ timeout: 20000 });
    // the camera that is gone says why (its tile's reason comes as a code)
    await p.waitForFunction(() => {
      const s = document.querySelector('.tile[data-camera="gone"] .tile-msg small');
      return s && s.textContent.trim() !== '';
    }, null, { timeout: 20000 });
    out.gone_reason = (await p.textContent('.tile[data-camera="gone"] .tile-msg small')).trim();
    await look(p, 'wall');
    await p.click(`#ticker li.tick[data-id="${incTask}"] button`);
    await p.locator(`#task-detail[data-id="${incTask}"] li.tl-entry`).first().waitFor({ timeout: 15000 });
    await look(p, 'wall-incident-task');
    // the duty officer's board, and the far task's detail there
    await p.goto(`${base}/board${tokenHash(staffToken)}`);
    await p.locator(`li.tcard[data-id="${farTask}"]`).waitFor({ timeout: 20000 });
    await look(p, 'board');
    await p.click(`li.tcard[data-id="${farTask}"]`);
    await p.locator(`#task-detail[data-id="${farTask}"] li.tl-entry`).first().waitFor({ timeout: 15000 });
    await look(p, 'board-far-task');

    const res = await newPage(browser, { width: 390, height: 844 }, true);
    p = res.page;
    p.on('pageerror', (err) => out.errors.push(err.message));
    await p.goto(`${base}/app`);
    await p.locator('#cam-list li').first().waitFor({ timeout: 15000 });
    await look(p, 'app-list');
    await p.click('#open-report');
    await p.locator('#report-view:not([hidden])').waitFor({ timeout: 15000 });
    await p.fill('#report-form input[name=title]', '楼道堆物');
    await p.click('#report-form button[type=submit]'); // no camera, no place: refused
    await p.locator('#report-error:not([hidden])').waitFor({ timeout: 15000 });
    out.report_refusal = (await p.textContent('#report-error')).trim();
    await look(p, 'app-report-refused');
    const cam = await p.$eval('#report-camera option[value]:not([value=""])', (o) => o.value);
    await p.selectOption('#report-camera', cam);
    await p.click('#report-form button[type=submit]');
    await p.locator('#report-detail:not([hidden])[data-id]').waitFor({ timeout: 15000 });
    await look(p, 'app-report-sent');
    out.ok = true;
  } catch (err) {
    out.failed = err.message;
  }
  print(out);
}

// In the page: the inked pixels (alpha > 0) of each chart's canvases.
function chartInk() {
  const out = {};
  for (const id of ['trend', 'grid-bars']) {
    let ink = 0;
    let canvases = 0;
    for (const c of document.querySelectorAll(`#${id} canvas`)) {
      canvases++;
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
    }
    out[id] = { canvases, ink };
  }
  return out;
}

// stats: /stats?<query> at 1920x1080: the summary figures with their
// definitions, the tables, the charts' inked pixels, the Excel export's
// download, then the page in English; screenshots stats.png and stats-en.png.
async function stats(browser, [base, outDir, token, query]) {
  if (!base || !outDir || !token || query === undefined) throw new UsageError('stats <baseURL> <outDir> <token> <query>');
  fs.mkdirSync(outDir, { recursive: true });
  const { page } = await newPage(browser, { width: 1920, height: 1080 });
  await page.goto(`${base}/stats?${query}${tokenHash(token)}`);
  await page.waitForSelector('#figures .fig[data-key=received]', { timeout: 15000 });
  // the charts draw in the frame after setOption
  await page.waitForFunction(() => document.querySelectorAll('#trend canvas, #grid-bars canvas').length >= 2, null, { timeout: 15000 });
  await sleep(300);
  const read = () => page.evaluate(() => ({
    figures: Object.fromEntries([...document.querySelectorAll('#figures .fig')].map((f) => [f.dataset.key, {
      name: f.querySelector('.fig-name').textContent.trim(),
      value: f.querySelector('.fig-value').firstChild.textContent.trim(),
      def: f.querySelector('.fig-def').textContent.trim(),
    }])),
    grids: [...document.querySelectorAll('#by-grid tbody tr[data-key]')].map((r) => [...r.children].map((c) => c.textContent.trim())),
    workers: document.querySelectorAll('#by-worker tbody tr[data-key]').length,
    kinds: document.querySelectorAll('#by-kind tbody tr[data-key]').length,
    stages: [...document.querySelectorAll('#stages tbody tr[data-key]')].map((r) => [...r.children].map((c) => c.textContent.trim())),
    period: document.getElementById('period').textContent.trim(),
    fits: document.documentElement.scrollWidth <= innerWidth,
  }));
  const zh = await read();
  const ink = await page.evaluate(chartInk);
  await page.screenshot({ path: path.join(outDir, 'stats.png') });
  let download = null;
  try {
    const [d] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), page.click('#exports button[data-format=xlsx]')]);
    const file = path.join(outDir, d.suggestedFilename());
    await d.saveAs(file);
    download = { name: d.suggestedFilename(), bytes: fs.statSync(file).size };
  } catch (err) {
    process.stderr.write(`export: ${err.message}\n`);
  }
  await page.click('#lang');
  await sleep(300);
  const en = await read();
  await page.screenshot({ path: path.join(outDir, 'stats-en.png') });
  // a custom period: first one the wrong way round, then today alone
  await page.click('#lang');
  await page.click('#ranges button[data-range=custom]');
  await page.fill('#from', '2026-11-30');
  await page.fill('#to', '2026-11-01');
  await page.click('#custom button[type=submit]');
  const refused = (await page.textContent('#st-msg')).trim();
  const today = await page.evaluate(() => {
    const d = new Date(Date.now() + 8 * 3600000); // the day in Asia/Shanghai
    return d.toISOString().slice(0, 10);
  });
  await page.fill('#from', today);
  await page.fill('#to', today);
  await Promise.all([page.waitForResponse((r) => r.url().includes('/api/stats?')), page.click('#custom button[type=submit]')]);
  await sleep(300);
  const custom = { refused, ...(await read()), address: page.url() };
  print({ zh, en, ink, download, custom });
}

// In the page: each column of /board with its count and its cards in order.
function boardColumns() {
  return Object.fromEntries([...document.querySelectorAll('#board .col')].map((c) => [c.dataset.state, {
    count: Number(c.querySelector('.count').textContent),
    ids: [...c.querySelectorAll('li.tcard')].map((li) => li.dataset.id),
  }]));
}

// board: /board at 1920x1080 over seeded tasks (ids.json names them:
// {"reported": [...], "bulk": [a, b], "open": id}): the columns in the
// newest order, then the urgent order; a filter (source resident) narrows
// them; a bulk reject (误报) of two ticked cards moves them off the
// reported column; a task opened is in the address, a reload keeps it
// open, back closes it. Then the wall (/screen, 4 tiles): its tiles decode
// frames, its ticker lists the open tasks newest first, a click on one
// opens it with ?task= and a reload keeps it. Prints what it saw.
async function board(browser, [base, outDir, token, idsFile]) {
  if (!base || !outDir || !token || !idsFile) throw new UsageError('board <baseURL> <outDir> <token> <ids.json>');
  fs.mkdirSync(outDir, { recursive: true });
  const ids = JSON.parse(fs.readFileSync(idsFile, 'utf8'));
  const out = { errors: [] };
  const { page } = await newPage(browser, { width: 1920, height: 1080 });
  page.on('pageerror', (err) => out.errors.push(err.message));
  const cards = (state) => `#board .col[data-state="${state}"] li.tcard`;
  const waitCount = (state, n) => page.waitForFunction(([sel, k]) => document.querySelectorAll(sel).length === k, [cards(state), n], { timeout: 10000 });
  const waitOrder = (state, want) => page.waitForFunction(([sel, w]) => [...document.querySelectorAll(sel)].map((li) => li.dataset.id).join() === w.join(), [cards(state), want], { timeout: 10000 }).catch(() => {});

  await page.goto(`${base}/board${tokenHash(token)}`);
  await waitCount('reported', ids.reported.length);
  out.newest = await page.evaluate(boardColumns);
  out.fits = await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth && document.documentElement.scrollHeight <= innerHeight);
  out.stats = await page.evaluate(() => document.querySelectorAll('#stats .stat').length);
  await page.screenshot({ path: path.join(outDir, 'board.png') });

  await page.click('#f-sort button[data-sort="urgent"]');
  await waitOrder('reported', ids.urgent);
  out.urgent = await page.evaluate(boardColumns);
  out.urgent_address = page.url();

  await page.selectOption('#f-source', 'resident');
  await waitCount('reported', 1).catch(() => {});
  out.filtered = await page.evaluate(boardColumns);
  out.filtered_address = page.url();
  await page.screenshot({ path: path.join(outDir, 'board-filtered.png') });
  await page.selectOption('#f-source', '');
  await waitCount('reported', ids.reported.length);

  for (const id of ids.bulk) await page.check(`li.tcard[data-id="${id}"] input.tcard-check`);
  out.bulk_count = await page.textContent('#bulk-count');
  await page.click('#bulk button[data-bulk="false_alarm"]');
  await page.waitForSelector('#bulk-note[data-done]', { timeout: 10000 });
  out.bulk_note = (await page.textContent('#bulk-note')).trim();
  await waitCount('reported', ids.reported.length - ids.bulk.length).catch(() => {});
  out.after_bulk = await page.evaluate(boardColumns);
  await page.screenshot({ path: path.join(outDir, 'board-bulk.png') });

  await page.click(`li.tcard[data-id="${ids.open}"] .tcard-open`);
  await page.waitForSelector(`#task-detail[data-id="${ids.open}"] .td-panel`, { timeout: 10000 });
  out.opened_address = page.url();
  await page.reload();
  out.reopened = await page.waitForSelector(`#task-detail[data-id="${ids.open}"] .td-panel`, { timeout: 10000 }).then(() => true).catch(() => false);
  out.reopened_filters = await page.evaluate(() => document.querySelector('#f-sort button[aria-pressed="true"]')?.dataset.sort || '');
  await page.screenshot({ path: path.join(outDir, 'board-task.png') });
  await page.goBack();
  out.back_closed = await page.waitForSelector('#task-detail', { state: 'hidden', timeout: 5000 }).then(() => true).catch(() => false);
  out.back_address = page.url();
  // in English: the columns, the filters and the bulk bar
  await page.click('#lang');
  await sleep(300);
  out.en = await page.evaluate(() => ({
    reported: document.querySelector('#board .col[data-state="reported"] .col-name').textContent,
    // the page's own words (the tasks' titles and the cameras' names are data)
    bars: [...document.querySelectorAll('#filters, #bulk, #board .col-head, #board .tcard-acts, #board .tcard-prio, #board .tcard-overdue, #stats')].map((e) => e.innerText).join(' | '),
  }));
  await page.screenshot({ path: path.join(outDir, 'board-en.png') });
  await page.close();

  // The wall: video first, the ticker under it.
  const wall = (await newPage(browser, { width: 1920, height: 1080 })).page;
  wall.on('pageerror', (err) => out.errors.push(`wall: ${err.message}`));
  await wall.goto(`${base}/screen?layout=4&rotate=0${tokenHash(token)}`);
  const t0 = Date.now();
  let tiles = [];
  for (;;) {
    tiles = await wall.evaluate(videosInPage);
    if ((tiles.length && tiles.every((x) => x.frames > FRAMES_WANTED)) || Date.now() - t0 > PLAY_WAIT_MS) break;
    await sleep(250);
  }
  out.wall_tiles = tiles.map(({ camera, frames, width, status }) => ({ camera, frames, width, status }));
  await wall.waitForSelector('#ticker li.tick', { timeout: 10000 }).catch(() => {});
  out.ticker = await wall.evaluate(() => ({
    ids: [...document.querySelectorAll('#ticker li.tick')].map((li) => li.dataset.id),
    count: Number(document.querySelector('#ticker .ticker-link .count').textContent),
    link: document.querySelector('#ticker .ticker-link').getAttribute('href'),
    height: document.getElementById('ticker').getBoundingClientRect().height,
    wall_height: document.getElementById('wall').getBoundingClientRect().height,
  }));
  // the status badge keeps off the camera's own label and clock (top left)
  // and a tile wider than 16:9 (the incident panel closed) is filled, one narrower is not
  const badges = () => wall.evaluate(() => [...document.querySelectorAll('.wall .tile:not(.empty)')].map((tile) => {
    const t = tile.getBoundingClientRect();
    const b = tile.querySelector('.badge').getBoundingClientRect();
    const v = getComputedStyle(tile.querySelector('video'));
    return { left: (b.left - t.left) / t.width, aspect: t.width / t.height, fit: v.objectFit, position: v.objectPosition };
  }));
  out.badges = await badges();
  await wall.screenshot({ path: path.join(outDir, 'board-wall.png') });
  await wall.click('#incidents-toggle');
  await sleep(300);
  out.badges_wide = await badges();
  await wall.screenshot({ path: path.join(outDir, 'board-wall-wide.png') });
  await wall.click('#incidents-toggle');
  await wall.click(`#ticker li.tick[data-id="${ids.open}"] button`);
  out.wall_opened = await wall.waitForSelector(`#task-detail[data-id="${ids.open}"] .td-panel`, { timeout: 10000 }).then(() => true).catch(() => false);
  out.wall_address = wall.url();
  await wall.reload();
  out.wall_reopened = await wall.waitForSelector(`#task-detail[data-id="${ids.open}"] .td-panel`, { timeout: 10000 }).then(() => true).catch(() => false);
  await wall.screenshot({ path: path.join(outDir, 'board-wall-task.png') });
  print(out);
}

// geolocationStub replaces navigator.geolocation's watch in a page:
// watchPosition gives the fixes of pts ([[lat, lng], ...]) one after
// another, stamped 15 s apart and ending now (to the first watch only; a
// watch started again later sees the phone standing still), and keeps a
// real watch running beside, so that getCurrentPosition, which goes to the
// real one (the context's emulated position), meets what a phone's does.
function geolocationStub(pts) {
  const real = navigator.geolocation;
  const fix = (p, at) => ({ coords: { latitude: p[0], longitude: p[1], accuracy: 8, altitude: null, altitudeAccuracy: null, heading: null, speed: null }, timestamp: at });
  let watches = 0;
  const geo = {
    watchPosition(ok, fail, opts) {
      const now = Date.now();
      if (watches++ === 0) pts.forEach((p, i) => setTimeout(() => ok(fix(p, now - (pts.length - 1 - i) * 15000)), 50 * (i + 1))); // faster than a post: they queue
      return real.watchPosition(() => {}, () => {}, opts);
    },
    clearWatch(id) { real.clearWatch(id); },
    getCurrentPosition(ok, fail, opts) { real.getCurrentPosition(ok, fail, opts); },
  };
  Object.defineProperty(Navigator.prototype, 'geolocation', { configurable: true, get: () => geo });
}

// map: with no tile server configured, (1) the worker's phone (390x844,
// geolocation stubbed with the walk) claims the task and reports its walk;
// (2) the wall (1920x1080) opens its map: camera, worker and task markers
// counted; then the task's detail replays the track (each step's lat,lng);
// (3) the resident's report (390x844, placed at lat,lng by the phone)
// lists the nearest cameras; choosing farCamera shows the far message.
// Screenshots map-wall.png, map-track.png, map-picker.png.
async function map(browser, [base, outDir, staffToken, workerCred, taskId, walkJSON, here, farCam]) {
  if (!base || !outDir || !staffToken || !workerCred || !taskId || !walkJSON || !here || !farCam) {
    throw new UsageError('map <baseURL> <outDir> <staffToken> <worker:pw> <taskId> <walkJSON> <lat,lng> <farCamera>');
  }
  fs.mkdirSync(outDir, { recursive: true });
  const walk = JSON.parse(walkJSON);
  const [user, pw] = workerCred.split(':');
  const out = { ok: false, failed: '', posted: 0, arrived: false, arrive_error: '', markers: {}, worker: '', moved_live: false, opened: {}, replay: { points: 0, seen: [], last: -1 }, picker: { nearest: [], far: '' }, errors: [] };
  const watch = (page) => page.on('pageerror', (err) => out.errors.push(err.message));
  try {
    // (1) the worker's walk
    const wk = await newPage(browser, { width: 390, height: 844 }, true);
    watch(wk.page);
    const last = walk[walk.length - 1];
    await wk.context.grantPermissions(['geolocation'], { origin: base });
    await wk.context.setGeolocation({ latitude: last[0], longitude: last[1], accuracy: 8 });
    await wk.page.addInitScript(geolocationStub, walk);
    await wk.page.goto(`${base}/worker`);
    await signInForm(wk.page, user, pw);
    await wk.page.locator('#list-view:not([hidden])').waitFor({ timeout: 15000 });
    await wk.page.goto(`${base}/worker?task=${encodeURIComponent(taskId)}`);
    await wk.page.click('#act-claim:not([hidden]) button[data-action=claim]', { timeout: 15000 });
    const until = Date.now() + 15000;
    while (Date.now() < until) {
      out.posted = (await api(base, 'GET', `/api/tasks/${taskId}/track`, staffToken)).points.length;
      if (out.posted >= walk.length) break;
      await sleep(200);
    }
    // the GPS check-in at the walk's end (a fresh fix), 10 m from the camera
    await wk.page.click('#task-view button[data-action="arrive"]');
    try {
      await wk.page.locator('#task-view[data-state="arrived"]').waitFor({ timeout: 15000 });
      out.arrived = true;
    } catch {
      out.arrived = false;
      out.arrive_error = (await wk.page.textContent('#act-error')) || '';
    }
    await wk.page.screenshot({ path: path.join(outDir, 'map-worker.png') });

    // (2) the wall's map, then the task's track replay
    const { page } = await newPage(browser, { width: 1920, height: 1080 });
    watch(page);
    await page.goto(`${base}/screen?map=1${tokenHash(staffToken)}`);
    await page.locator('#mapview[data-loaded]').waitFor({ timeout: 20000 });
    await page.locator('#mapview .qmap-worker').waitFor({ timeout: 10000 });
    out.markers = await page.evaluate(() => ({
      cameras: document.querySelectorAll('#mapview path.qmap-cam').length,
      offline: document.querySelectorAll('#mapview path.qmap-cam--offline').length,
      workers: document.querySelectorAll('#mapview .qmap-worker').length,
      tasks: document.querySelectorAll('#mapview .qmap-task').length,
    }));
    out.worker = await page.textContent('#mapview .qmap-worker .qmap-worker-name');
    // a new position reaches the open map by the event stream
    const workerToken = await tokenOf(base, user, pw);
    const next = [walk[walk.length - 1][0] + 0.0001, walk[walk.length - 1][1] + 0.0001];
    await api(base, 'POST', `/api/tasks/${taskId}/track`, workerToken, { lat: next[0], lng: next[1], accuracy: 5 });
    try {
      await page.locator(`#mapview .qmap-worker[data-latlng="${next[0]},${next[1]}"]`).waitFor({ timeout: 5000 });
      out.moved_live = true;
    } catch { out.moved_live = false; }
    await sleep(300);
    await page.screenshot({ path: path.join(outDir, 'map-wall.png') });
    // a camera's marker opens it live: the map goes, its tile is enlarged
    const camId = await page.getAttribute('#mapview path.qmap-cam >> nth=-1', 'data-camera');
    await page.click(`#mapview path.qmap-cam[data-camera="${camId}"]`, { force: true });
    try {
      await page.locator(`#wall .tile.enlarged[data-camera="${camId}"]`).waitFor({ timeout: 5000 });
      out.opened = { camera: camId, map_hidden: await page.evaluate(() => document.getElementById('mapview').hidden) };
    } catch {
      out.opened = { camera: camId, map_hidden: false, failed: true };
    }
    await page.goto(`${base}/screen?task=${encodeURIComponent(taskId)}${tokenHash(staffToken)}`);
    await page.locator('.td-track[data-points]:not([hidden])').waitFor({ timeout: 20000 });
    out.replay.points = Number(await page.getAttribute('.td-track', 'data-points'));
    await page.click('.td-track-play');
    const end = Date.now() + 15000;
    while (Date.now() < end) {
      const st = await page.evaluate(() => {
        const b = document.querySelector('.td-track');
        return { step: Number(b.dataset.step), latlng: b.dataset.latlng || '' };
      });
      if (st.latlng && out.replay.seen[out.replay.seen.length - 1] !== st.latlng) out.replay.seen.push(st.latlng);
      out.replay.last = st.step;
      if (st.step >= out.replay.points - 1) break;
      await sleep(50);
    }
    await page.screenshot({ path: path.join(outDir, 'map-track.png') });

    // (3) the resident's picker
    const [lat, lng] = here.split(',').map(Number);
    const res = await newPage(browser, { width: 390, height: 844 }, true);
    watch(res.page);
    await res.context.grantPermissions(['geolocation'], { origin: base });
    await res.context.setGeolocation({ latitude: lat, longitude: lng, accuracy: 8 });
    await res.page.goto(`${base}/app`);
    await res.page.locator('#cam-list li').first().waitFor({ timeout: 15000 });
    await res.page.click('#open-report');
    await res.page.locator('#report-near li').first().waitFor({ timeout: 15000 });
    out.picker.nearest = await res.page.$$eval('#report-near li', (lis) => lis.map((li) => ({ camera: li.dataset.camera, distance: Number(li.dataset.distance) })));
    await res.page.selectOption('#report-camera', farCam);
    await res.page.locator('#report-far:not([hidden])').waitFor({ timeout: 5000 });
    out.picker.far = (await res.page.textContent('#report-far')).trim();
    await res.page.locator('#report-far').scrollIntoViewIfNeeded();
    await res.page.screenshot({ path: path.join(outDir, 'map-picker.png') });
    out.ok = true;
  } catch (err) {
    out.failed = err.message;
  }
  print(out);
}

const scenarios = { map, wallfps, screen, app, offline, ttff, incidents, story3, overview, substream, recplay, workeralert, phone, account, stats, board, zhcn };

async function main() {
  const [name, ...args] = process.argv.slice(2);
  const run = scenarios[name];
  if (!run) throw new UsageError(`unknown scenario ${JSON.stringify(name || '')}; one of: ${Object.keys(scenarios).join(', ')}`);
  const browser = await openBrowser();
  try {
    await run(browser, args);
  } finally {
    // Closing the pages first lets them DELETE their WHEP sessions (pagehide);
    // killing the browser would leave them to the server's ICE timeout.
    for (const c of [...contexts]) await c.close().catch(() => {});
    await browser.close().catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`check: ${err instanceof UsageError ? `usage: node check.mjs ${err.message}` : err.stack || err}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
