"""The words of routes and the trail in the user's language (state, trigger, action, light)."""

from __future__ import annotations

from flask import g, has_request_context
from flask_babel import get_locale

STATES = {
    "reported": ("已登记", "Reported"),
    "ws_handling": ("社区办理中", "At the workstation"),
    "ws_review": ("社区初审", "Workstation review"),
    "street_handling": ("街道办理中", "At the street office"),
    "street_review": ("街道审核", "Street office review"),
    "street_mediation": ("街道调解", "Street mediation"),
    "community_mediation": ("人民调解委员会调解", "At the people's mediation committee"),
    "district_mediation": ("区级调解", "District mediation"),
    "agency_handling": ("派驻机构办理中", "At the stationed agency"),
    "awaiting_report": ("待报到", "Awaiting report"),
    "dept_handling": ("部门办理中", "At the department"),
    "coordinating": ("吹哨协同（部门报到办理）", "Whistled: departments at work"),
    "dept_processing": ("部门办理中", "Department processing"),
    "dept_review": ("部门审批", "Department review"),
    "processing": ("办理中", "Processing"),
    "submitted": ("已提交", "Submitted"),
    "party_review": ("社区党委审核", "Community party committee review"),
    "street_party_review": ("街道党工委审批", "Street party working committee review"),
    "requested": ("已申请", "Requested"),
    "awaiting_materials": ("待补正材料", "Awaiting materials"),
    "delivery": ("送达中", "Delivery"),
    "referred": ("已转办", "Referred"),
    "resolved": ("已办结待确认", "Resolved"),
    "completed": ("已办结", "Completed"),
    "approved": ("已批准", "Approved"),
    "settled": ("已调解", "Settled"),
    "closed": ("已关闭", "Closed"),
    "refused": ("不予受理", "Refused"),
    "rejected": ("不予批准", "Rejected"),
    "withdrawn": ("已撤回", "Withdrawn"),
    # The dispatch centre's (workflow.dispatch): waiting in its queue, merged, answered.
    "awaiting_dispatch": ("待派单", "Awaiting dispatch"),
    "merged": ("已合并", "Merged"),
    "asked": ("待答复", "Asked"),
    "answered": ("已答复", "Answered"),
}

TRIGGERS = {
    "return": ("退单", "Return"),
    "accept": ("受理", "Accept"),
    "approve": ("批准", "Approve"),
    "complete": ("办结", "Complete"),
    "confirm": ("确认办结", "Confirm"),
    "deliver": ("送达", "Deliver"),
    "dispatch": ("派单", "Dispatch"),
    "forward": ("上报", "Forward"),
    "refer": ("转办", "Refer"),
    "refuse": ("不予受理", "Refuse"),
    "reject": ("不予批准", "Reject"),
    "reopen": ("重新办理", "Reopen"),
    "report": ("报到", "Report"),
    "request_materials": ("要求补正材料", "Request materials"),
    "resolve": ("办结", "Resolve"),
    "resubmit": ("补正后重新提交", "Resubmit"),
    "send_back": ("退回", "Send back"),
    "settle": ("调解成功", "Settle"),
    "whistle": ("吹哨", "Whistle"),
    "withdraw": ("撤回", "Withdraw"),
    "answer": ("答复", "Answer"),
}

