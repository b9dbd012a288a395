"""The registry's own commands: the app, workspaces, demo data, checks, JSON Lines, users, households, audit."""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from povdesk.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    AddCommand,
    CommandParser,
    add_workers_option,
    check_new_password,
    clock_of,
    credentials,
    db_path,
    emit_json,
    find_household,
    language,
    login,
    open_workspace,
    out,
    t,
)
from povdesk.errors import BadInput, NotPermitted
from povdesk.i18n import Text

# `povdesk app` starts the desktop app by module name, so the CLI never imports the UI package:
# the import graph stays one way (tests/test_project.py) and only this command loads Qt.
# The frozen build bundles the module through packaging/launch_app.py and its hidden imports.
APP_MODULE = "povdesk.ui.app"


def cmd_init(args: argparse.Namespace) -> int:
    from povdesk.core.regions import validate_workspace_region
    from povdesk.store import Workspace

    level, _region = validate_workspace_region(args.region)
    user, password = credentials(t("（管理员）", " (administrator)"))
    check_new_password(password)
    ws = Workspace.create(Path(args.db), region_code=args.region, name=args.name, level=level,
                          admin_user=user, admin_password=password, encrypted=not args.plain)
    out(t(f"已创建{_level_zh(level)}工作区 {args.db}（{args.region} {args.name}），管理员 {user}",
          f"created a {level} workspace {args.db} ({args.region} {args.name}), administrator {user}"))
    ws.close()
    return EXIT_OK


def _level_zh(level: str) -> str:
    return {"village": "村级", "township": "乡镇级", "county": "县级"}.get(level, level)


def cmd_demo(args: argparse.Namespace) -> int:
    from povdesk.core.demo import DEMO_PASSWORD, DEMO_REGION, generate, plant_mistakes
    from povdesk.core.permissions import require
    from povdesk.core.regions import validate_workspace_region
    from povdesk.store import Workspace
    from povdesk.store.demo import NOT_A_DEMO, ensure_demo_users

    path = db_path(args.db)
    if args.households < 1 or args.households > 1_000_000:
        raise BadInput(Text("户数应在 1～1000000 之间", "--households must be between 1 and 1,000,000"))
    created = not path.exists()
    if created:
        region = args.region or DEMO_REGION
        level, _ = validate_workspace_region(region)
        path.parent.mkdir(parents=True, exist_ok=True)
        Workspace.create(path, region_code=region, name=args.name or t("演示工作区", "Demo workspace"),
                         level=level, admin_user="admin", admin_password=DEMO_PASSWORD, demo=True,
                         encrypted=not args.plain).close()
    ws = Workspace.open(path, clock=clock_of(args))
    try:
        if not ws.demo:  # before any login: nothing about a real workspace is asked or touched
            raise NotPermitted(NOT_A_DEMO, where=str(path))
        actor = ws.authenticate("admin", DEMO_PASSWORD) if created else login(ws)
        require(actor.role, "generate_demo")
        writer = ensure_demo_users(ws, actor, DEMO_PASSWORD) if actor.role == "admin" else actor
        households = generate(ws.region_code, count=args.households, seed=args.seed, today=ws.clock.today())
        mistakes = plant_mistakes(households, seed=args.seed)
        ws.import_households(households, writer, source="demo")
    finally:
        ws.close()
    people = sum(len(h.members) for h in households)
    out(t(f"工作区 {path}：已生成 {len(households)} 户 {people} 人，其中有意设置了 {len(mistakes)} 处错误"
          "（见 docs/demo.md），povdesk validate 应当逐一找出",
          f"workspace {path}: generated {len(households)} households, {people} people, with {len(mistakes)} "
          "planted mistakes (docs/demo.md) that povdesk validate must find"))
    if created:
        out(t(f"演示账号 admin、worker、township、county，密码均为 {DEMO_PASSWORD}",
              f"demo accounts admin, worker, township, county; password {DEMO_PASSWORD}"))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from povdesk.core.rules import summarize_findings, validate_all
    from povdesk.store.thresholds import rule_context

    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        findings = list(validate_all(ws.iter_households(events=False), rule_context(ws)))
        households = ws.count_households()
    finally:
        ws.close()
    summary = summarize_findings(findings)
    summary["households_checked"] = households
    if args.json:
        emit_json({"summary": summary, "findings": [f.to_dict() for f in findings]})
    else:
        lang = language()
        for f in findings:
            mark = {"error": t("错误", "error"), "warning": t("警告", "warning")}[f.severity]
            where = f.household_no + (f" {f.field}" if f.field else "")
            note = t("（已说明）", " (explained)") if f.explained else ""
            out(f"{mark}\t{f.rule}\t{where}\t{f.message.get(lang)}{note}")
        out(t(f"检查 {households} 户：{summary['errors']} 个错误，{summary['warnings']} 个警告，"
              f"涉及 {summary['households']} 户",
              f"checked {households} households: {summary['errors']} errors, {summary['warnings']} warnings "
              f"in {summary['households']} households"))
    return EXIT_FINDINGS if summary["errors"] or summary["warnings"] else EXIT_OK


