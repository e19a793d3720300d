"""Every string the admin UI shows, in Chinese (the default) and English, in one table.

``t(key)`` looks a key up in the request's language; ``label(group, value)`` names an enum value
(an item status, a delivery state, a platform...); ``localise(message)`` picks one half of the
API's bilingual error messages ("中文 (English)").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context

if TYPE_CHECKING:
    from .apicall import ApiAnswer

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "yunchu_lang"

TEXT: dict[str, tuple[str, str]] = {
    # frame
    "app.name": ("云厨 · 融媒体中央厨房", "Yunchu · regional media hub"),
    "nav.dashboard": ("概览", "Dashboard"),
    "nav.items": ("稿件", "Items"),
    "nav.accounts": ("账号台账", "Account ledger"),
    "nav.matrices": ("账号矩阵", "Matrices"),
    "nav.tasks": ("人工任务", "Manual tasks"),
    "nav.import": ("批量导入", "Import"),
    "nav.safety": ("负面清单", "Negative list"),
    "nav.audit": ("审计日志", "Audit log"),
    "nav.users": ("用户管理", "Users"),
    "nav.library": ("云稿库", "Library"),
    "nav.logout": ("退出登录", "Log out"),
    "nav.lang": ("English", "中文"),
    "user.province": ("全省", "whole province"),
    # login
    "login.title": ("登录", "Log in"),
    "login.name": ("用户名", "Name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("用户名或密码错误", "Wrong name or password"),
    "login.missing": ("请输入用户名和密码", "Enter your name and password"),
    "login.throttled": ("登录失败次数过多，请{seconds}秒后再试",
                        "Too many failed logins; try again in {seconds} s"),
    "login.logged_out": ("已退出登录", "You are logged out"),
    "login.first_run": ("首次使用：用户名 bootstrap-admin，密码见首次运行 yunchu up（或 yunchu demo）"
                        "时终端输出的 “login:” 一行；忘记密码可在服务器上运行 "
                        "yunchu users set-password bootstrap-admin 重新设置。",
                        "First time here? Sign in as bootstrap-admin with the password printed on "
                        "the “login:” line when yunchu up (or yunchu demo) first started; if it "
                        "is lost, run yunchu users set-password bootstrap-admin on the server."),
    # own password
    "nav.password": ("修改密码", "Change password"),
    "password.title": ("修改密码", "Change password"),
    "password.current": ("当前密码", "Current password"),
    "password.new": ("新密码", "New password"),
    "password.new2": ("再输入一次新密码", "New password again"),
    "password.rule": ("新密码至少10位。修改后所有已登录的会话都会退出，需用新密码重新登录。",
                      "At least 10 characters. Every signed-in session ends; sign in again "
                      "with the new password."),
    "password.submit": ("修改密码", "Change password"),
    "password.missing": ("请填写当前密码和新密码", "Enter your current and new password"),
    "password.mismatch": ("两次输入的新密码不一致", "The two new passwords differ"),
    "password.wrong": ("当前密码错误，密码未修改", "The current password is wrong; nothing changed"),
    "password.changed": ("密码已修改，请用新密码重新登录", "Password changed; sign in with the new one"),
    # dashboard
    "dash.title": ("概览", "Dashboard"),
    "dash.items": ("稿件（按状态）", "Items by status"),
    "dash.deliveries": ("投递", "Deliveries"),
    "dash.live": ("在线发布", "Live on platforms"),
    "dash.in_progress": ("进行中", "In progress"),
    "dash.tasks": ("待办人工任务", "Open manual tasks"),
    "dash.accounts": ("账号（按平台和状态）", "Accounts by platform and status"),
    "dash.recent_dispatches": ("最近推送", "Recent pushes"),
    "dash.recent_withdrawals": ("最近撤稿", "Recent withdrawals"),
    "dash.total": ("合计", "Total"),
    "dash.inspection": ("账号检查（{days}天更新窗口）", "Account inspection ({days}-day window)"),
    "dash.inspection_line": ("受检账号{inspected}个，合格{passing}个，",
                             "{inspected} accounts inspected, {passing} pass, "),
    "dash.inspection_failing": ("不合格{n}个", "{n} fail"),
    # items
    "items.title": ("稿件", "Items"),
    "items.filter": ("筛选", "Filter"),
    "items.search": ("标题包含", "Title contains"),
    "items.all_statuses": ("全部状态", "All statuses"),
    "items.org": ("机构", "Org"),
    "items.none": ("没有符合条件的稿件", "No items match"),
    "items.more": ("下一页", "Next page"),
    "item.title": ("标题", "Title"),
    "item.status": ("状态", "Status"),
    "item.version": ("版本", "Version"),
    "item.kind": ("类型", "Kind"),
    "item.updated": ("更新时间", "Updated"),
    "item.created": ("创建时间", "Created"),
    "item.author": ("作者", "Author"),
    "item.source": ("来源", "Source"),
    "item.summary": ("摘要", "Summary"),
    "item.origin": ("转载自", "Pulled from"),
    "item.public_url": ("公开链接", "Public page"),
    "item.body": ("正文", "Body"),
    "item.versions": ("版本记录", "Versions"),
    "item.review": ("审核记录（三审）", "Review trail (three stages)"),
    "item.review.none": ("尚无审核记录", "No reviews yet"),
    "item.review.next": ("待{stage}", "Waiting for {stage}"),
    "item.safety": ("负面清单筛查", "Negative-list screening"),
    "item.safety.none": ("未命中负面清单", "No negative-list hits"),
    "item.safety.blocked": ("命中禁止类词语，不能送审或通过", "Blocking hits: cannot be submitted "
                                                             "or approved"),
    "item.safety.push_blocked": ("已通过审核的稿件命中当前负面清单禁止类词语，不能推送；确需推送须由省级管理员通过接口填写理由放行",
                                 "The approved item hits blocking terms of the current negative "
                                 "list: it cannot be pushed unless a province admin overrides "
                                 "it with a reason (API: override_safety)"),
    "push.safety_override": ("放行理由（命中负面清单，省级管理员填写后推送，记入审计日志）",
                             "Override reason (negative-list hit; a province admin's reason, "
                             "kept in the audit log)"),
    "item.safety.warn": ("命中提示类词语，终审须填写放行理由",
                         "Warning hits: the final reviewer must give an override reason"),
    "item.deliveries": ("投递（按状态）", "Deliveries by state"),
    "item.deliveries.none": ("尚未推送", "Not pushed yet"),
    "item.dispatches": ("推送记录", "Pushes"),
    "item.withdrawals": ("撤稿记录", "Withdrawals"),
    "item.withdrawn": ("已于{at}撤回，原因：{reason}", "Withdrawn at {at}: {reason}"),
    "item.actions": ("操作", "Actions"),
    "item.no_actions": ("当前状态下你没有可执行的操作", "Nothing you can do in this state"),
    "action.submit": ("送审", "Submit for review"),
    "action.approve": ("通过", "Approve"),
    "action.reject": ("退回", "Reject"),
    "action.comment": ("审核意见", "Comment"),
    "action.override": ("放行理由（终审，命中提示词时必填）",
                        "Override reason (final stage, needed for warning hits)"),
    "action.review_as": ("以{stage}身份审核", "Review as {stage}"),
    "action.push": ("一键推送", "Push"),
    "action.push_scope": ("默认推送到：{scope}（含下级机构）的全部账号",
                          "By default to every account of {scope} and everything below"),
    "push.narrow": ("选择推送范围、平台、矩阵或定时发布", "Choose orgs, platforms, matrices or a time"),
    "push.orgs": ("机构代码（多个用空格或顿号分隔；留空为默认范围）",
                  "Org slugs (separated by spaces or 、; empty: the default scope)"),
    "push.orgs_hint": ("例如 c1 c2-k1", "e.g. c1 c2-k1"),
    "push.descendants": ("含下级机构", "Include the orgs below"),
    "push.platforms": ("平台（不选为全部平台）", "Platforms (none ticked: all)"),
    "push.matrices": ("矩阵（可多选；只选矩阵时仅推送到矩阵内账号）",
                      "Matrices (only their accounts when no org is given)"),
    "push.matrix_accounts": ("{n}个账号", "{n} accounts"),
    "push.preview": ("预览范围", "Preview the reach"),
    "push.preview_total": ("将推送到{total}个账号：", "Would go to {total} accounts: "),
    "push.preview_skipped": ("{n}个账号将跳过", "{n} accounts are skipped"),
    "push.preview_skip_list": ("跳过的原因", "Why accounts are skipped"),
    "push.preview_kept": ("{n}个账号已有本稿，不会重复推送", "{n} already have this item and are not sent it again"),
    "push.schedule_at": ("定时发布（北京时间，可选）", "Publish at (Beijing time, optional)"),
    "action.withdraw": ("一键撤稿", "Withdraw everywhere"),
    "action.withdraw_own": ("撤回本机构账号上的发布", "Withdraw from my org's accounts"),
    "action.withdraw_all_note": ("撤回全部账号上的发布，含所有转载稿件",
                                 "Removes every copy on every account, including pulled copies"),
    "action.reason": ("撤稿原因（必填）", "Reason (required)"),
    "action.confirm_withdraw": ("确定撤稿吗？此操作不可撤销。",
                                "Withdraw this item? This cannot be undone."),
    "done.submit": ("已送审", "Submitted for review"),
    "done.review": ("审核意见已提交", "Review recorded"),
    "done.push": ("已开始推送，共{total}个账号", "Push started: {total} accounts"),
    "done.withdraw": ("已开始撤稿，共{total}条发布", "Withdrawal started: {total} deliveries"),
    "done.task": ("任务已标记完成", "Task marked done"),
    # progress
    "progress.dispatch": ("推送进度", "Push progress"),
    "progress.withdrawal": ("撤稿进度", "Withdrawal progress"),
    "progress.item": ("稿件", "Item"),
    "progress.state": ("状态", "State"),
    "progress.total": ("总数", "Total"),
    "progress.remaining": ("剩余", "Remaining"),
    "progress.repushed": ("已转入后续推送", "Moved to a later push"),
    "progress.reason": ("撤稿原因", "Reason"),
    "progress.started": ("开始时间", "Started"),
    "progress.finished": ("完成时间", "Finished"),
    "progress.counts": ("各状态数量", "Counts by state"),
    "progress.problems": ("需要关注的投递", "Deliveries that need attention"),
    "progress.no_problems": ("暂无失败的投递", "No failed deliveries"),
    "progress.live": ("每秒自动刷新", "Refreshes every second"),
    "progress.manual": ("需人工处理 {n} 条，见人工任务", "{n} need manual action; see manual tasks"),
    "progress.failed": ("失败", "Failed"),
    "run.failed": ("失败{n}", "{n} failed"),
    "failures.all_states": ("全部状态", "All states"),
    "failures.all_reasons": ("全部原因", "All reasons"),
    "failures.all_platforms": ("全部平台", "All platforms"),
    "failures.reason": ("原因类别", "Reason"),
    "failures.filter": ("筛选", "Filter"),
    "failures.csv": ("导出CSV", "Export CSV"),
    "failures.first_page": ("← 第一页", "← First page"),
    "failures.none_match": ("没有符合筛选条件的投递", "No deliveries match the filter"),
    "failures.retry": ("重试可重试的失败投递（{n}条）", "Retry the failed ones that may succeed ({n})"),
    "failures.retried": ("已重新排队{n}条失败的投递", "{n} failed deliveries queued again"),
    "confirm.push_total": ("本次推送共涉及{total}个账号：推送{sending}个，跳过{skipped}个。请核对后确认。",
                           "This push covers {total} accounts: {sending} sent, {skipped} skipped. Check, then confirm."),
    "confirm.type": ("数量较多，请输入账号数 {total} 以确认", "Many accounts: type the number {total} to confirm"),
    "confirm.push": ("确认推送（{total}个账号）", "Confirm the push ({total} accounts)"),
    "confirm.withdraw_total": ("本次撤稿共涉及{total}条投递：撤下已发布的{remove}条，取消未发出的{cancel}条，正在发送的{in_flight}条发出后即撤下",
                               "This withdrawal covers {total} deliveries: {remove} live copies removed, {cancel} unsent cancelled, {in_flight} in flight removed once sent"),
    "confirm.withdraw_copies": ("含转载稿{n}篇，一并撤回", "Includes {n} reprints, withdrawn with it"),
    "confirm.withdraw": ("确认撤稿（{total}条）", "Confirm the withdrawal ({total})"),
    "confirm.again": ("请核对最新数字后重新确认（当前共{total}个）", "Check the current numbers and confirm again (now {total})"),
    "run.running": ("进行中", "running"),
    "run.done": ("已完成", "done"),
    "run.scheduled": ("定时待发", "scheduled"),
    # accounts
    "accounts.title": ("账号统一台账", "Unified account ledger"),
    "accounts.all_platforms": ("全部平台", "All platforms"),
    "accounts.all_statuses": ("全部状态", "All statuses"),
    "accounts.org_hint": ("机构代码（含下级）", "Org slug (with everything below)"),
    "accounts.none": ("没有符合条件的账号", "No accounts match"),
    "account.name": ("账号名称", "Account"),
    "account.platform": ("平台", "Platform"),
    "account.org": ("所属机构", "Org"),
    "account.status": ("状态", "Status"),
    "account.responsible": ("责任人", "Responsible person"),
    "account.chief_editor": ("总编辑", "Chief editor"),
    "account.department": ("主管部门", "Managing department"),
    "account.filing": ("备案号", "Filing number"),
    "account.filing_date": ("备案日期", "Filing date"),
    "account.last_published": ("最近发布", "Last published"),
    "account.flagged": ("凭据失效", "Credentials rejected"),
    "account.inspection": ("检查", "Inspection"),
    "account.inspection_pass": ("合格", "passes"),
    "accounts.all_inspection": ("全部检查结果", "Any inspection result"),
    "accounts.inspection_failing": ("检查不合格", "Failing inspection"),
    "accounts.inspection_passing": ("检查合格", "Passing inspection"),
    "account.edit": ("编辑", "Edit"),
    "account_edit.title": ("编辑账号台账", "Edit account"),
    "account_edit.status_reason": ("状态说明（暂停或关闭的原因）", "Status reason (why suspended or closed)"),
    "account_edit.status_note": ("暂停或关闭的账号不再接收推送；已发布的稿件仍可一键撤回。",
                                 "Suspended or closed accounts receive no pushes; what they "
                                 "published can still be withdrawn."),
    "account_edit.save": ("保存", "Save"),
    "library.title": ("云稿库", "Shared library"),
    "library.search": ("搜索标题、摘要或正文", "Search titles, summaries and text"),
    "library.tag": ("标签", "Tag"),
    "library.pull": ("转载到本单位", "Pull into my org"),
    "library.into": ("转入机构", "Into org"),
    "library.into_hint": ("默认为本人所属机构", "Default: your own org"),
    "library.local_title": ("本地标题（可选）", "Local title (optional)"),
    "library.local_summary": ("本地摘要（可选）", "Local summary (optional)"),
    "library.pull_now": ("转载为草稿", "Pull as a draft"),
    "library.none": ("云稿库中没有符合条件的稿件", "No library item matches"),
    "done.pulled": ("已转载为本单位草稿，修改后送审即可", "Pulled as a draft of your org: edit it, then submit it"),
    "users.title": ("用户管理", "Users"),
    "users.name": ("登录名", "Login name"),
    "users.org": ("所属机构", "Org"),
    "users.org_hint": ("留空为全省用户", "Empty: province-wide"),
    "users.province": ("全省", "Province-wide"),
    "users.roles": ("角色", "Roles"),
    "users.stage": ("审级（审核人）", "Review stage (reviewers)"),
    "users.no_stage": ("无", "None"),
    "users.state": ("状态", "State"),
    "users.enabled": ("启用", "Active"),
    "users.disabled": ("已停用", "Disabled"),
    "users.disable": ("停用", "Disable"),
    "users.enable": ("启用", "Enable"),
    "users.new": ("新建用户", "New user"),
    "users.password": ("初始密码（至少10位）", "First password (10 characters or more)"),
    "users.create": ("创建", "Create"),
    "users.created": ("用户 {name} 已创建，可用密码登录。", "User {name} created; they can sign in with the password."),
    "users.token_once": ("API 令牌仅显示这一次，如需调用接口请妥善保存：",
                         "The API token is shown this once; keep it if they will call the API:"),
    "done.user_disabled": ("已停用 {name}", "{name} disabled"),
    "done.user_enabled": ("已启用 {name}", "{name} enabled"),
    "done.account_saved": ("账号台账已更新", "Account saved"),
    # matrices
    "matrices.title": ("账号矩阵", "Account matrices"),
    "matrices.intro": ("矩阵是跨机构的账号分组（如“交通微矩阵”），推送时可直接选择。",
                       "A matrix is a named cross-org group of accounts (e.g. a transport "
                       "matrix) that a push can name."),
    "matrices.none": ("还没有矩阵", "No matrices yet"),
    "matrix.slug": ("代码（小写字母、数字、- 和 _）", "Slug (lower-case letters, digits, - and _)"),
    "matrix.name": ("名称", "Name"),
    "matrix.owner": ("创建机构", "Owner org"),
    "matrix.orgs": ("包含的机构（含下级，空格或顿号分隔）",
                    "Orgs included, with everything below (separated by spaces or 、)"),
    "matrix.platforms": ("限定平台（不选为全部平台，只作用于机构）",
                         "Only these platforms (none ticked: all; applies to the orgs)"),
    "matrix.accounts": ("单独加入的账号 id（每行一个）", "Accounts added one by one (ids, one per line)"),
    "matrix.accounts_many": ("单独加入的账号超过{limit}个，请通过接口修改；此处保存不改变它们。",
                             "More than {limit} accounts are named one by one: change them "
                             "through the API; saving here leaves them as they are."),
    "matrix.explicit": ("单独加入", "Named one by one"),
    "matrix.count": ("账号总数", "Accounts"),
    "matrix.new": ("新建矩阵", "New matrix"),
    "matrix.create": ("创建", "Create"),
    "matrix.edit": ("编辑矩阵", "Edit matrix"),
    "matrix.save": ("保存", "Save"),
    "matrix.delete": ("删除矩阵", "Delete matrix"),
    "matrix.delete_note": ("删除矩阵不影响其中的账号和已完成的推送。",
                           "Deleting a matrix leaves its accounts and past pushes as they are."),
    "done.matrix_created": ("矩阵“{name}”已创建，共{n}个账号", "Matrix {name} created: {n} accounts"),
    "done.matrix_saved": ("矩阵“{name}”已保存，共{n}个账号", "Matrix {name} saved: {n} accounts"),
    "done.matrix_deleted": ("矩阵 {slug} 已删除", "Matrix {slug} deleted"),
    # negative list
    "safety.title": ("负面清单", "Negative list"),
    "safety.version": ("第{version}版", "Version {version}"),
    "safety.term_count": ("{n}个词条", "{n} terms"),
    "safety.terms": ("词条", "Terms"),
    "safety.format": ("每行一个词条：词语,类别,动作。类别写代码或下表中的名称；动作为“禁止”或“提示”（也可写 block、warn），"
                      "不写则取类别的默认动作。以 # 开头的行是注释。保存后为新的一版，并立即重新筛查在线稿件。",
                      "One term per line: word,category,action. The category is a code or a "
                      "name from the table below; the action is block or warn (or 禁止, 提示), "
                      "the category's default when left out. Lines starting with # are "
                      "comments. Saving makes the next version and rescans the live items."),
    "safety.names": ("规范名称（每行一个，用于发现错别字）",
                     "Canonical names (one per line, for catching misspellings)"),
    "safety.save": ("保存为第{version}版", "Save as version {version}"),
    "safety.categories": ("类别", "Categories"),
    "safety.code": ("代码", "Code"),
    "safety.category": ("类别", "Category"),
    "safety.default_action": ("默认动作", "Default action"),
    "safety.rescan": ("重新筛查在线稿件", "Rescan the live items"),
    "safety.rescan_result": ("筛查了{scanned}篇在线稿件，{matched}篇命中负面清单",
                             "{scanned} live items scanned, {matched} hit the list"),
    "safety.rescan_note": ("点开稿件即可一键撤稿（全部平台、全部账号、全部转载）。",
                           "Open an item to withdraw it everywhere in one click."),
    "safety.live": ("在线发布", "Live copies"),
    "safety.hits": ("命中", "Hits"),
    "safety.truncated": ("只列出前{n}篇", "Only the first {n} are listed"),
    "safety.line": ("第{line}行：", "Line {line}: "),
    "safety.line_shape": ("格式应为“词语,类别,动作”", "write it as word,category,action"),
    "safety.line_category": ("没有类别“{value}”", "there is no category \"{value}\""),
    "safety.line_action": ("动作“{value}”应为“禁止”或“提示”", "action \"{value}\" must be block or warn"),
    "done.safety_saved": ("负面清单已保存为第{version}版，共{n}个词条",
                          "Negative list saved as version {version}: {n} terms"),
    # import
    "import.title": ("批量导入", "Import"),
    "import.intro": ("上传 CSV 表格（UTF-8，第一行为列名）或 JSON 文件，格式与 yunchu import 相同。"
                     "同名的机构或账号会被更新；任何一行有误则整批不导入，并指出是第几行。",
                     "Upload a CSV sheet (UTF-8, column names in the first row) or a JSON file, "
                     "as yunchu import reads them. Orgs and accounts of the same name are "
                     "updated; if any row is wrong nothing is imported and the line is named."),
    "import.orgs": ("导入机构", "Import orgs"),
    "import.accounts": ("导入账号（统一台账）", "Import accounts (ledger)"),
    "import.orgs_columns": ("列：slug（代码）、name（名称）、kind（province/city/county/department）、"
                            "parent（上级代码，上级须在前）。只能导入本机构及下级范围内的机构。",
                            "Columns: slug, name, kind (province/city/county/department), "
                            "parent (the parent's slug; parents first). Only orgs within your "
                            "own subtree."),
    "import.accounts_columns": ("列：org、platform（weibo/wechat/douyin/cityapp）、name，"
                                "凭据写在 credentials.<键> 列（如 credentials.appid），"
                                "台账列 responsible_person、chief_editor、managing_department、"
                                "filing_number、filing_date。凭据加密保存，页面不会显示。",
                                "Columns: org, platform (weibo/wechat/douyin/cityapp), name; "
                                "credentials in credentials.<key> columns (e.g. "
                                "credentials.appid); ledger columns responsible_person, "
                                "chief_editor, managing_department, filing_number, filing_date. "
                                "Credentials are stored sealed and never shown."),
    "import.file": ("文件（.csv 或 .json）", "File (.csv or .json)"),
    "import.submit": ("导入", "Import"),
    "import.no_file": ("请选择要导入的文件", "Choose a file to import"),
    "import.empty": ("文件中没有数据行", "The file holds no rows"),
    "import.not_utf8": ("文件不是 UTF-8 编码，请在表格软件中另存为“CSV UTF-8”",
                        "The file is not UTF-8; save it as CSV UTF-8"),
    "import.too_big": ("文件超过{mb} MB", "The file is larger than {mb} MB"),
    "import.entry": ("第{n}项：", "Entry {n}: "),
    "done.imported": ("导入完成：新建{created}个，更新{updated}个",
                      "Imported: {created} created, {updated} updated"),
    # tasks
    "tasks.title": ("人工任务", "Manual tasks"),
    "tasks.open": ("待办", "Open"),
    "tasks.done": ("已完成", "Done"),
    "tasks.none": ("没有任务", "No tasks"),
    "task.title": ("任务", "Task"),
    "task.org": ("责任机构", "Owner org"),
    "task.deadline": ("期限", "Deadline"),
    "task.overdue": ("已超期", "overdue"),
    "task.state": ("状态", "State"),
    "task.note": ("处理说明", "Note"),
    "task.mark_done": ("标记完成", "Mark done"),
    # audit
    "audit.title": ("审计日志", "Audit log"),
    "audit.at": ("时间", "Time"),
    "audit.actor": ("操作人", "Actor"),
    "audit.org": ("机构", "Org"),
    "audit.action": ("操作", "Action"),
    "audit.target": ("对象", "Target"),
    "audit.outcome": ("结果", "Outcome"),
    "audit.source": ("来源地址", "Source address"),
    "audit.details": ("详情", "Details"),
    "audit.item": ("稿件 id", "Item id"),
    "audit.none": ("没有符合条件的记录", "No entries match"),
    # writing
    "compose.new": ("写稿", "New article"),
    "compose.edit": ("修改稿件", "Edit item"),
    "compose.new_version": ("保存后为第{version}版。", "Saving makes version {version}."),
    "compose.back_to_review": ("送审中或已通过的稿件改动后退回草稿，需重新三审。",
                               "An item in review or approved goes back to draft and needs "
                               "the three reviews again."),
    "compose.org": ("所属机构", "Owner org"),
    "compose.org_default": ("默认为本人所属机构", "Default: your own org"),
    "compose.title": ("标题（必填）", "Title (required)"),
    "compose.summary": ("摘要", "Summary"),
    "compose.author": ("作者", "Author"),
    "compose.source": ("来源", "Source"),
    "compose.body": ("正文（HTML）", "Body (HTML)"),
    "compose.body_note": ("脚本、外链图片和不安全的属性会被清除。",
                          "Scripts, outside images and unsafe attributes are removed."),
    "compose.cover": ("封面图（JPEG、PNG、GIF 或 WebP）", "Cover image (JPEG, PNG, GIF or WebP)"),
    "compose.kind": ("稿件类型", "Kind"),
    "compose.video": ("视频文件（视频稿件必填，MP4）", "Video file (required for a video, MP4)"),
    "compose.video_kept": ("不选新视频则保留现有视频。", "Without a new file the current video stays."),
    "compose.uploaded": ("已上传的文件会随本次保存使用，无需重新选择。",
                         "The file already uploaded is used when you save; no need to choose it again."),
    "compose.cover_kept": ("不选新图则保留现有封面。", "Without a new file the current cover stays."),
    "compose.tags": ("标签（用顿号或空格分隔）", "Tags (separated by 、 or spaces)"),
    "compose.shared": ("共享到云稿库，供各县区转载", "Share to the library for counties to pull"),
    "compose.save": ("保存草稿", "Save draft"),
    "done.saved": ("已保存（第{version}版）", "Saved (version {version})"),
    "done.removed_media": ("正文中有{n}个外部图片或视频不是本平台素材，已删除，请先上传为素材再插入：{urls}",
                           "{n} external image(s) or video(s) in the body are not hub assets and "
                           "were removed; upload them as assets first: {urls}"),
    # shared
    "common.cancel": ("取消", "Cancel"),
    "common.filter": ("筛选", "Filter"),
    "common.next": ("下一页", "Next page"),
    "common.first": ("第一页", "First page"),
    "common.none": ("—", "—"),
    "common.back": ("返回概览", "Back to the dashboard"),
    "common.view": ("查看", "View"),
    "common.id": ("编号", "Id"),
    "common.count": ("数量", "Count"),
    # errors
    "error.title": ("出错了", "Something went wrong"),
    "error.400": ("请求有误", "Bad request"),
    "error.401": ("请先登录", "Please log in"),
    "error.403": ("无权访问", "Not allowed"),
    "error.404": ("找不到页面", "Not found"),
    "error.405": ("不支持该操作", "Not supported"),
    "error.409": ("当前状态不允许此操作", "Not possible in this state"),
    "error.410": ("已撤回", "Gone"),
    "error.413": ("内容过大", "Too large"),
    "error.415": ("请求格式不受支持", "Unsupported request"),
    "error.422": ("填写的内容不符合规则", "Some input breaks a rule"),
    "error.429": ("操作过于频繁", "Too many requests"),
    "error.500": ("服务器内部错误，已记录，请稍后再试", "Internal error (logged); please try again"),
    "error.csrf": ("页面已过期或来源不明，请刷新页面后重试",
                   "The page has expired or did not come from this site; reload and try again"),
    "error.not_found": ("找不到该页面或记录", "No such page or record"),
}

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "item_status": {
        "draft": ("草稿", "draft"), "in_review": ("审核中", "in review"),
        "approved": ("已通过", "approved"), "withdrawn": ("已撤回", "withdrawn"),
    },
    "kind": {"article": ("图文", "article"), "video": ("视频", "video")},
    "delivery": {
        "scheduled": ("定时待发", "scheduled"), "queued": ("排队中", "queued"),
        "sending": ("发送中", "sending"), "retry": ("等待重试", "retry due"),
        "unknown": ("结果待确认", "outcome unknown"), "published": ("已发布", "published"),
        "pending_review": ("平台审核中", "platform reviewing"), "failed": ("失败", "failed"),
        "cancelled": ("已取消", "cancelled"), "skipped": ("已跳过", "skipped"),
        "withdraw_queued": ("撤稿排队中", "withdrawal queued"),
        "withdrawing": ("撤稿中", "withdrawing"), "withdraw_retry": ("撤稿待重试", "withdrawal retry"),
        "manual": ("需人工删除", "manual removal"), "withdrawn": ("已撤下", "withdrawn"),
    },
    "platform": {
        "weibo": ("微博", "Weibo"), "wechat": ("微信公众号", "WeChat"),
        "douyin": ("抖音", "Douyin"), "cityapp": ("城市客户端", "City app"),
    },
    "account_status": {
        "active": ("正常", "active"), "suspended": ("暂停", "suspended"),
        "closed": ("已关闭", "closed"),
    },
    "role": {
        "admin": ("管理员", "administrator"), "editor": ("编辑", "editor"),
        "reviewer": ("审核", "reviewer"), "operator": ("运营", "operator"),
        "auditor": ("审计", "auditor"),
    },
    "stage": {"1": ("初审", "first review"), "2": ("复审", "second review"),
              "3": ("终审", "final review")},
    "decision": {"approve": ("通过", "approved"), "reject": ("退回", "rejected")},
    "task_state": {"open": ("待办", "open"), "done": ("已完成", "done")},
    "outcome": {"ok": ("成功", "ok"), "failed": ("失败", "failed"),
                "denied": ("拒绝", "denied"), "throttled": ("限流", "throttled")},
    "safety": {"block": ("禁止", "block"), "warn": ("提示", "warn")},
    "inspection": {
        "not_updated": ("超期未更新", "not updated in the window"),
        "zombie": ("僵尸账号", "zombie account"),
        "ledger_incomplete": ("备案信息不全", "ledger incomplete"),
        "credentials_rejected": ("凭据失效", "credentials rejected"),
    },
}


def current_lang() -> str:
    lang = getattr(g, "lang", None) if has_request_context() else None
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, **values: Any) -> str:
    pair = TEXT.get(key)
    if pair is None:
        return key
    text = pair[LANGS.index(current_lang())]
    return text.format(**values) if values else text


def label(group: str, value: Any) -> str:
    pair = LABELS.get(group, {}).get(str(value))
    if pair is None:
        return "" if value is None else str(value)
    return pair[LANGS.index(current_lang())]


_BILINGUAL = re.compile(r"^(?P<zh>.*?\S)\s+\((?P<en>[^()]*[A-Za-z][^()]*)\)\s*$", re.S)


def refusal(answer: ApiAnswer) -> str:
    """What to tell the user about a refused API call: its message in their language, or
    the generic text of its status."""
    return localise(answer.message) or t(f"error.{answer.status}")


def localise(message: str | None) -> str:
    """One language out of an API message written as "中文 (English)"."""
    if not message:
        return ""
    match = _BILINGUAL.match(message)
    if match is None:
        return message
    if current_lang() == "zh":
        return match["zh"]
    return match["en"] if match["en"].isascii() else message
