// i18n: the one zh-CN/en table of the pages, t(key) and the 中文/EN toggle.
// Chinese first: a fresh browser gets zh-CN; the choice is kept in localStorage.

const STORE_KEY = 'qly.lang';

// The table: key → [zh-CN, en]. {name} marks a value filled in by t(key, vars).
const TABLE = {
  'app.name': ['千里眼', 'Qianliyan'],
  'lang.toggle': ['EN', '中文'],
  'lang.toggle.title': ['Switch to English', '切换到中文'],

  'status.online': ['在线', 'Online'],
  'status.offline': ['离线', 'Offline'],
  'status.connecting': ['连接中', 'Connecting'],
  'status.forbidden': ['无权限', 'No permission'],
  'status.error': ['出错', 'Error'],
  'status.warning': ['告警', 'Warning'],
  'status.idle': ['未播放', 'Idle'],

  'msg.connecting': ['连接中…', 'Connecting…'],
  'msg.offline': ['摄像头离线，稍后自动重连', 'Camera offline, reconnecting automatically'],
  'msg.forbidden': ['无权限观看此摄像头', 'No permission to watch this camera'],
  'msg.events.lost': ['状态推送已断开，重连中…', 'Live status lost, reconnecting…'],
  'msg.load.failed': ['加载失败：{error}，稍后重试', 'Loading failed: {error}, retrying'],
  'msg.no.cameras': ['暂无摄像头', 'No cameras'],
  'msg.no.picture': ['暂无画面', 'No picture yet'],

  'viewers': ['{n} 人在看', '{n} watching'],

  'index.title': ['千里眼 · 视频桥', 'Qianliyan video bridge'],
  'index.lead': ['街巷摄像头实时画面，服务网格化社会治理。', 'Live street cameras for grid governance.'],
  'index.screen': ['指挥中心大屏', 'Command-center wall'],
  'index.screen.sub': ['值班人员使用，需要值班口令', 'For staff on duty; needs the staff token'],
  'index.app': ['居民 千里眼', 'Residents'],
  'index.app.sub': ['手机查看公共摄像头', 'Public cameras on your phone'],

  'screen.title': ['千里眼 · 大屏', 'Qianliyan wall'],
  'screen.layout': ['分屏', 'Layout'],
  'screen.prev': ['上一页', 'Previous'],
  'screen.next': ['下一页', 'Next'],
  'screen.page': ['第 {page}/{pages} 页', 'Page {page}/{pages}'],
  'screen.rotate.on': ['轮巡：开', 'Rotate: on'],
  'screen.rotate.off': ['轮巡：关', 'Rotate: off'],
  'screen.rotate.title': ['每 30 秒自动翻页', 'Next page every 30 s'],
  'screen.online.count': ['在线 {online}/{total}', 'Online {online}/{total}'],
  'screen.logout': ['退出', 'Sign out'],
  'screen.token.title': ['值班口令', 'Staff token'],
  'screen.token.hint': ['大屏仅供指挥中心值班人员使用。', 'The wall is for the center\u2019s staff on duty.'],
  'screen.token.label': ['值班口令 / staff token', 'Staff token / 值班口令'],
  'screen.token.submit': ['进入', 'Enter'],
  'screen.token.bad': ['无权限：口令无效，请重新输入', 'No permission: the token was refused; enter it again'],
  'screen.token.resident': ['居民请使用手机版 →', 'Residents: use the phone app →'],
  'screen.enlarged.hint': ['点击或按 Esc 返回', 'Click or press Esc to go back'],

  'inc.title': ['事件', 'Incidents'],
  'inc.toggle.title': ['显示/隐藏事件列表', 'Show or hide the incident list'],
  'inc.none': ['暂无进行中的事件', 'No open incidents'],
  'inc.off': ['本桥未开启事件检测', 'Detection is not running on this bridge'],
  'inc.failed': ['事件加载失败：{error}，稍后重试', 'Loading incidents failed: {error}, retrying'],
  'inc.kind.zone_changed': ['区域异常', 'Zone changed'],
  'inc.kind.loitering': ['徘徊', 'Loitering'],
  'inc.kind.camera_tampered': ['摄像头遮挡/移位', 'Camera tampered'],
  'inc.kind.camera_offline': ['摄像头离线', 'Camera offline'],
  'inc.detail.covered': ['遮挡', 'covered'],
  'inc.detail.defocused': ['失焦', 'out of focus'],
  'inc.detail.turned': ['移位', 'turned away'],
  'inc.started': ['开始 {time}', 'Started {time}'],
  'inc.ended': ['已结束 {time}', 'Ended {time}'],
  'inc.open': ['进行中', 'Open'],
  'inc.no.picture': ['无截图', 'No picture'],
  'inc.more': ['+{n}', '+{n}'],
  'ago.now': ['刚刚', 'just now'],
  'ago.s': ['{n}秒前', '{n} s ago'],
  'ago.m': ['{n}分钟前', '{n} min ago'],
  'ago.h': ['{n}小时前', '{n} h ago'],
  'ago.d': ['{n}天前', '{n} d ago'],

  'app.title': ['千里眼', 'Qianliyan'],
  'app.sub': ['公共摄像头 · 实时画面', 'Public cameras, live'],
  'app.back': ['返回', 'Back'],
  'app.fullscreen': ['全屏', 'Full screen'],
  'app.refresh.note': ['图片每 10 秒更新，点击观看直播', 'Pictures refresh every 10 s; tap to watch live'],
};

const LANGS = ['zh-CN', 'en'];

/** lang returns the page language: 'zh-CN' (default) or 'en'. */
export function lang() {
  let v = null;
  try { v = localStorage.getItem(STORE_KEY); } catch { /* storage may be off */ }
  return LANGS.includes(v) ? v : 'zh-CN';
}

/** setLang stores the language, re-renders static text and tells the page ('langchange' on window). */
export function setLang(l) {
  try { localStorage.setItem(STORE_KEY, l); } catch { /* keep it for this page only */ }
  applyI18n();
  window.dispatchEvent(new CustomEvent('langchange', { detail: l }));
}

/** t returns the text of key in the page language, with {name} filled from vars. */
export function t(key, vars) {
  const row = TABLE[key];
  let s = row ? row[lang() === 'en' ? 1 : 0] : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/**
 * applyI18n fills every element under root that has data-i18n="key" (text) or
 * data-i18n-attr="attr:key;attr:key" (attributes), and sets <html lang>.
 */
export function applyI18n(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

/** langToggle makes the 中文/EN button into el (or a new button) and returns it. */
export function langToggle(el = document.createElement('button')) {
  el.type = 'button';
  el.classList.add('lang-toggle');
  el.dataset.i18n = 'lang.toggle';
  el.dataset.i18nAttr = 'title:lang.toggle.title';
  el.addEventListener('click', () => setLang(lang() === 'en' ? 'zh-CN' : 'en'));
  el.textContent = t('lang.toggle');
  el.title = t('lang.toggle.title');
  return el;
}