ACTIONS = {
    "case.opened": ("登记", "Opened"),
    "case.transition": ("流转", "Transition"),
    "case.rated": ("评价", "Rated"),
    "case.personal_data_read": ("查阅个人信息", "Personal data read"),
    "definitions.published": ("发布定义", "Definitions published"),
    "definitions.variant_withdrawn": ("撤销街道版本", "Street variant withdrawn"),
    "user.added": ("添加用户", "User added"),
    "user.disabled": ("停用用户", "User disabled"),
    "user.enabled": ("启用用户", "User enabled"),
    "user.password_changed": ("修改用户密码", "User password changed"),
    "apikey.issued": ("签发接口密钥", "API key issued"),
    "case.migrated": ("迁移流程版本", "Moved to another route version"),
    "appraisal.finalized": ("考核定稿", "Appraisal finalized"),
    "appraisal.assessment_entered": ("录入街道考核评价", "Street assessment entered"),
    "supervision.raised": ("督办", "Supervision raised"),
    "supervision.acknowledged": ("签收督办", "Supervision acknowledged"),
    "extension.requested": ("申请延期", "Extension requested"),
    "extension.approved": ("批准延期", "Extension approved"),
    "extension.refused": ("驳回延期", "Extension refused"),
    "case.urgency_changed": ("调整紧急程度", "Urgency changed"),
    "attachment.added": ("添加附件", "File attached"),
    "return.requested": ("申请退单", "Return requested"),
    "return.approved": ("同意退单", "Return approved"),
    "return.refused": ("驳回退单", "Return refused"),
    "return.lapsed": ("退单失效", "Return lapsed"),
    "return.review_late": ("退单审核超时", "Return review late"),
    "supervision.reminded": ("催办", "Reminder"),
    "supervision.answered": ("督办答复", "Supervision answered"),
    "supervision.listed": ("挂牌督办", "Listed supervision"),
    "case.classified": ("确定事项", "Classified"),
    "case.placed": ("确定社区", "Placed"),
    "case.dispatched": ("派单", "Dispatched"),
    "case.answered": ("当场答复", "Answered on the spot"),
    "case.merged": ("合并", "Merged"),
}

URGENCY = {
    "normal": ("一般", "Normal"),
    "urgent": ("紧急", "Urgent"),
    "critical": ("特急", "Critical"),
}

RETURN_STATUS = {
    "pending": ("待审核", "Pending"),
    "approved": ("已同意", "Approved"),
    "refused": ("已驳回", "Refused"),
    "lapsed": ("已失效", "Lapsed"),
    "feedback.given": ("群众评价", "Resident's rating"),
    "feedback.rectification_opened": ("差评整改", "Rectification opened"),
    "feedback.rectification_reported": ("报告整改情况", "Rectification reported"),
    "feedback.appealed": ("申诉", "Rating appealed"),
    "feedback.appeal_decided": ("申诉裁定", "Appeal decided"),
    "task.opened": ("派发任务", "Task opened"),
    "task.reported": ("部门报到", "Department reported"),
    "task.done": ("部门办结", "Department's part done"),
    "task.sent_back": ("退回部门重办", "Part sent back"),
    "task.cancelled": ("撤销任务", "Task cancelled"),
}

# A task's status (a called department's part of a case).
TASK_STATUSES = {
    "awaiting_report": ("待报到", "Awaiting report"),
    "working": ("办理中", "Working"),
    "done": ("已办结", "Done"),
    "cancelled": ("已撤销", "Cancelled"),
    "return_requested": ("申请退单", "Return requested"),
}

LIGHTS = {
    "green": ("绿灯", "Green"),
    "yellow": ("黄灯", "Yellow"),
    "red": ("红灯", "Red"),
    "none": ("无", "None"),
}

TIERS = {
    "workstation": ("社区工作站", "Workstation"),
    "street_office": ("街道办事处", "Street office"),
    "agency": ("派驻机构", "Stationed agency"),
    "department": ("区职能部门", "Department"),
    "applicant": ("群众", "Applicant"),
    "party_committee": ("社区党委", "Community party committee"),
    "mediation_committee": ("人民调解委员会", "People's mediation committee"),
    "street_party": ("街道党工委", "Street party working committee"),
    "dispatch": ("派单中心", "Dispatch centre"),
}

