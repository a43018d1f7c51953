/* Shared by the three pages: dictionary + t(), language toggle, fetch helper, SSE helper.
   Chinese (zh) is the default; the choice is kept in localStorage, and ?lang=en|zh overrides it. */
"use strict";

const HF = (() => {
  const STORAGE_KEY = "hallfleet.lang";

  const DICT = {
    zh: {
      "app.name": "大厅机器人",
      "lang.toggle": "English",
      "lang.toggle.aria": "Switch to English",
      "common.loading": "加载中…",
      "common.error": "出错了：{msg}",
      "common.none": "无",
      "common.yes": "是",
      "common.no": "否",
      "common.close": "关闭",
      "common.live.ok": "实时更新中",
      "common.live.lost": "实时连接中断，正在重连…",
      "common.network": "无法连接服务器",
      "floor": "{n}楼",

      "state.requested": "已请求",
      "state.assigned": "已派车",
      "state.to_pickup": "前往取件",
      "state.awaiting_load": "等待装件",
      "state.loaded": "已装件",
      "state.in_transit": "运送中",
      "state.awaiting_recipient": "等待签收",
      "state.delivered": "已送达",
      "state.cancelled": "已取消",
      "state.returning": "正在退回",
      "state.returned_to_sender": "已退回",
      "state.failed": "失败",

      "kind.service_window": "受理窗口",
      "kind.pickup_window": "出件窗口",
      "kind.department": "审批科室",
      "kind.other": "其他",

      "priority.normal": "普通",
      "priority.urgent": "加急",

      "clerk.title": "文件传送 · 窗口与科室",
      "clerk.place": "我的窗口/科室",
      "clerk.place.choose": "— 请选择 —",
      "clerk.myname": "我的姓名",
      "clerk.myname.ph": "例如：王敏",
      "clerk.send.title": "发送文件",
      "clerk.recipient.place": "收件窗口/科室",
      "clerk.recipient.person": "收件人",
      "clerk.sender.person": "发件人",
      "clerk.docs": "文件",
      "clerk.doc.barcode": "条形码",
      "clerk.doc.title": "名称",
      "clerk.doc.add": "＋ 添加一份文件",
      "clerk.doc.remove": "删除",
      "clerk.priority": "优先级",
      "clerk.note": "备注",
      "clerk.send": "发送",
      "clerk.send.needplace": "请先选择“我的窗口/科室”。",
      "clerk.send.missing": "请填写：{fields}",
      "clerk.pin.title": "装件密码",
      "clerk.pin.help": "请在机器人屏幕上输入此密码，打开格口放入文件。密码只显示这一次。",
      "clerk.pin.delivery": "运单号：{id}",
      "clerk.out.title": "发出的文件",
      "clerk.in.title": "收到的文件",
      "clerk.list.empty": "暂无",
      "clerk.col.id": "运单号",
      "clerk.col.state": "状态",
      "clerk.col.to": "送往",
      "clerk.col.from": "来自",
      "clerk.col.docs": "文件数",
      "clerk.col.robot": "机器人",
      "clerk.col.comp": "格口",
      "clerk.col.updated": "更新时间",
      "clerk.detail.title": "运单详情 {id}",
      "clerk.detail.docs": "文件",
      "clerk.detail.history": "状态记录",
      "clerk.detail.custody": "交接记录（防篡改）",
      "clerk.detail.failure": "失败原因：{reason}",
      "clerk.detail.note": "备注：{note}",
      "clerk.col.time": "时间",
      "clerk.col.message": "说明",
      "clerk.col.kind": "事件",
      "clerk.col.actor": "操作人",
      "clerk.col.place": "地点",
      "clerk.col.detail": "详情",
      "clerk.cancel": "取消运单",
      "custody.created": "创建",
      "custody.cancelled": "取消",
      "custody.assigned": "派车",
      "custody.loaded": "装件",
      "custody.departed": "出发",
      "custody.emergency_stop": "急停",
      "custody.emergency_stop_reset": "急停复位",
      "custody.arrived": "到达",
      "custody.delivered": "签收",
      "custody.unlocked_by_recipient": "收件人开格口",
      "custody.elevator_boarded": "进电梯",
      "custody.elevator_exited": "出电梯",
      "clerk.cancel.confirm": "确定取消运单 {id} 吗？",
      "clerk.cancel.needname": "请先在上方填写“我的姓名”。",
      "clerk.cancel.done": "运单已取消。",
      "clerk.notes.title": "通知（含取件密码）",
      "clerk.notes.empty": "暂无通知",
      "clerk.robot.title": "在机器人旁",
      "clerk.robot.help": "代替机器人触摸屏：输入机器人编号、格口号和密码开格口；放入/取出文件后关闭格口。",
      "clerk.robot.id": "机器人编号",
      "clerk.robot.comp": "格口号",
      "clerk.robot.pin": "密码",
      "clerk.robot.person": "姓名",
      "clerk.robot.unlock": "开格口",
      "clerk.robot.close": "已放入/取出文件，关闭格口",
      "clerk.robot.opened": "格口已打开：{msg}",
      "clerk.robot.locked": "格口已锁好：{msg}",
      "clerk.robot.openhere": "在机器人旁开格口",
      "clerk.robot.waiting": "正在等待机器人响应…",
      "clerk.robot.opened.at": "机器人 {robot} 的 {comp} 号格口已打开：放入或取出文件后，请点“关闭格口”。",
      "clerk.robot.locked.at": "机器人 {robot} 的 {comp} 号格口已锁好。",
      "clerk.robot.for.load": "运单 {id}：请在机器人 {robot} 的 {comp} 号格口装入文件，输入装件密码。",
      "clerk.robot.for.take": "运单 {id}：请在机器人 {robot} 的 {comp} 号格口取件，输入一次性取件密码。",
      "clerk.robot.needrobot": "请填写机器人编号。",
      "clerk.robot.pinformat": "密码是 6 位数字。",
      "clerk.robot.err.wrongpin": "密码错误（{comp} 号格口），还可再试 {left} 次。",
      "clerk.robot.err.blocked": "{comp} 号格口因多次密码错误已锁定，请联系运维人员。",
      "clerk.robot.err.notexpecting": "{comp} 号格口此时不在等待交接，请核对机器人编号和格口号。",
      "clerk.where": "文件在机器人 {robot} 的 {comp} 号格口。",
      "clerk.handover.load": "机器人已到，请带上文件到机器人旁输入装件密码。",
      "clerk.handover.take": "机器人已到，请到机器人旁输入通知里的一次性密码取件。",
      "clerk.col.action": "操作",

      // clerk pages: floor-grouped place pickers, receive view, ETA (one block)
      "clerk.place.group": "{floor} · {kind}",
      "clerk.place.search": "搜索：窗口号、科室名、楼层",
      "clerk.place.search.aria": "搜索窗口或科室",
      "clerk.place.nomatch": "没有匹配的窗口或科室",
      "clerk.place.more": "还有 {n} 个结果，请输入更多字",
      "clerk.place.first": "请先选择您所在的窗口或科室（本机会记住）。",
      "clerk.me.title": "我的岗位",
      "clerk.receive.title": "取件",
      "clerk.receive.arrived": "文件已到达，请到机器人旁取件。",
      "clerk.receive.from": "运单 {id} · 来自 {from} · {n} 份文件",
      "clerk.receive.pin": "取件密码",
      "clerk.receive.robot": "机器人",
      "clerk.receive.comp": "格口",
      "clerk.receive.compno": "{n} 号",
      "clerk.receive.open": "开格口取件",
      "clerk.receive.close": "已取出文件，关闭格口",
      "clerk.receive.opened": "机器人 {robot} 的 {comp} 号格口已打开：请取出文件，然后点“关闭格口”。",
      "clerk.receive.done": "运单 {id} 已签收，格口已锁好。",
      "clerk.receive.nopin": "通知里没有取件密码，请输入收到的密码",
      "clerk.receive.coming": "正在送来",
      "clerk.eta.pickup": "机器人约 {t}后到达取件",
      "clerk.eta.recipient": "预计 {t}后送达",
      "clerk.eta.soon.pickup": "机器人即将到达",
      "clerk.eta.soon.recipient": "即将送达",
      "clerk.eta.min": "{n} 分钟",
      "clerk.eta.sec": "{n} 秒",
      "custody.returned": "退回",
      "custody.failed": "失败",
      "custody.alert": "告警",

      "kiosk.title": "导办服务",
      "kiosk.question": "您想办理什么业务？",
      "kiosk.placeholder": "请在这里输入问题",
      "kiosk.ask": "提问",
      "kiosk.suggest": "常见问题",
      "kiosk.s1": "营业执照怎么办",
      "kiosk.s2": "社保卡在哪个窗口",
      "kiosk.s3": "厕所在哪里",
      "kiosk.s4": "老年人有绿色通道吗",
      "kiosk.answer": "回答",
      "kiosk.thinking": "正在查询，请稍候…",
      "kiosk.spoken": "已由机器人 {robot} 播报",
      "kiosk.notspoken": "机器人 {robot} 未能播报",
      "kiosk.norobot": "导览机器人暂时不在，请到服务台咨询工作人员。",
      "kiosk.screenonly": "导览机器人暂时不在，答案仅显示在屏幕上",
      "kiosk.empty": "请先输入您的问题。",
      // kiosk: checklist, helper (帮办) and lead the way (routes_kiosk.py)
      "kiosk.robot": "导览机器人 {id}",
      "kiosk.restart": "新的问题",
      "kiosk.materials": "办理材料清单",
      "kiosk.f.where": "办理窗口",
      "kiosk.f.dept": "办理部门",
      "kiosk.f.fee": "收费",
      "kiosk.f.days": "办理时限",
      "kiosk.f.online": "网上办理",
      "kiosk.where": "{floor}楼 {zone}区 {window} 号窗口",
      "kiosk.fee.free": "不收费",
      "kiosk.fee.amount": "{n} 元",
      "kiosk.days.spot": "材料齐全当场办结",
      "kiosk.days.one": "1 个工作日",
      "kiosk.days.n": "{n} 个工作日",
      "kiosk.online.yes": "可以全程网办（“一网通办”或“随申办”）",
      "kiosk.online.no": "需到窗口现场办理",
      "kiosk.helper": "找工作人员帮办",
      "kiosk.helper.sending": "正在通知工作人员…",
      "kiosk.helper.auto": "已为您通知工作人员，帮办人员马上就到，请稍候。",
      "kiosk.helper.failed": "通知没有发出，请到一楼咨询台找工作人员。",
      "kiosk.lead": "带我去窗口",
      "kiosk.lead.going": "请跟我来：正在带您前往 {place}",
      "kiosk.lead.arrived": "已到达 {place}",
      "kiosk.lead.stopped": "机器人没能到达 {place}，请按指示牌前往或咨询工作人员。",
      "kiosk.lead.failed": "机器人暂时不能带路，请按指示牌前往或咨询工作人员。",
      "tech.alerts": "告警",
      "tech.noalerts": "暂无告警",
      "tech.helpers": "帮办请求",
      "tech.nohelpers": "暂无帮办请求",

      "tech.title": "机器人运维",
      "tech.online": "在线 {online} / 共 {total}",
      "tech.active": "进行中的运单 {n}",
      "tech.errors": "故障 {n}",
      "tech.robots": "机器人",
      "tech.elevators": "电梯",
      "tech.map": "楼层平面图（60 × 40 米）",
      "tech.col.id": "编号",
      "tech.col.kind": "类型",
      "tech.col.online": "在线",
      "tech.col.activity": "状态",
      "tech.col.level": "楼层",
      "tech.col.pos": "位置（米）",
      "tech.col.battery": "电量",
      "tech.col.delivery": "当前运单",
      "tech.col.errors": "故障",
      "tech.col.elevator": "电梯",
      "tech.col.door": "门",
      "tech.col.moving": "运行",
      "tech.col.heldby": "占用者",
      "tech.col.target": "目标楼层",
      "tech.col.fault": "故障",
      "tech.visits": "久候市民关怀",
      "tech.novisits": "暂无等候超时的号码",
      "tech.col.ticket": "号码",
      "tech.col.zone": "等候区",
      "tech.col.robot": "机器人",
      "tech.col.visit": "状态",
      "tech.col.waited": "已等候（分钟）",
      "tech.visit.en_route": "前往中",
      "tech.visit.greeting": "正在问候",
      "tech.visit.greeted": "已问候",
      "tech.visit.cancelled": "已叫号，取消",
      "tech.visit.failed": "未能到达",
      "tech.kind.delivery": "送件",
      "tech.kind.guidance": "导览",
      "tech.charging": "充电中",
      "tech.col.safety": "安全",
      "tech.estop": "急停",
      "tech.reset": "复位",
      "tech.estop.confirm": "确定要急停机器人 {id} 吗？它会立即停下，直到复位。",
      "tech.estop.done": "机器人 {id} 已急停",
      "tech.reset.done": "机器人 {id} 已复位",
      "tech.estop.remote": "远程急停",
      "tech.estop.manual": "本机急停按钮",
      "tech.estop.autoack": "急停",
      "tech.person": "运维人员",
      "tech.noelevators": "暂无电梯状态",
      "tech.norobots": "没有配置机器人",
      "tech.nopos": "位置未知：{ids}",
      "tech.door.open": "开",
      "tech.door.closed": "关",
      "tech.door.opening": "正在开",
      "tech.door.closing": "正在关",
      "activity.offline": "离线",
      "activity.connecting": "连接中",
      "activity.error": "故障",
      "activity.paused": "已暂停",
      "activity.driving": "行驶中",
      "activity.working": "作业中",
      "activity.waiting": "等待中",
      "activity.idle": "空闲",
    },
    en: {
      "app.name": "Hall robots",
      "lang.toggle": "中文",
      "lang.toggle.aria": "切换到中文",
      "common.loading": "Loading…",
      "common.error": "Error: {msg}",
      "common.none": "none",
      "common.yes": "yes",
      "common.no": "no",
      "common.close": "Close",
      "common.live.ok": "Live",
      "common.live.lost": "Live connection lost, reconnecting…",
      "common.network": "Cannot reach the server",
      "floor": "Floor {n}",

      "state.requested": "requested",
      "state.assigned": "assigned",
      "state.to_pickup": "to pickup",
      "state.awaiting_load": "awaiting load",
      "state.loaded": "loaded",
      "state.in_transit": "in transit",
      "state.awaiting_recipient": "awaiting recipient",
      "state.delivered": "delivered",
      "state.cancelled": "cancelled",
      "state.returning": "returning to sender",
      "state.returned_to_sender": "returned to sender",
      "state.failed": "failed",

      "kind.service_window": "Service windows",
      "kind.pickup_window": "Pickup windows",
      "kind.department": "Departments",
      "kind.other": "Other",

      "priority.normal": "Normal",
      "priority.urgent": "Urgent",

      "clerk.title": "File delivery · windows and departments",
      "clerk.place": "My window / department",
      "clerk.place.choose": "— choose —",
      "clerk.myname": "My name",
      "clerk.myname.ph": "e.g. Wang Min",
      "clerk.send.title": "Send files",
      "clerk.recipient.place": "To window / department",
      "clerk.recipient.person": "Recipient",
      "clerk.sender.person": "Sender",
      "clerk.docs": "Documents",
      "clerk.doc.barcode": "Barcode",
      "clerk.doc.title": "Title",
      "clerk.doc.add": "+ Add a document",
      "clerk.doc.remove": "Remove",
      "clerk.priority": "Priority",
      "clerk.note": "Note",
      "clerk.send": "Send",
      "clerk.send.needplace": "Choose “My window / department” first.",
      "clerk.send.missing": "Please fill in: {fields}",
      "clerk.pin.title": "Loading PIN",
      "clerk.pin.help": "Type this PIN on the robot's screen to open the compartment and put the files in. It is shown only once.",
      "clerk.pin.delivery": "Delivery: {id}",
      "clerk.out.title": "Outgoing",
      "clerk.in.title": "Incoming",
      "clerk.list.empty": "None",
      "clerk.col.id": "Delivery",
      "clerk.col.state": "State",
      "clerk.col.to": "To",
      "clerk.col.from": "From",
      "clerk.col.docs": "Docs",
      "clerk.col.robot": "Robot",
      "clerk.col.comp": "Comp.",
      "clerk.col.updated": "Updated",
      "clerk.detail.title": "Delivery {id}",
      "clerk.detail.docs": "Documents",
      "clerk.detail.history": "History",
      "clerk.detail.custody": "Custody log (tamper-evident)",
      "clerk.detail.failure": "Failure: {reason}",
      "clerk.detail.note": "Note: {note}",
      "clerk.col.time": "Time",
      "clerk.col.message": "Message",
      "clerk.col.kind": "Event",
      "clerk.col.actor": "By",
      "clerk.col.place": "Place",
      "clerk.col.detail": "Detail",
      "clerk.cancel": "Cancel delivery",
      "custody.created": "created",
      "custody.cancelled": "cancelled",
      "custody.assigned": "assigned",
      "custody.loaded": "loaded",
      "custody.departed": "departed",
      "custody.emergency_stop": "emergency stop",
      "custody.emergency_stop_reset": "emergency stop reset",
      "custody.arrived": "arrived",
      "custody.delivered": "handed over",
      "custody.unlocked_by_recipient": "opened by recipient",
      "custody.elevator_boarded": "boarded elevator",
      "custody.elevator_exited": "left elevator",
      "clerk.cancel.confirm": "Cancel delivery {id}?",
      "clerk.cancel.needname": "Fill in “My name” above first.",
      "clerk.cancel.done": "Delivery cancelled.",
      "clerk.notes.title": "Notifications (incl. pickup PINs)",
      "clerk.notes.empty": "No notifications",
      "clerk.robot.title": "At the robot",
      "clerk.robot.help": "Stands in for the robot's touch screen: robot, compartment and PIN to open; close after the files are in or out.",
      "clerk.robot.id": "Robot",
      "clerk.robot.comp": "Compartment",
      "clerk.robot.pin": "PIN",
      "clerk.robot.person": "Name",
      "clerk.robot.unlock": "Open compartment",
      "clerk.robot.close": "Files in/out — close compartment",
      "clerk.robot.opened": "Compartment open: {msg}",
      "clerk.robot.locked": "Compartment locked: {msg}",
      "clerk.robot.openhere": "Open at the robot",
      "clerk.robot.waiting": "Waiting for the robot…",
      "clerk.robot.opened.at": "Compartment {comp} of robot {robot} is open: put the files in or take them out, then close it.",
      "clerk.robot.locked.at": "Compartment {comp} of robot {robot} is locked.",
      "clerk.robot.for.load": "Delivery {id}: put the files into compartment {comp} of robot {robot}; type the loading PIN.",
      "clerk.robot.for.take": "Delivery {id}: take the files from compartment {comp} of robot {robot}; type the one-time PIN.",
      "clerk.robot.needrobot": "Fill in the robot.",
      "clerk.robot.pinformat": "The PIN has 6 digits.",
      "clerk.robot.err.wrongpin": "Wrong PIN for compartment {comp}: {left} attempts left.",
      "clerk.robot.err.blocked": "Compartment {comp} is blocked after too many wrong PINs; call a technician.",
      "clerk.robot.err.notexpecting": "Compartment {comp} is not waiting for a hand-over now; check the robot and compartment.",
      "clerk.where": "The files are in compartment {comp} of robot {robot}.",
      "clerk.handover.load": "The robot is here: take the files to it and type the loading PIN.",
      "clerk.handover.take": "The robot is here: type the one-time PIN from the notification at the robot.",
      "clerk.col.action": "Action",

      // clerk pages: floor-grouped place pickers, receive view, ETA (one block)
      "clerk.place.group": "{floor} · {kind}",
      "clerk.place.search": "Search: window no., department, floor",
      "clerk.place.search.aria": "Search windows and departments",
      "clerk.place.nomatch": "No window or department matches",
      "clerk.place.more": "{n} more: type a little more",
      "clerk.place.first": "Choose your window or department first (this device remembers it).",
      "clerk.me.title": "My desk",
      "clerk.receive.title": "Receive files",
      "clerk.receive.arrived": "Files have arrived: take them from the robot.",
      "clerk.receive.from": "Delivery {id} · from {from} · {n} document(s)",
      "clerk.receive.pin": "Pickup PIN",
      "clerk.receive.robot": "Robot",
      "clerk.receive.comp": "Compartment",
      "clerk.receive.compno": "No. {n}",
      "clerk.receive.open": "Open compartment",
      "clerk.receive.close": "Files taken — close compartment",
      "clerk.receive.opened": "Compartment {comp} of robot {robot} is open: take the files, then close it.",
      "clerk.receive.done": "Delivery {id} received; the compartment is locked.",
      "clerk.receive.nopin": "No PIN in the notifications: type the PIN you were given",
      "clerk.receive.coming": "On the way to you",
      "clerk.eta.pickup": "Robot at your desk in about {t}",
      "clerk.eta.recipient": "Arrives in about {t}",
      "clerk.eta.soon.pickup": "Robot arriving now",
      "clerk.eta.soon.recipient": "Arriving now",
      "clerk.eta.min": "{n} min",
      "clerk.eta.sec": "{n} s",
      "custody.returned": "returned",
      "custody.failed": "failed",
      "custody.alert": "alert",

      "kiosk.title": "Visitor guidance",
      "kiosk.question": "How can we help you?",
      "kiosk.placeholder": "Type your question here",
      "kiosk.ask": "Ask",
      "kiosk.suggest": "Common questions",
      "kiosk.s1": "How do I get a business licence?",
      "kiosk.s2": "Which window handles social security cards?",
      "kiosk.s3": "Where is the toilet?",
      "kiosk.s4": "Is there a green channel for seniors?",
      "kiosk.answer": "Answer",
      "kiosk.thinking": "Looking it up, one moment…",
      "kiosk.spoken": "Spoken by robot {robot}",
      "kiosk.notspoken": "Robot {robot} could not speak it",
      "kiosk.norobot": "No guidance robot is available right now. Please ask at the information desk.",
      "kiosk.screenonly": "No guidance robot is nearby: the answer is shown on screen only",
      "kiosk.empty": "Please type your question first.",
      // kiosk: checklist, helper (帮办) and lead the way (routes_kiosk.py)
      "kiosk.robot": "Guide robot {id}",
      "kiosk.restart": "New question",
      "kiosk.materials": "Documents to bring",
      "kiosk.f.where": "Where",
      "kiosk.f.dept": "Department",
      "kiosk.f.fee": "Fee",
      "kiosk.f.days": "Processing time",
      "kiosk.f.online": "Online",
      "kiosk.where": "Windows {window}, zone {zone}, floor {floor}",
      "kiosk.fee.free": "Free of charge",
      "kiosk.fee.amount": "{n} yuan",
      "kiosk.days.spot": "On the spot when documents are complete",
      "kiosk.days.one": "1 working day",
      "kiosk.days.n": "{n} working days",
      "kiosk.online.yes": "Can be done fully online (Yiwangtongban or Suishenban app)",
      "kiosk.online.no": "Must be done in person at the window",
      "kiosk.helper": "Ask a staff helper",
      "kiosk.helper.sending": "Calling a staff member…",
      "kiosk.helper.auto": "A staff helper has been called and will be with you shortly.",
      "kiosk.helper.failed": "The call did not go through. Please ask at the information desk on the ground floor.",
      "kiosk.lead": "Take me to the window",
      "kiosk.lead.going": "Please follow me: leading you to {place}",
      "kiosk.lead.arrived": "We have arrived: {place}",
      "kiosk.lead.stopped": "The robot could not reach {place}. Please follow the signs or ask the staff.",
      "kiosk.lead.failed": "The robot cannot lead the way right now. Please follow the signs or ask the staff.",
      "tech.alerts": "Alerts",
      "tech.noalerts": "No alerts",
      "tech.helpers": "Helper requests",
      "tech.nohelpers": "No helper requested yet",

      "tech.title": "Fleet technician",
      "tech.online": "Online {online} / {total}",
      "tech.active": "Active deliveries {n}",
      "tech.errors": "Faults {n}",
      "tech.robots": "Robots",
      "tech.elevators": "Elevators",
      "tech.map": "Floor plans (60 × 40 m)",
      "tech.col.id": "ID",
      "tech.col.kind": "Kind",
      "tech.col.online": "Online",
      "tech.col.activity": "Activity",
      "tech.col.level": "Floor",
      "tech.col.pos": "Position (m)",
      "tech.col.battery": "Battery",
      "tech.col.delivery": "Delivery",
      "tech.col.errors": "Errors",
      "tech.col.elevator": "Elevator",
      "tech.col.door": "Door",
      "tech.col.moving": "Moving",
      "tech.col.heldby": "Held by",
      "tech.col.target": "Target floor",
      "tech.col.fault": "Fault",
      "tech.visits": "Visitors waiting too long",
      "tech.novisits": "No ticket has waited too long yet",
      "tech.col.ticket": "Ticket",
      "tech.col.zone": "Waiting zone",
      "tech.col.robot": "Robot",
      "tech.col.visit": "Visit",
      "tech.col.waited": "Waited (min)",
      "tech.visit.en_route": "on its way",
      "tech.visit.greeting": "greeting",
      "tech.visit.greeted": "greeted",
      "tech.visit.cancelled": "called, cancelled",
      "tech.visit.failed": "did not get there",
      "tech.kind.delivery": "delivery",
      "tech.kind.guidance": "guidance",
      "tech.charging": "charging",
      "tech.col.safety": "Safety",
      "tech.estop": "E-stop",
      "tech.reset": "Reset",
      "tech.estop.confirm": "Emergency-stop robot {id}? It stops at once and stays stopped until reset.",
      "tech.estop.done": "Robot {id} is emergency-stopped",
      "tech.reset.done": "Robot {id} was reset",
      "tech.estop.remote": "remote e-stop",
      "tech.estop.manual": "robot's e-stop button",
      "tech.estop.autoack": "e-stop",
      "tech.person": "technician",
      "tech.noelevators": "No elevator status yet",
      "tech.norobots": "No robots configured",
      "tech.nopos": "Position unknown: {ids}",
      "tech.door.open": "open",
      "tech.door.closed": "closed",
      "tech.door.opening": "opening",
      "tech.door.closing": "closing",
      "activity.offline": "offline",
      "activity.connecting": "connecting",
      "activity.error": "error",
      "activity.paused": "paused",
      "activity.driving": "driving",
      "activity.working": "working",
      "activity.waiting": "waiting",
      "activity.idle": "idle",
    },
  };

  function initialLang() {
    const q = new URLSearchParams(location.search).get("lang");
    if (q === "en" || q === "zh" || q === "zh-CN") {
      const l = q === "en" ? "en" : "zh";
      try { localStorage.setItem(STORAGE_KEY, l); } catch (_) { /* private mode */ }
      return l;
    }
    let stored = null;
    try { stored = localStorage.getItem(STORAGE_KEY); } catch (_) { /* private mode */ }
    return stored === "en" ? "en" : "zh";
  }

  let current = initialLang();

  /** Translate key; {name} placeholders are filled from vars. Unknown keys show themselves. */
  function t(key, vars) {
    const text = (DICT[current] && DICT[current][key]) ?? DICT.zh[key] ?? key;
    return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text;
  }

  /** Fill [data-i18n], [data-i18n-placeholder], [data-i18n-aria] under root. */
  function apply(root = document) {
    document.documentElement.lang = current === "en" ? "en" : "zh-CN";
    root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    root.querySelectorAll("[data-i18n-aria]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nAria)); });
    const title = document.querySelector("title[data-i18n]");
    if (title) document.title = t(title.dataset.i18n);
  }

  function setLang(lang) {
    current = lang === "en" ? "en" : "zh";
    try { localStorage.setItem(STORAGE_KEY, current); } catch (_) { /* private mode */ }
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.set("lang", current);
      history.replaceState(null, "", url);
    }
    apply();
    document.dispatchEvent(new CustomEvent("hf:lang", { detail: current }));
  }

  /** A button that flips between 中文 and English. */
  function mountToggle(button) {
    button.addEventListener("click", () => setLang(current === "zh" ? "en" : "zh"));
    button.dataset.i18n = "lang.toggle";
    button.dataset.i18nAria = "lang.toggle.aria";
  }

  /** fetch JSON; throws Error(detail) on 4xx/5xx so callers can show the server's reason. */
  async function api(method, path, body) {
    const opts = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (_) {
      throw new Error(t("common.network"));
    }
    const data = await resp.json().catch(() => null);
    if (!resp.ok) {
      let msg = data && data.detail !== undefined ? data.detail : `HTTP ${resp.status}`;
      if (Array.isArray(msg)) msg = msg.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
      const err = new Error(String(msg));
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  /** Subscribe to /api/events; handlers = {robot: fn(data), delivery: fn(data), elevator: fn(data)}.
      onStatus(ok) tells whether the stream is connected (EventSource reconnects by itself). */
  function live(handlers, onStatus) {
    const es = new EventSource("/api/events");
    for (const [name, fn] of Object.entries(handlers)) {
      es.addEventListener(name, (ev) => {
        try { fn(JSON.parse(ev.data)); } catch (e) { console.error("bad event", name, e); }
      });
    }
    if (onStatus) {
      es.addEventListener("open", () => onStatus(true));
      es.addEventListener("error", () => onStatus(false));
    }
    return es;
  }

  /** Tiny element builder: h("td", {class: "x"}, "text", child, ...). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  const placeName = (p) => (p ? (current === "en" ? p.name_en || p.name_zh : p.name_zh || p.name_en) : "");
  const partyPlace = (party) => (current === "en" ? party.place_name_en : party.place_name_zh) || party.place_id;
  const stateLabel = (s) => t(`state.${s}`);
  /** Label for an open-ended code (custody kind, door state...): the code itself when not in the dictionary. */
  const label = (prefix, code) => { const key = `${prefix}.${code}`; const text = t(key); return text === key ? code : text; };
  const floor = (level) => (level === null || level === undefined ? "—" : t("floor", { n: level }));

  function time(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toLocaleString(current === "en" ? "en-GB" : "zh-CN", {
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  function badge(state) {
    return h("span", { class: `badge state-${state}`, "data-state": state }, stateLabel(state));
  }

  return {
    t, apply, setLang, mountToggle, api, live, h, placeName, partyPlace, stateLabel, label, floor, time, badge,
    get lang() { return current; },
  };
})();

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-lang-toggle]").forEach((b) => HF.mountToggle(b));
  HF.apply();
});
