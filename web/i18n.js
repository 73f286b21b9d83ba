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

  // the duty officer's board (/board, board.js) and the wall's ticker
  'bd.title': ['千里眼 · 工单台', 'Qianliyan · Task board'],
  'bd.link': ['工单台', 'Task board'],
  'bd.link.title': ['工单台：筛选、排序、批量处理全部工单', 'Task board: filter, sort and act on tasks in bulk'],
  'bd.wall': ['大屏', 'Wall'],
  'bd.states': ['状态', 'States'],
  'bd.grid': ['网格', 'Grid'],
  'bd.grid.all': ['全部网格', 'All grids'],
  'bd.kind': ['类型', 'Kind'],
  'bd.kind.all': ['全部类型', 'All kinds'],
  'bd.source': ['来源', 'Source'],
  'bd.source.all': ['全部来源', 'All sources'],
  'bd.overdue.only': ['仅超时', 'Overdue only'],
  'bd.search': ['搜索', 'Search'],
  'bd.search.ph': ['编号、摄像头、描述、地址', 'ID, camera, description, address'],
  'bd.sort': ['排序', 'Order'],
  'bd.sort.newest': ['最新优先', 'Newest first'],
  'bd.sort.urgent': ['最紧急优先', 'Most urgent first'],
  'bd.sort.title': ['最紧急：先超时，再按优先级，再按等待时长', 'Most urgent: overdue first, then priority, then the longest waiting'],
  'bd.more': ['另有 {n} 条，请缩小筛选', '{n} more: narrow the filter'],
  'bd.pick': ['选择：{title}', 'Select: {title}'],
  'bd.prio': ['优先级 {n}', 'Priority {n}'],
  'bd.overdue': ['超时', 'Overdue'],
  'bd.selected': ['已选 {n} 条', '{n} selected'],
  'bd.bulk.false': ['驳回：误报', 'Reject: false alarm'],
  'bd.bulk.dup': ['驳回：重复', 'Reject: duplicate'],
  'bd.bulk.merge': ['合并为一单', 'Merge into one'],
  'bd.bulk.clear': ['取消选择', 'Clear'],
  'bd.merge.note': ['批量合并：同一问题', 'Merged in bulk: the same problem'],
  'bd.done': ['完成 {done} 条，失败 {failed} 条', '{done} done, {failed} failed'],
  'bd.ticker': ['最新工单', 'Newest tasks'],
  'bd.ticker.none': ['暂无待办工单', 'No open tasks'],
  // the map: wall map, track replay, the resident's location picker (map.js)
  'map.toggle': ['地图', 'Map'],
  'map.incident': ['有事件', 'incident'],
  'map.worker.at': ['{name} · {time} 的位置', '{name} at {time}'],
  'map.failed': ['地图加载失败：{error}', 'The map did not load: {error}'],
  'track.title': ['轨迹回放', 'Track replay'],
  'track.none': ['暂无轨迹', 'No track yet'],
  'track.play': ['播放', 'Play'],
  'track.pause': ['暂停', 'Pause'],
  'track.points': ['{n} 个位置', '{n} positions'],
  'app.report.map.hint': ['点击地图设置位置，或获取当前位置', 'Tap the map to set the place, or use your location'],
  'app.report.near': ['最近的摄像头', 'Nearest cameras'],
  'app.report.loc.set': ['{lat}, {lng}（地图选点）', '{lat}, {lng} (set on the map)'],
  'app.report.far': ['所选摄像头距上报位置 {d}，超过 {max}，不是附近的摄像头：请选择附近的摄像头，或不选择', 'The chosen camera is {d} from the place, more than {max}: it is not nearby. Choose a nearby camera, or none'],
  'worker.tracking': ['正在上报位置（每 15 秒）', 'Sharing your position (every 15 s)'],


  // issue 15 item 5: the server's messages, code → sentence (api/errors.go,
  // task/message.go, detect/incident.go, confirm/confirm.go emit them; a
  // param named *_ms is a moment, *_s a duration in seconds, see tf).
  'tl.after': ['+{d}', '+{d}'],
  'api.error': ['出错了', 'Something went wrong'],
  'geo.1': ['未允许此网页使用定位', 'this page may not use your location'],
  'geo.2': ['暂时无法获取位置', 'your position is not available now'],
  'geo.3': ['定位超时', 'finding your position took too long'],
  'api.store_down': ['工单数据库暂时无法连接，请几秒后重试', 'The task store (Redis) is not reachable; try again in a few seconds'],
  'api.internal': ['服务器内部错误', 'Internal error'],
  'api.no_tasks': ['本桥未开启工单服务', 'Tasks are not available on this bridge'],
  'api.token_needed': ['请先登录', 'Please sign in first'],
  'api.role_needed': ['需要{role}账号', 'This needs a {role} account'],
  'api.token_expired': ['登录已于 {at_ms} 失效，请重新登录', 'Your sign-in expired at {at_ms}; sign in again'],
  'api.token_bad': ['登录已失效，请重新登录', 'Your sign-in is no longer valid; sign in again'],
  'api.login_bad': ['账号或密码错误', 'Wrong user name or password'],
  'api.login_fields': ['请输入账号和密码', 'Enter both the user name and the password'],
  'api.too_many': ['操作太频繁，请 {wait_s} 后（{until_ms}）再试', 'Too many requests; try again in {wait_s} (at {until_ms})'],
  'api.no_camera': ['没有编号为 {camera} 的摄像头', 'No camera with the id {camera}'],
  'api.no_grid': ['没有网格 {grid}；现有网格：{grids}', 'No grid {grid}; the grids are {grids}'],
  'api.report_words': ['请写明是什么问题', 'Say what the problem is'],
  'api.report_where': ['请说明问题在哪里：选择摄像头或获取当前位置', 'Say where the problem is: pick a camera or use your location'],
  'api.report_too_long': ['描述有 {n} 个字，最多 {max} 个', 'The description has {n} characters; at most {max} are allowed'],
  'api.camera_private': ['摄像头 {camera} 不公开，请选择公共摄像头或给出位置', 'Camera {camera} is not public: pick a public camera or give the place'],
  'api.reports_for_who': ['上报仅限居民和网格员', 'Reports are for residents and grid workers'],
  'api.photo_too_large': ['照片太大，最大 {limit}', 'The photo is too large; the limit is {limit}'],
  'api.photo_empty': ['文件是空的', 'The file is empty'],
  'api.photo_not_photo': ['文件不是照片，请上传 JPEG 或 PNG 图片', 'The file is not a photo: send a JPEG or PNG picture'],
  'api.photo_missing': ['照片未上传成功，请重新拍照', 'The photo was not uploaded; take it again'],
  'api.bad_body': ['请求格式有误', 'The request is malformed'],
  'api.clip_not_ready': ['录像生成中，{end_ms} 后几秒可看', 'The clip is still being recorded; ready a few seconds after {end_ms}'],
  'task.not_found': ['没有工单 {id}', 'No task {id}'],
  'task.not_yours': ['工单 {id} 没有派给您', 'Task {id} is not dispatched to you'],
  'task.not_your_grid': ['工单 {id} 在网格 {grid}，不是您的网格', 'Task {id} is in grid {grid}, which is not one of yours'],
  'task.role_may_not': ['{role}不能{action}', 'A {role} may not do this: {action}'],
  'task.transition': ['工单{state}，不能{action}；现在可以：{allowed}', 'The task is {state}: cannot {action}; allowed now: {allowed}'],
  'task.reject_reason': ['驳回理由只能是误报或重复', 'A rejection\u2019s reason is a false alarm or a duplicate'],
  'task.reject_needs_reason': ['驳回需要理由：误报，或与哪张工单重复', 'A rejection needs a reason: a false alarm, or a duplicate of which task'],
  'task.dispatch_needs_worker': ['请选择网格员', 'Choose the worker to send'],
  'task.dispatch_needs_grid': ['工单 {id} 没有网格，无法派单', 'Task {id} has no grid to dispatch in'],
  'task.already_dispatched': ['工单 {id} 已派给 {worker}（网格 {grid}）', 'Task {id} is already dispatched to {worker} in grid {grid}'],
  'task.no_such_worker': ['没有用户 {worker}；网格 {grid} 的网格员：{workers}', 'No user {worker}; the workers of grid {grid}: {workers}'],
  'task.not_a_worker': ['{worker} 是{role}，不是网格员；网格 {grid} 的网格员：{workers}', '{worker} is a {role}, not a grid worker; the workers of grid {grid}: {workers}'],
  'task.worker_other_grid': ['{worker} 不在网格 {grid}；该网格的网格员：{workers}', '{worker} does not work in grid {grid}; its workers: {workers}'],
  'task.arrive_needs_gps': ['到场打卡需要定位', 'Checking in needs your location'],
  'task.gps_too_far': ['您距工单地点 {distance_m} 米，请在 {radius_m} 米内打卡', 'You are {distance_m} m from the task\u2019s place; check in within {radius_m} m of it'],
  'task.submit_needs_photo': ['交单需要处置后的照片', 'Submitting needs a photo of the fix'],
  'task.note_too_long': ['备注有 {n} 个字，最多 {max} 个', 'The note has {n} characters; at most {max} are allowed'],
  'task.title_needed': ['请填写标题', 'A task needs a title'],
  'task.title_too_long': ['标题有 {n} 个字，最多 {max} 个', 'The title has {n} characters; at most {max} are allowed'],
  'task.description_too_long': ['描述有 {n} 个字，最多 {max} 个', 'The description has {n} characters; at most {max} are allowed'],
  'task.location_not_on_map': ['位置 {lat}, {lng} 不在地图上', 'The place {lat}, {lng} is not on the map'],
  'task.gps_not_on_map': ['定位 {lat}, {lng} 不在地图上', 'The GPS fix {lat}, {lng} is not on the map'],
  'task.merge_needs_into': ['请选择与哪张工单重复', 'Choose the task this one duplicates'],
  'task.merge_self': ['工单不能与自己合并', 'A task cannot be merged into itself'],
  'task.merge_into_rejected': ['工单 {id} 已驳回，请合并到它所重复的工单', 'Task {id} is rejected; merge into the task it duplicates'],
  'task.no_camera': ['没有编号为 {camera} 的摄像头', 'No camera with the id {camera}'],
  'task.no_zone': ['摄像头 {camera} 没有区域 {zone}', 'Camera {camera} has no zone {zone}'],
  'task.no_grid': ['没有网格 {grid}；现有网格：{grids}', 'No grid {grid}; the grids are {grids}'],
  'task.request_used': ['此操作已提交过，请刷新后重试', 'This request was already used; reload and try again'],
  'rating.stars': ['评价为 1 到 5 星', 'A rating is 1 to 5 stars'],
  'track.not_on_map': ['位置 {lat},{lng} 不在地图上', 'The position {lat},{lng} is not a place on the map'],
  'track.accuracy': ['定位精度 {accuracy_m} 米无效（0 到 {max_m} 米）', 'The accuracy {accuracy_m} m is not a distance from 0 to {max_m} m'],
  'track.time': ['位置的时间 {at_ms} 与服务器时间相差太多', 'The position\u2019s time {at_ms} is too far from the bridge\u2019s clock'],
  'track.not_yours': ['只有被派单的网格员上报工单 {id} 的轨迹', 'Only the grid worker task {id} is dispatched to reports its track'],
  'track.state': ['工单 {id} {state}：仅在已签收或已到场时记录轨迹', 'Task {id} is {state}: a track is kept only while a task is claimed or arrived'],
  'api.camera_far': ['所选摄像头“{name}”距上报位置 {distance_m} 米，超过 {limit_m} 米：请选择附近的摄像头，或不选择', 'Camera {name} is {distance_m} m from the place of the report, more than {limit_m} m: choose a nearby camera, or none'],
  'api.track_workers': ['只有被派单的网格员上报轨迹', 'Only the grid worker a task is dispatched to reports its track'],
  'api.track_hidden': ['工单轨迹仅供中心和网格员查看', 'A task\u2019s track is for the center and its grid\u2019s workers'],
  'api.track_point': ['位置需要经度和纬度', 'A position needs lat and lng'],
  'rating.comment_too_long': ['评价有 {n} 个字，最多 {max} 个', 'The comment has {n} characters; at most {max} are allowed'],
  'rating.only_closed': ['工单{state}，结案后才能评价', 'The task is {state}; only a closed task can be rated'],
  'note.seen_on_camera': ['摄像头 {camera} 看到有人到场', 'seen on camera {camera}'],
  'note.proposed': ['摄像头建议核查通过', 'the camera proposes verification'],
  'note.still_differs': ['摄像头所见：区域仍未恢复', 'the zone still differs (seen on camera)'],
  'note.confirmed_camera': ['确认摄像头 {camera} 所见', 'confirmed what camera {camera} saw'],
  'note.auto_accepted': ['{kind}类事件自动受理', 'accepted automatically ({kind})'],
  'note.duplicate_of': ['与 {id} 重复', 'duplicate of {id}'],
  'note.recur': ['问题再次出现：{what}', 'The problem came back: {what}'],
  'note.reopen': ['结案后问题再次出现：{what}', 'The problem came back after the close: {what}'],
  'note.overdue.claim': ['派单后 {limit_s} 内未签收', 'not claimed within {limit_s} of dispatch'],
  'note.overdue.arrive': ['签收后 {limit_s} 内未到场', 'not arrived within {limit_s} of the claim'],
  'note.overdue.resolve': ['首次派单后 {limit_s} 内未交单', 'not submitted within {limit_s} of the first dispatch'],
  'incident.zone_changed': ['区域“{zone}”与正常状态不同', 'zone {zone} differs from its normal look'],
  'incident.loitering': ['自 {since_ms} 起在区域内停留 {dwell_s}', 'in the zone since {since_ms} ({dwell_s})'],
  'incident.covered': ['遮挡', 'covered'],
  'incident.defocused': ['失焦', 'out of focus'],
  'incident.turned': ['移位', 'turned away'],
  'incident.offline': ['无视频信号', 'no video'],
  'camera.stalled': ['摄像头停止发送视频', 'the camera stopped sending video ({error})'],
  'camera.unauthorized': ['摄像头拒绝了用户名或密码（401）', 'the camera refused the user name or password (401 Unauthorized)'],
  'camera.forbidden': ['摄像头拒绝访问（403）', 'the camera refused access (403 Forbidden)'],
  'camera.no_path': ['摄像头在此路径上没有视频流（404）', 'the camera has no stream at this path (404 Not Found)'],
  'camera.status': ['摄像头返回错误（{status}）', 'the camera answered with an error ({status} {message})'],
  'camera.no_host': ['找不到摄像头的主机名 {host}', 'cannot find the camera\'s host name {host}'],
  'camera.closed': ['摄像头断开了连接', 'the camera closed the connection ({error})'],
  'camera.refused': ['摄像头拒绝连接：该地址没有服务在监听', 'the camera refused the connection: nothing listens at its address ({error})'],
  'camera.unreachable': ['无法到达摄像头所在的网络', 'the camera\'s network cannot be reached ({error})'],
  'camera.timeout': ['摄像头未按时应答', 'the camera did not answer in time ({error})'],
  'camera.failed': ['摄像头连接出错', 'the camera\'s connection failed ({error})'],
  'camera.idle': ['无人观看时不拉流（按需启动）', 'not read while nobody watches it (started on demand)'],
  'camera.released': ['由集群中另一台桥接服务拉流', 'not read by this bridge: another member of the cluster reads it'],
  'camera.waiting': ['等待集群分配', 'not read by this bridge until the cluster says it owns it'],
  'camera.connecting': ['正在连接', 'connecting'],
  'camera.shutting_down': ['桥接服务正在停止', 'the bridge is shutting down'],
  'camera.b_frames': ['摄像头发送 B 帧，浏览器无法通过 WebRTC 播放：请在摄像头编码设置中关闭 B 帧', 'the camera sends B-frames, which browsers cannot play over WebRTC: turn B-frames off in the camera\'s encoder settings'],
  'verdict.zone_matches': ['区域“{zone}”已恢复正常（持续 {held_s}）', 'zone {zone} matches its reference for {held_s}'],
  'verdict.zone_differs': ['区域“{zone}”交单后 {differed_s} 仍与正常状态不同', 'zone {zone} still differs from its reference {differed_s} after the submission'],
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

