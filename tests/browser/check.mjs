#!/usr/bin/env node
// check: headless Chromium checks of the pages, for the Go tests.
//
//   node check.mjs screen  <baseURL> <outDir> <token> <n>
//   node check.mjs app     <baseURL> <outDir> <publicCam> <privateCam>
//   node check.mjs offline <baseURL> <outDir> <token> <camera>   (then commands on stdin)
//   node check.mjs ttff    <baseURL> <camera> <token> <runs>      (token '' or '-': resident)
//   node check.mjs incidents <baseURL> <outDir> <token> <camera> <timeoutMs>
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
//   window.__whep[ID] = {postAt, answerAt, firstFrameAt} from performance.now().
//   On /screen the incident panel is #incidents; each incident is
//   .incident[data-id][data-camera][data-kind][data-open=true|false] holding an
//   <img> of its snapshot; a camera's tile with an open incident has tile--incident.

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

const scenarios = { screen, app, offline, ttff, incidents };

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
