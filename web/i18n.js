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
  'status.busy': ['繁忙', 'Busy'],
  'status.warning': ['告警', 'Warning'],
  'status.idle': ['未播放', 'Idle'],

  'msg.connecting': ['连接中…', 'Connecting…'],
  'msg.offline': ['摄像头离线，稍后自动重连', 'Camera offline, reconnecting automatically'],
  'msg.busy': ['观看人数已满，稍后自动重试', 'Too many viewers now, retrying automatically'],
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
  'screen.token.hint': ['大屏仅供指挥中心值班人员使用。', 'The wall is for the center\u2019s staff on duty.'],
  'screen.token.label': ['值班口令 / staff token', 'Staff token / 值班口令'],
  'screen.token.submit': ['进入', 'Enter'],
  'screen.token.bad': ['无权限：口令无效，请重新输入', 'No permission: the token was refused; enter it again'],
  'screen.token.resident': ['居民请使用手机版 →', 'Residents: use the phone app →'],
  'screen.layout.all': ['全部', 'All'],
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

  'index.worker': ['网格员', 'Grid workers'],
  'index.worker.sub': ['手机接单、签收、到场打卡、交单', 'Tasks on the phone: claim, check in, submit'],

  'role.admin': ['管理员', 'administrator'],
  'role.staff': ['值班人员', 'staff'],
  'role.worker': ['网格员', 'grid worker'],
  'role.resident': ['居民', 'resident'],

  'login.title.screen': ['指挥中心登录', 'Command center sign-in'],
  'login.title.worker': ['网格员登录', 'Grid worker sign-in'],
  'login.title.resident': ['居民账号登录', 'Resident sign-in'],
  'login.hint.screen': ['大屏仅供指挥中心值班人员使用。', 'The wall is for the center\u2019s staff on duty.'],
  'login.hint.worker': ['使用网格员账号登录，接收派给您的工单。', 'Sign in with your worker account to get the tasks sent to you.'],
  'login.hint.resident': ['有居民账号可登录；不登录也可以上报和评价。', 'Sign in if you have an account; you can report and rate without one.'],
  'login.user': ['账号', 'User'],
  'login.password': ['密码', 'Password'],
  'login.submit': ['登录', 'Sign in'],
  'login.busy': ['登录中…', 'Signing in…'],
  'login.bad': ['账号或密码错误', 'Wrong user name or password'],
  'login.role': ['此账号是{role}，本页需要{want}账号', 'This account is a {role}; this page needs a {want} account'],
  'login.expired': ['登录已失效，请重新登录', 'Your sign-in has expired; sign in again'],
  'login.failed': ['登录失败：{error}', 'Sign-in failed: {error}'],
  'login.token.more': ['使用值班口令', 'Use the staff token'],
  'logout': ['退出', 'Sign out'],

  'task.state.reported': ['待核单', 'To review'],
  'task.state.accepted': ['待派单', 'To dispatch'],
  'task.state.dispatched': ['已派单', 'Dispatched'],
  'task.state.claimed': ['已签收', 'Claimed'],
  'task.state.arrived': ['已到场', 'On site'],
  'task.state.submitted': ['待核查', 'To verify'],
  'task.state.verified': ['已核查', 'Verified'],
  'task.state.closed': ['已结案', 'Closed'],
  'task.state.rejected': ['已驳回', 'Rejected'],

  'task.action.accept': ['受理', 'Accept'],
  'task.action.reject': ['驳回', 'Reject'],
  'task.action.dispatch': ['派单', 'Dispatch'],
  'task.action.claim': ['签收', 'Claim'],
  'task.action.arrive': ['到场打卡', 'Check in on site'],
  'task.action.submit': ['交单', 'Submit'],
  'task.action.verify': ['核查通过', 'Verify'],
  'task.action.rework': ['退回重办', 'Send back'],
  'task.action.close': ['结案', 'Close'],
  'task.action.merge': ['合并为重复', 'Merge as duplicate'],

  'tl.create': ['上报', 'Reported'],
  'tl.accept': ['核单受理', 'Accepted'],
  'tl.reject': ['驳回', 'Rejected'],
  'tl.dispatch': ['派单', 'Dispatched'],
  'tl.claim': ['签收', 'Claimed'],
  'tl.arrive': ['到场', 'Arrived'],
  'tl.submit': ['交单', 'Submitted'],
  'tl.verify': ['核查通过', 'Verified'],
  'tl.rework': ['退回重办', 'Sent back'],
  'tl.close': ['结案', 'Closed'],
  'tl.overdue': ['超时', 'Overdue'],
  'tl.propose': ['摄像头建议核查通过', 'Camera proposes verification'],
  'tl.rate': ['评价', 'Rated'],
  'tl.recur': ['问题再次出现', 'The problem came back'],
  'tl.reopen': ['重新打开：结案后问题再次出现', 'Reopened: the problem came back after the close'],
  'tl.merge': ['合并为重复单', 'Merged as a duplicate'],
  'tl.join': ['并入重复单', 'A duplicate was merged in'],
  'tl.to': ['给 {name}', 'to {name}'],
  'src.camera': ['摄像头确认', 'seen on camera'],
  'src.person': ['人工', 'by a person'],
  'src.system': ['系统', 'system'],
  'who.camera': ['摄像头 {name}', 'camera {name}'],
  'who.system': ['系统', 'the system'],
  'who.staff_token': ['值班口令', 'staff token'],
  'who.device': ['居民', 'a resident'],
  'who.me': ['我', 'me'],
  'note.seen': ['摄像头 {name} 看到有人到场', 'seen on camera {name}'],
  'note.differs': ['摄像头所见：区域仍未恢复', 'the zone still differs (seen on camera)'],
  'note.confirmed': ['确认摄像头 {name} 所见', 'confirmed what camera {name} saw'],
  'note.auto': ['{kind}类事件自动受理', 'accepted automatically ({kind})'],
  'td.since.open': ['本环节用时', 'In this state'],
  'td.since.done': ['完成于', 'Finished at'],

  'task.source.incident': ['摄像头事件', 'Camera incident'],
  'task.source.resident': ['居民上报', 'Resident report'],
  'task.source.patrol': ['巡查上报', 'Patrol report'],
  'task.source.staff': ['人工录入', 'Entered by staff'],
  'task.overdue': ['超时', 'Overdue'],
  'task.overdue.stage': ['{stage}超时', '{stage} overdue'],
  'stage.claim': ['签收', 'Claim'],
  'stage.arrive': ['到场', 'Arrival'],
  'stage.resolve': ['办理', 'Resolution'],
  'stage.accept': ['核单', 'Accept'],
  'stage.dispatch': ['派单', 'Dispatch'],
  'stage.verify': ['核查', 'Verify'],
  'stage.close': ['结案', 'Close'],
  'stage.total': ['全程', 'Total'],

  'dur.s': ['{s}秒', '{s} s'],
  'dur.ms': ['{m}分{s}秒', '{m} min {s} s'],
  'dur.hm': ['{h}小时{m}分', '{h} h {m} min'],
  'dur.dh': ['{d}天{h}小时', '{d} d {h} h'],
  'dur.none': ['—', '—'],

  'board.title': ['工单', 'Tasks'],
  'board.toggle.title': ['显示/隐藏工单看板', 'Show or hide the task board'],
  'board.off': ['本桥未开启工单服务', 'Tasks are not available on this bridge'],
  'board.failed': ['工单加载失败：{error}，稍后重试', 'Loading tasks failed: {error}, retrying'],
  'board.empty': ['无', 'None'],

  'stats.title': ['今日', 'Today'],
  'stats.reported': ['上报', 'Reported'],
  'stats.dispatched': ['派单', 'Dispatched'],
  'stats.closed': ['结案', 'Closed'],
  'stats.open': ['在办', 'Open'],
  'stats.rate': ['办结率', 'Closing rate'],
  'stats.satisfaction': ['满意度', 'Satisfaction'],
  'stats.ratings': ['{n} 条评价', '{n} ratings'],
  'stats.median': ['各环节用时（中位数）', 'Time per stage (median)'],

  'td.back': ['关闭', 'Close panel'],
  'td.camera': ['摄像头', 'Camera'],
  'td.grid': ['网格', 'Grid'],
  'td.place': ['地点', 'Place'],
  'td.worker': ['网格员', 'Worker'],
  'td.source': ['来源', 'Source'],
  'td.reporter': ['上报人', 'Reported by'],
  'td.created': ['上报时间', 'Reported at'],
  'td.in.state': ['本环节已 {time}', 'In this state for {time}'],
  'td.timeline': ['全程留痕', 'Timeline'],
  'td.no.camera': ['此工单未关联摄像头', 'This task has no camera'],
  'td.proposal': ['摄像头建议核查通过', 'The camera says it looks fixed'],
  'td.before': ['处置前', 'Before'],
  'td.after': ['处置后', 'After'],
  'td.verify.one': ['一键核查', 'Verify in one click'],
  'td.pick.worker': ['选择网格员', 'Choose a worker'],
  'td.open.tasks': ['在办 {n}', '{n} open'],
  'td.no.workers': ['该网格暂无网格员', 'No workers in this grid'],
  'td.reason': ['驳回理由', 'Reason'],
  'td.reason.false': ['误报', 'False alarm'],
  'td.reason.dup': ['重复', 'Duplicate'],
  'td.note': ['备注（可选）', 'Note (optional)'],
  'td.confirm': ['确认{action}', 'Confirm: {action}'],
  'td.cancel': ['取消', 'Cancel'],
  'td.failed': ['操作失败：{error}', 'Failed: {error}'],
  'td.loading': ['加载中…', 'Loading…'],
  'td.photo': ['照片', 'Photo'],
  'td.description': ['描述', 'Details'],
  'td.snapshot': ['截图', 'Snapshot'],
  'rec.back': ['⏪ 回看', '⏪ Look back'],
  'rec.live': ['● 直播', '● Live'],
  'rec.at': ['录像 {time}', 'Recorded {time}'],
  'rec.none': ['暂无录像', 'Nothing recorded yet'],
  'clip.play': ['▶ 录像 {s} 秒', '▶ Video, {s} s'],
  'clip.pending': ['录像生成中…', 'The clip is still being recorded…'],
  'clip.short': ['录像不完整：', 'Shorter than asked:'],
  'clip.none': ['无录像', 'No video'],
  'td.gps': ['定位 {lat}, {lng}', 'GPS {lat}, {lng}'],
  'td.accuracy': ['±{m} 米', '±{m} m'],
  'td.distance': ['距地点 {m} 米', '{m} m from the place'],
  'td.stars': ['{n} 星', '{n} stars'],
  'td.merge.into': ['与哪张工单重复？', 'Which task does this one duplicate?'],
  'td.merge.none': ['看板上没有可合并的工单', 'No other task on the board to merge into'],
  'td.merge.note': ['与 {id} 重复', 'duplicate of {id}'],
  'td.followup': ['回访评价', 'Follow-up rating (回访)'],
  'td.followup.comment': ['回访记录（居民的原话）', 'What the resident said'],
  'td.followup.send': ['记录回访', 'Record the follow-up'],
  'td.none': ['—', '—'],

  'worker.title': ['千里眼 · 网格员', 'Qianliyan · Grid worker'],
  'worker.sub': ['我的工单', 'My tasks'],
  'worker.todo': ['待办', 'To do'],
  'worker.done': ['已办结', 'Done'],
  'worker.none': ['暂无工单，有新派单会自动出现', 'No tasks; new ones appear here by themselves'],
  'worker.address': ['地址', 'Address'],
  'worker.coords': ['坐标', 'Coordinates'],
  'worker.map': ['在地图中打开', 'Open in maps'],
  'worker.no.place': ['位置未知', 'Place unknown'],
  'worker.arrive.hint': ['到达现场后打卡（需要定位权限）', 'Check in when you are there (needs your location)'],
  'worker.locating': ['定位中…', 'Finding your location…'],
  'worker.geo.failed': ['无法定位：{error}', 'No location: {error}'],
  'worker.geo.none': ['此浏览器不能定位（页面需要 HTTPS）', 'This browser cannot give a location (the page needs HTTPS)'],
  'worker.photo': ['拍照', 'Take a photo'],
  'worker.note': ['处置说明', 'What was done'],
  'worker.note.ph': ['例如：已扶正垃圾桶并清理', 'e.g. put the bin back and cleaned up'],
  'worker.need.photo': ['请先拍照', 'Take a photo first'],
  'worker.uploading': ['上传中…', 'Uploading…'],
  'worker.submit.hint': ['处置完成后拍照交单', 'When it is fixed, take a photo and submit'],

  'app.report': ['上报问题', 'Report a problem'],
  'app.mine': ['我的上报', 'My reports'],
  'app.report.title': ['随手拍 · 上报问题', 'Report a problem'],
  'app.report.what': ['什么问题', 'What is wrong'],
  'app.report.what.ph': ['例如：垃圾桶倒了', 'e.g. a bin was knocked over'],
  'app.report.desc': ['详细描述（可选）', 'Details (optional)'],
  'app.report.photo': ['照片（可选）', 'Photo (optional)'],
  'app.report.loc': ['位置', 'Location'],
  'app.report.loc.get': ['获取当前位置', 'Use my location'],
  'app.report.loc.none': ['未获取位置', 'No location yet'],
  'app.report.loc.got': ['{lat}, {lng}（±{m} 米）', '{lat}, {lng} (±{m} m)'],
  'app.report.addr': ['地址或地标（可选）', 'Address or landmark (optional)'],
  'app.report.cam': ['附近的摄像头（可选）', 'Camera nearby (optional)'],
  'app.report.cam.none': ['不选择', 'None'],
  'app.report.send': ['提交', 'Send'],
  'app.report.sending': ['提交中…', 'Sending…'],
  'app.report.sent': ['已提交，感谢！', 'Sent, thank you!'],
  'app.mine.none': ['暂无上报', 'No reports yet'],
  'app.rate': ['评价', 'Rate'],
  'app.rated': ['已评价 {n} 星', 'Rated {n} stars'],
  'app.rate.title': ['评价处置结果', 'How was it handled?'],
  'app.rate.comment': ['说点什么（可选）', 'A comment (optional)'],
  'app.rate.send': ['提交评价', 'Send rating'],
  'app.rate.need.stars': ['请选择星级', 'Choose the stars'],
  'app.live.tasks': ['此处已办结的工单', 'Closed tasks here'],
  'app.account': ['账号登录', 'Sign in'],

  // issue 15: the worker's alerts, the resident's account (wt/notify)
  'alert.new': ['新工单', 'New task'],
  'alert.overdue': ['工单超时未签收', 'Task overdue, not claimed'],
  'alert.enable': ['开启新工单提醒（声音、振动、通知）', 'Turn on task alerts (sound, vibration, notifications)'],
  'app.signout.as': ['退出（{name}）', 'Sign out ({name})'],
  'app.adopted': ['本机以游客身份上报的 {n} 条已转入您的账号', '{n} reports made on this phone as a guest are now in your account'],

  // issue 15 item 2: the statistics page (wt/stats)
  'login.title.stats': ['统计分析登录', 'Statistics sign-in'],
  'login.hint.stats': ['统计分析仅供指挥中心值班人员和管理员使用。', 'Statistics are for the center\u2019s staff and administrators.'],
  'st.title': ['千里眼 · 统计分析', 'Qianliyan statistics'],
  'st.wall': ['← 大屏', '← Wall'],
  'st.link': ['统计', 'Statistics'],
  'st.link.title': ['统计分析：受理、交办、办结、满意度', 'Statistics: received, dispatched, closed, satisfaction'],
  'st.range': ['时间', 'Period'],
  'st.range.today': ['今日', 'Today'],
  'st.range.7d': ['近7天', '7 days'],
  'st.range.30d': ['近30天', '30 days'],
  'st.range.custom': ['自定义', 'Custom'],
  'st.from': ['起', 'From'],
  'st.to': ['止', 'To'],
  'st.apply': ['查询', 'Show'],
  'st.grid': ['网格', 'Grid'],
  'st.grid.all': ['全部网格', 'All grids'],
  'st.export.csv': ['导出 CSV', 'Export CSV'],
  'st.export.xlsx': ['导出 Excel', 'Export Excel'],
  'st.export.failed': ['导出失败：{error}', 'Export failed: {error}'],
  'st.loading': ['加载中…', 'Loading…'],
  'st.failed': ['加载失败：{error}', 'Loading failed: {error}'],
  'st.period': ['{from} 至 {to}，共 {days} 天（{zone}）', '{from} to {to}, {days} days ({zone})'],
  'st.fig.received': ['受理', 'Received'],
  'st.fig.dispatched': ['交办', 'Dispatched'],
  'st.fig.closed': ['办结', 'Closed'],
  'st.fig.closed_on_time': ['按时办结', 'Closed on time'],
  'st.fig.rejected': ['驳回', 'Rejected'],
  'st.fig.open': ['在办', 'Open'],
  'st.fig.rated': ['评价', 'Rated'],
  'st.fig.satisfied': ['满意', 'Satisfied'],
  'st.fig.dispatch_rate': ['交办率', 'Dispatch rate'],
  'st.fig.closing_rate': ['办结率', 'Closing rate'],
  'st.fig.on_time_rate': ['按时办结率', 'On-time rate'],
  'st.fig.satisfaction_rate': ['回访满意度', 'Satisfaction'],
  'st.trend': ['每日趋势', 'Daily trend'],
  'st.bars': ['各网格受理与办结', 'Received and closed per grid'],
  'st.by.grid': ['按网格', 'By grid'],
  'st.by.worker': ['按网格员', 'By worker'],
  'st.by.kind': ['按类型', 'By kind'],
  'st.stages': ['各环节用时', 'Time per stage'],
  'st.col.stage': ['环节', 'Stage'],
  'st.col.kind': ['类型', 'Kind'],
  'st.col.count': ['工单数', 'Tasks'],
  'st.col.median': ['中位数', 'Median'],
  'st.col.p90': ['P90', 'P90'],
  'st.nobody': ['未派单', 'Not dispatched'],
  'st.none': ['（无）', '(none)'],
  'st.empty': ['此期间没有工单', 'No tasks in this period'],
  'st.bad.order': ['起始日期晚于结束日期', 'The first day is after the last day'],
  'st.bad.long': ['时间范围最长 366 天', 'A period is at most 366 days long'],
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