def cmd_export_json(args: argparse.Namespace) -> int:
    from povdesk.core.exchange import write_jsonl

    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        target = Path(args.output)
        tmp = target.with_name(target.name + ".part")
        try:
            with tmp.open("w", encoding="utf-8", newline="\n") as fh:
                n = write_jsonl(ws.iter_households(), fh)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise BadInput(Text(f"无法写入文件：{exc.strerror}", f"cannot write the file: {exc.strerror}"),
                           where=str(target)) from None
    finally:
        ws.close()
    out(t(f"已导出 {n} 户到 {target}", f"exported {n} households to {target}"))
    return EXIT_OK


def cmd_import_json(args: argparse.Namespace) -> int:
    from povdesk.ops.importing import decision_pool, import_jsonl

    path = Path(args.file)
    ws = open_workspace(args)
    try:
        actor = login(ws)  # before reading anything: the prompt comes at once, whatever the file's size
        with decision_pool([path], args.workers) as pool:
            result = import_jsonl(ws, actor, path, executor=pool, lookahead=max(1, args.workers or 1))
    finally:
        ws.close()
    report, flagged, summary = result.report, result.flagged, result.summary()
    lines, imported, rejected, with_findings = summary["lines"], summary["imported"], summary["rejected"], \
        summary["with_findings"]
    if args.json:  # written entry by entry: a county's report is never whole in memory
        head = json.dumps({"file": str(path), "summary": summary, "cross_findings": flagged}, ensure_ascii=False,
                          indent=2)
        write = sys.stdout.write
        write(head[:-2] + ',\n  "households": [')
        for i, entry in enumerate(report):
            write(("\n    " if i == 0 else ",\n    ") + json.dumps(entry, ensure_ascii=False))
        write("\n  ]\n}\n")
    else:
        lang = language()
        for entry in report:
            for r in entry.get("reasons", []):
                out(f"{path.name}:{entry['line']}\t{t('拒绝', 'rejected')}\t{r[lang]}")
            for f in entry.get("findings", []):
                out(f"{path.name}:{entry['line']}\t{f['rule']}\t{f['message'][lang]}")
        for f in flagged:
            out(f"{f['household_no']}\t{f['rule']}\t{f['message'][lang]}")
        out(t(f"共 {lines} 户：导入 {imported}（其中 {with_findings} 户有待改问题），拒绝 {rejected}，"
              f"跨户问题 {len(flagged)}",
              f"{lines} households: {imported} imported ({with_findings} with findings to fix), "
              f"{rejected} rejected, {len(flagged)} flagged across households"))
    return EXIT_FINDINGS if rejected or flagged or with_findings else EXIT_OK