# The kinds of unit: the community is three bodies (两委一站), the street two more beside its
# office, and the organisation department is a party body.
KINDS = {
    "district": ("区人民政府", "District government"),
    "department": ("区职能部门", "District department"),
    "street_office": ("街道办事处", "Street office"),
    "workstation": ("社区工作站", "Community workstation"),
    "dispatched_agency": ("派驻机构", "Stationed agency"),
    "party_committee": ("社区党委", "Community party committee"),
    "residents_committee": ("社区居委会", "Residents' committee"),
    "mediation_committee": ("人民调解委员会", "People's mediation committee"),
    "street_party_committee": ("街道党工委", "Street party working committee"),
    "service_centre": ("街道便民服务中心", "Street service centre"),
    "party_department": ("区委组织部门", "District party department"),
    "dispatch_centre": ("派单中心（12345/12349）", "Dispatch centre (12345/12349)"),
}

LIMIT_UNITS = {
    "working_days": ("工作日", "working days"),
    "calendar_days": ("日（自然日）", "calendar days"),
    "months": ("个月", "months"),
}

ROLES = {
    "clerk": ("窗口受理员", "Window clerk"),
    "staff": ("工作人员", "Staff"),
    "admin": ("管理员", "Administrator"),
    "auditor": ("督查考核", "Auditor"),
    "callback": ("回访员", "Callback operator"),
    "dispatcher": ("派单员", "Dispatcher"),
}

# A stationed agency's kind, the last part of its code (A-ZHL-ZF -> ZF), as the list names it.
AGENCY_KINDS = {
    "ZF": ("综合执法", "Comprehensive law enforcement"),
    "SF": ("司法所", "Justice office"),
    "PCS": ("派出所", "Police station"),
    "SJ": ("市场监管所", "Market supervision office"),
}

# Where a case came in: the window, or an outside channel by its api key's name (Open311).
# A channel not named here is shown by its name.
CHANNELS = {
    "window": ("窗口受理", "At the window"),
    "app-shinan": ("市南区政务服务App", "Shinan district app"),
    "hotline-12345": ("12345热线", "12345 hotline"),
    "phone": ("电话", "Phone"),
    "link": ("短信链接", "Text message link"),
}

TABLES = {
    "state": STATES,
    "trigger": TRIGGERS,
    "action": ACTIONS,
    "light": LIGHTS,
    "tier": TIERS,
    "role": ROLES,
    "urgency": URGENCY,
    "return_status": RETURN_STATUS,
    "task": TASK_STATUSES,
    "task_step": {
        "report": ("报到", "Report"),
        "done": ("办结", "Done"),
        "send_back": ("退回重办", "Send back"),
        "cancel": ("撤销任务", "Cancel task"),
    },
    "unit_kind": KINDS,
    "limit_unit": LIMIT_UNITS,
    "agency_kind": AGENCY_KINDS,
    "channel": CHANNELS,
}


def is_zh() -> bool:
    """Whether the user reads Chinese; asked once per request (a page of cases asks a thousand
    times, and Babel looks the locale up each time)."""
    if has_request_context() and "console_is_zh" in g:
        return bool(g.console_is_zh)
    locale = get_locale()
    zh = locale is None or locale.language == "zh"
    if has_request_context():
        g.console_is_zh = zh
    return zh


def label(table: str, key: str | None) -> str:
    """KEY's word in TABLE in the user's language; the key itself when there is none."""
    if key is None:
        return ""
    pair = TABLES[table].get(key)
    if pair is None:
        return key
    return pair[0] if is_zh() else pair[1]


def named(record: object | None, fallback: str | None = "") -> str:
    """A unit's or item's name (name_zh / name_en) in the user's language."""
    if record is None:
        return fallback or ""
    return str(getattr(record, "name_zh" if is_zh() else "name_en"))


# (table, Chinese?) -> {key: word}: a list's rows name their states and lights with the language
# asked once for the page, not once a cell.
_WORDS: dict[tuple[str, bool], dict[str, str]] = {}


def words(table: str) -> dict[str, str]:
    """TABLE's words in the user's language, key by key as label() gives them (a key with no
    word: label() gives the key itself)."""
    zh = is_zh()
    hit = _WORDS.get((table, zh))
    if hit is None:
        hit = {key: pair[0] if zh else pair[1] for key, pair in TABLES[table].items()}
        _WORDS[(table, zh)] = hit
    return hit