// The center's time zone (server.time_zone): every time on the pages is
// shown in it, whatever the zone of the browser. api.js sets it from each
// answer's X-Time-Zone; until the first answer, the default of the config.
let zone = 'Asia/Shanghai';
const formats = new Map();

/** setTimeZone sets the center's zone (an IANA name); an unknown name is ignored. */
export function setTimeZone(z) {
  if (!z || z === zone) return;
  try { new Intl.DateTimeFormat('en', { timeZone: z }); } catch { return; }
  zone = z;
  formats.clear();
}

/** timeZone is the center's zone the pages show times in. */
export function timeZone() { return zone; }

function format(kind) {
  const key = `${lang()}|${kind}`;
  let f = formats.get(key);
  if (!f) {
    const o = { timeZone: zone, hourCycle: 'h23' };
    if (kind !== 'date') Object.assign(o, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    if (kind !== 'time') Object.assign(o, { month: '2-digit', day: '2-digit' });
    if (kind === 'full' || kind === 'date') o.year = 'numeric';
    f = new Intl.DateTimeFormat(lang(), o);
    formats.set(key, f);
  }
  return f;
}

/**
 * fmtTime is the one way the pages write a moment (Unix ms), in the
 * center's zone: date 'auto' (default) gives the time to the second, with
 * the month and day when it is not today; true always gives the month and
 * day; 'full' the year too; 'date' the day alone.
 */
export function fmtTime(ms, { date = 'auto' } = {}) {
  if (!ms) return '';
  const d = new Date(ms);
  if (date === 'full') return format('full').format(d);
  if (date === 'date') return format('date').format(d);
  if (date === true || (date === 'auto' && format('date').format(d) !== format('date').format(new Date()))) return format('day').format(d);
  return format('time').format(d);
}

const pad2 = (n) => String(n).padStart(2, '0');

/** fmtDuration is a duration in words: 12秒, 3分05秒, 2小时03分, 1天4小时. */
export function fmtDuration(ms) {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return t('dur.none');
  const s = Math.floor(ms / 1000);
  if (s < 60) return t('dur.s', { s });
  if (s < 3600) return t('dur.ms', { m: Math.floor(s / 60), s: pad2(s % 60) });
  if (s < 86400) return t('dur.hm', { h: Math.floor(s / 3600), m: pad2(Math.floor(s / 60) % 60) });
  return t('dur.dh', { d: Math.floor(s / 86400), h: Math.floor(s / 3600) % 24 });
}

// Parameters named after what they hold are shown in words: a state, an
// action, an incident kind, a role, a stage.
const NAMED = { state: 'task.state.', action: 'task.action.', allowed: 'task.action.', kind: 'inc.kind.', role: 'role.', stage: 'stage.' };

function param(name, v) {
  if (v == null) return '';
  if (typeof v === 'object' && !Array.isArray(v)) return v.code ? tf(v.code, v.params, v.text || '') : '';
  if (Array.isArray(v)) return v.length ? v.map((x) => param(name, x)).join(lang() === 'en' ? ', ' : '、') : t('td.none');
  if (name.endsWith('_ms') && typeof v === 'number') return fmtTime(v);
  if (name.endsWith('_s') && typeof v === 'number') return fmtDuration(v * 1000);
  const prefix = NAMED[name];
  if (prefix && TABLE[prefix + v]) return t(prefix + v);
  return String(v);
}

/** known reports whether the table has a sentence for code. */
export function known(code) { return Boolean(code) && code in TABLE; }

/**
 * tf is a message the server sent as a code and parameters, in the page
 * language: moments (*_ms) in the center's zone, durations (*_s) in words,
 * states, actions and kinds by name, a nested {code, params} translated in
 * turn. An unknown code gives fallback (the server's English sentence).
 */
/** cameraWhy is why a camera is offline, from its health, in the page language. */
export function cameraWhy(h) { return h && h.last_error ? tf(h.last_error_code, h.last_error_params, h.last_error) : ''; }

/** cameraWarning is what is wrong with a camera that plays (B-frames), in the page language. */
export function cameraWarning(h) { return h && h.warning ? tf(h.warning_code, null, h.warning) : ''; }

export function tf(code, params, fallback = '') {
  if (!known(code)) return fallback || (code ? t('api.error') : '');
  const p = params || {};
  return t(code).replace(/\{(\w+)\}/g, (m, k) => (k in p ? param(k, p[k]) : m));
}