def cmd_users(args: argparse.Namespace) -> int:
    ws = open_workspace(args, readonly=args.users_cmd == "list")
    try:
        actor = login(ws)
        if args.users_cmd == "list":
            users = ws.list_users()
            if args.json:
                emit_json([{"name": u.name, "role": u.role, "display_name": u.display_name, "active": u.active}
                           for u in users])
            else:
                for u in users:
                    state = t("启用", "active") if u.active else t("停用", "disabled")
                    out(f"{u.name}\t{u.role}\t{u.display_name}\t{state}")
        elif args.users_cmd == "add":
            password = _new_password(args)
            ws.add_user(actor, args.name, password, args.role, args.display_name or "")
            out(t(f"已添加用户 {args.name}（{args.role}）", f"added user {args.name} ({args.role})"))
        elif args.users_cmd == "passwd":
            ws.set_password(actor, args.name, _new_password(args))
            out(t(f"已修改 {args.name} 的密码", f"changed the password of {args.name}"))
        elif args.users_cmd == "disable":
            ws.disable_user(actor, args.name)
            out(t(f"已停用 {args.name}", f"disabled {args.name}"))
    finally:
        ws.close()
    return EXIT_OK


def _new_password(args: argparse.Namespace) -> str:
    password = os.environ.get("POVDESK_NEW_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise BadInput(Text("请通过 POVDESK_NEW_PASSWORD 提供新密码", "give the new password in POVDESK_NEW_PASSWORD"))
        password = getpass.getpass(t(f"{args.name} 的新密码：", f"New password for {args.name}: "))
        if getpass.getpass(t("再输入一次：", "Again: ")) != password:
            raise BadInput(Text("两次输入的密码不一致", "the passwords differ"))
    check_new_password(password)
    return password


def cmd_audit(args: argparse.Namespace) -> int:
    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        # Every page read back first (SQLCipher's HMAC on an encrypted workspace): the chain of a
        # damaged file is not worth following.
        problems = ws.check_integrity()
        if not problems:
            problems = ws.verify_audit()
    finally:
        ws.close()
    if args.json:
        emit_json({"ok": not problems, "problems": [p.as_dict() for p in problems]})
    else:
        for p in problems:
            out(p.get(language()))
        out(t("审计日志完整，未被改动" if not problems else f"审计日志发现 {len(problems)} 处问题",
              "the audit log is intact" if not problems else f"{len(problems)} problems in the audit log"))
    return EXIT_FINDINGS if problems else EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    app_main: Callable[[Sequence[str]], int] = importlib.import_module(APP_MODULE).main  # loads Qt

    argv = [*(["--demo"] if args.demo else []), *(["--portable"] if args.portable else []),
            *(["--data-dir", args.data_dir] if args.data_dir else []),
            *(["--workspace", args.workspace] if args.workspace else []),
            *(["--lang", args.lang] if args.lang else []),
            *(["--today", args.clock.today().isoformat()] if getattr(args, "clock", None) else [])]
    return app_main(argv)


def cmd_rules(args: argparse.Namespace) -> int:
    from povdesk.core.rules import RULES

    if args.json:
        emit_json([{"id": r.id, "reach": r.reach, "severity": r.severity, "zh": r.zh, "en": r.en,
                    "blocks": list(r.blocks)} for r in RULES.values()])
    else:
        every = t("全部程序", "every procedure")
        for r in RULES.values():
            blocks = "" if r.severity != "error" else (every if "*" in r.blocks else ",".join(r.blocks))
            out(f"{r.id}\t{r.reach}\t{r.severity}\t{blocks}\t{r.en if language() == 'en' else r.zh}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from povdesk.core.idnumber import mask

    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        hits = ws.search(args.query, limit=args.limit)
    finally:
        ws.close()
    rows = [{"household_no": h.household_no, "name": h.name, "id_number": mask(h.id_number) if h.id_number else "",
             "village_code": h.village_code, "matched_on": h.matched_on, "household_id": h.household_id}
            for h in hits]
    if args.json:
        emit_json(rows)
    else:
        for r in rows:
            out(f"{r['household_no']}\t{r['name']}\t{r['id_number']}\t{r['matched_on']}")
    return EXIT_OK if hits else EXIT_FINDINGS


def cmd_history(args: argparse.Namespace) -> int:
    from povdesk.core.procedures import history, next_steps

    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        hh = find_household(ws, args.household)
    finally:
        ws.close()
    lang = language()
    for entry in history(hh):
        e = entry.event
        line = f"{e.date}\t{entry.label.get(lang)}\t{e.user} ({e.role})\t{e.id}"
        if entry.voided is not None:
            v = entry.voided
            line += t(f"\t已作废（{v.date}，{v.user}：{v.evidence.get('reason', '')}）",
                      f"\tvoided ({v.date}, {v.user}: {v.evidence.get('reason', '')})")
        out(line)
    for spec, step in next_steps(hh):
        out(t(f"下一步：{spec.zh} · {step.zh}（{', '.join(step.roles)}）",
              f"next: {spec.en} · {step.en} ({', '.join(step.roles)})"))
    return EXIT_OK


def cmd_step(args: argparse.Namespace) -> int:
    from povdesk.ops.procedures import evidence_from_text, record_step

    raw: dict[str, str] = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(Text(f"证据应写成 键=值：“{item}”", f"evidence must be key=value: '{item}'"))
        raw[key.strip()] = value.strip()
    ws = open_workspace(args)
    try:
        actor = login(ws)
        hh = find_household(ws, args.household)
        done = record_step(ws, actor, hh, args.procedure, args.step, date=args.date,
                           evidence=evidence_from_text(args.procedure, args.step, raw))
    finally:
        ws.close()
    no = done.household.household_no
    out(t(f"已记录：{no} {args.procedure}/{args.step}，状态 {done.status}",
          f"recorded: {no} {args.procedure}/{args.step}, status {done.status}"))
    return EXIT_OK


def cmd_step_void(args: argparse.Namespace) -> int:
    from povdesk.ops.procedures import void_step

    ws = open_workspace(args)
    try:
        actor = login(ws)
        hh = find_household(ws, args.household)
        done = void_step(ws, actor, hh, args.event, reason=args.reason, date=args.date)
    finally:
        ws.close()
    no = done.household.household_no
    out(t(f"已作废：{no} 的步骤 {args.event}，状态 {done.status}",
          f"voided: step {args.event} of {no}, status {done.status}"))
    return EXIT_OK


def cmd_move(args: argparse.Namespace) -> int:
    from povdesk.ops.households import move_household

    ws = open_workspace(args)
    try:
        actor = login(ws)
        hh = find_household(ws, args.household)
        done = move_household(ws, actor, hh, args.village, args.reason)
    finally:
        ws.close()
    out(t(f"已迁户：{hh.household_no} → 村 {done.village_code}，新户编号 {done.household_no}；原村在下一个回传包中得到通知",
          f"moved: {hh.household_no} → village {done.village_code}, new number {done.household_no}; the old "
          f"village is told in its next return bundle"))
    return EXIT_OK


def cmd_void(args: argparse.Namespace) -> int:
    from povdesk.ops.households import void_household

    ws = open_workspace(args)
    try:
        actor = login(ws)
        hh = find_household(ws, args.household)
        void_household(ws, actor, hh, args.reason)
    finally:
        ws.close()
    out(t(f"已作废：{hh.household_no}（保留在工作区，不再计入名单、统计和报表；povdesk restore 由县里恢复）",
          f"voided: {hh.household_no} (kept in the workspace, left out of lists, counts and reports; the county may "
          f"restore it with povdesk restore)"))
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from povdesk.ops.households import restore_household

    ws = open_workspace(args)
    try:
        actor = login(ws)
        hh = find_household(ws, args.household)
        restore_household(ws, actor, hh, args.reason)
    finally:
        ws.close()
    out(t(f"已恢复：{hh.household_no}", f"restored: {hh.household_no}"))
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add these subcommands: add(name, func, help_zh, help_en) returns the subparser."""
    sp = add("app", cmd_app, "打开桌面程序", "open the desktop app")
    sp.add_argument("--demo", action="store_true", help=t("打开演示工作区（首次自动生成一个合成的村）",
                                                          "open a demo workspace (a synthetic village, made on first use)"))
    sp.add_argument("--data-dir", help=t("数据目录（工作区、草稿、设置、日志）", "data directory (workspaces, drafts, settings, logs)"))
    sp.add_argument("--portable", action="store_true", help=t("数据放在程序旁（U 盘便携）", "keep data beside the program (USB stick)"))
    sp.add_argument("--workspace", help=t("打开此工作区文件", "open this workspace file"))
    sp.add_argument("--lang", choices=["zh", "en"], help=t("界面语言", "interface language"))

    sp = add("init", cmd_init, "创建工作区及其管理员账号", "create a workspace and its administrator")
    sp.add_argument("db", metavar="DB", help=t("工作区文件路径", "workspace file"))
    sp.add_argument("--region", required=True, metavar="CODE",
                    help=t("12 位村、9 位乡镇或 6 位县级区划代码", "12-digit village, 9-digit township or 6-digit county code"))
    sp.add_argument("--name", required=True, help=t("工作区名称（如村名）", "workspace name (e.g. the village)"))
    plain_help = t("不加密（默认加密，见 docs/security.md）：只用于演示、测试和基准，这样的文件谁拿到都能读",
                   "do not encrypt (encrypted by default, see docs/security.md): for demos, tests and benchmarks "
                   "only; anyone who gets such a file can read it")
    sp.add_argument("--plain", action="store_true", help=plain_help)

    db_help = t("工作区文件（默认：用户数据目录下的 workspace.db）",
                "workspace file (default: workspace.db in the user data directory)")
    sp = add("demo", cmd_demo, "用合成的演示数据填充工作区（不存在则新建）",
             "fill a workspace (created if missing) with a synthetic demo village or county")
    sp.add_argument("db", metavar="DB", nargs="?", help=db_help)
    sp.add_argument("--households", type=int, default=300, metavar="N", help=t("户数（默认 300）", "households (default 300)"))
    sp.add_argument("--seed", type=int, default=1, metavar="S", help=t("随机种子（默认 1）", "random seed (default 1)"))
    sp.add_argument("--region", metavar="CODE", help=t("新建工作区时的区划代码", "region code when creating the workspace"))
    sp.add_argument("--name", help=t("新建工作区时的名称", "name when creating the workspace"))
    sp.add_argument("--plain", action="store_true", help=plain_help)

    sp = add("validate", cmd_validate, "按全部规则检查工作区", "check the workspace against every rule")
    sp.add_argument("db", metavar="DB", nargs="?", help=db_help)
    sp.add_argument("--json", action="store_true", help=t("以 JSON 输出（见 README）", "output JSON (see README)"))

    sp = add("export-json", cmd_export_json, "导出为 JSON Lines（每行一户）", "export as JSON Lines, one household per line")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("-o", "--output", required=True, metavar="FILE")

    sp = add("import-json", cmd_import_json, "导入 JSON Lines（在一个事务中：任何一处被拒则全部不导入）",
             "import JSON Lines (in one transaction: refused anywhere, nothing is imported)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("file", metavar="FILE")
    sp.add_argument("--json", action="store_true", help=t("以 JSON 输出报告", "output the report as JSON"))
    add_workers_option(sp)

    sp = add("users", cmd_users, "管理用户账号", "manage user accounts")
    usub = sp.add_subparsers(dest="users_cmd", metavar="ACTION", required=True, parser_class=CommandParser)
    up = usub.add_parser("add", help=t("添加用户（新密码取自 POVDESK_NEW_PASSWORD 或提示输入）",
                                       "add a user (new password from POVDESK_NEW_PASSWORD or a prompt)"))
    up.add_argument("db", metavar="DB")
    up.add_argument("name")
    up.add_argument("--role", required=True,
                    choices=["village_worker", "township_official", "county_coordinator", "admin"])
    up.add_argument("--display-name", default="")
    up = usub.add_parser("list", help=t("列出用户", "list users"))
    up.add_argument("db", metavar="DB")
    up.add_argument("--json", action="store_true")
    up = usub.add_parser("passwd", help=t("修改密码", "change a password"))
    up.add_argument("db", metavar="DB")
    up.add_argument("name")
    up = usub.add_parser("disable", help=t("停用用户", "disable a user"))
    up.add_argument("db", metavar="DB")
    up.add_argument("name")
    sp.set_defaults(func=cmd_users)

    sp = add("rules", cmd_rules, "列出全部校验规则", "list every validation rule")
    sp.add_argument("--json", action="store_true")

    sp = add("search", cmd_search, "按姓名、证件号码、户编号或拼音首字母查找",
             "find people by name, ID number, household number or pinyin initials")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("query", metavar="QUERY")
    sp.add_argument("--limit", type=int, default=20)
    sp.add_argument("--json", action="store_true")

    sp = add("history", cmd_history, "显示一户的程序记录和下一步", "show a household's procedure history and next steps")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("household", metavar="HOUSEHOLD", help=t("户编号或户 ID", "household number or id"))

    sp = add("step", cmd_step, "记录一户的程序步骤（检查角色、日期、证据和错误）",
             "record a procedure step for a household (role, dates, evidence and errors are checked)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("household", metavar="HOUSEHOLD")
    # Any procedure of resources/procedures.toml (the monitoring ones included): an unknown one is
    # refused by the step check, naming those defined.
    sp.add_argument("procedure", metavar="PROCEDURE", help=t("程序，如 identification、exit、removal、"
                                                             "monitoring_identification（povdesk history 列出下一步）",
                                                             "the procedure, e.g. identification, exit, removal, "
                                                             "monitoring_identification (povdesk history lists the "
                                                             "next steps)"))
    sp.add_argument("step", metavar="STEP")
    sp.add_argument("--date", required=True, help=t("步骤发生日期 YYYY-MM-DD", "date of the step, YYYY-MM-DD"))
    sp.add_argument("--set", action="append", metavar="KEY=VALUE", help=t("证据字段，可重复", "evidence field, repeatable"))

    sp = add("step-void", cmd_step_void, "作废一户登记错了的程序步骤（povdesk step void DB 户 步骤ID --reason 原因）",
             "void a mistaken procedure step of a household (povdesk step void DB HOUSEHOLD EVENT --reason TEXT)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("household", metavar="HOUSEHOLD", help=t("户编号或户 ID", "household number or id"))
    sp.add_argument("event", metavar="EVENT", help=t("步骤 ID（povdesk history 列出）", "the step's id (listed by "
                                                     "povdesk history)"))
    sp.add_argument("--reason", required=True, help=t("作废原因", "why the step is voided"))
    sp.add_argument("--date", help=t("作废日期 YYYY-MM-DD，默认今天", "date of the void, YYYY-MM-DD; today by default"))

    sp = add("move", cmd_move, "县：把一户迁到本县另一个村（新户编号，原村得到通知）",
             "county: move a household to another village of the county (new number; the old village is told)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("household", metavar="HOUSEHOLD", help=t("户编号或户 ID", "household number or id"))
    sp.add_argument("--village", required=True, metavar="CODE", help=t("迁入村的 12 位代码", "the 12-digit code of "
                                                                       "the village it moves to"))
    sp.add_argument("--reason", required=True, help=t("迁户原因（记入审计）", "why (kept in the audit log)"))

    sp = add("void", cmd_void, "作废一户登记错了的户（保留并标记，写明原因，随同步包上报）",
             "void a household registered by mistake (kept and marked, with the reason; carried in bundles)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("household", metavar="HOUSEHOLD", help=t("户编号或户 ID", "household number or id"))
    sp.add_argument("--reason", required=True, help=t("作废原因（记入审计）", "why (kept in the audit log)"))

    sp = add("restore", cmd_restore, "县：恢复一户作废的户", "county: restore a voided household")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("household", metavar="HOUSEHOLD", help=t("户编号或户 ID", "household number or id"))
    sp.add_argument("--reason", required=True, help=t("恢复原因（记入审计）", "why (kept in the audit log)"))

    sp = add("audit", cmd_audit, "校验审计日志的哈希链", "verify the hash chain of the audit log")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("--json", action="store_true")

