"""The `povdesk` command: thin commands over core, store and exchange.

Exit codes: 0 done, 1 findings or rejected items, 2 bad input or usage (one line on stderr).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from povdesk import __version__
from povdesk.clock import SYSTEM_CLOCK, Clock, parse_today
from povdesk.errors import AuthError, BadInput, PovdeskError
from povdesk.i18n import Text, current_language

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class UsageError(BadInput):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(Text(f"用法错误：{message}（见 {self.prog} --help）",
                              f"usage: {message} (see {self.prog} --help)"))


def _lang() -> str:
    return current_language()


def _t(zh: str, en: str) -> str:
    return en if _lang() == "en" else zh


def _out(text: str) -> None:
    print(text)


def _emit_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


# ---------------------------------------------------------------- workspace and user

def default_workspace() -> Path:
    """The embedded default: workspace.db in the user data directory (or POVDESK_DATA_DIR)."""
    from povdesk.paths import user_data_dir

    return user_data_dir() / "workspace.db"


def _db_path(value: str | None) -> Path:
    return Path(value) if value else default_workspace()


def _clock(args: argparse.Namespace) -> Clock:
    """The clock of this run: --today fixes the date, otherwise the system's."""
    return getattr(args, "clock", None) or SYSTEM_CLOCK


def _open(args: argparse.Namespace, *, readonly: bool = False) -> Any:
    """The workspace named by the command's DB argument (or the default), on this run's clock."""
    from povdesk.store import Workspace

    return Workspace.open(_db_path(args.db), readonly=readonly, clock=_clock(args))


def _credentials(prompt_for: str = "") -> tuple[str, str]:
    user = os.environ.get("POVDESK_USER")
    password = os.environ.get("POVDESK_PASSWORD")
    interactive = sys.stdin.isatty()
    if not user:
        if not interactive:
            raise AuthError(Text("请设置 POVDESK_USER 和 POVDESK_PASSWORD 环境变量，或在终端中运行以输入",
                                 "set POVDESK_USER and POVDESK_PASSWORD, or run in a terminal to be asked"))
        user = input(_t(f"用户名{prompt_for}：", f"User name{prompt_for}: ")).strip()
    if password is None:
        if not interactive:
            raise AuthError(Text("请设置 POVDESK_PASSWORD 环境变量", "set POVDESK_PASSWORD"))
        password = getpass.getpass(_t("密码：", "Password: "))
    return user, password


def _login(ws: Any) -> Any:
    user, password = _credentials()
    return ws.authenticate(user, password)


# ---------------------------------------------------------------- commands

def cmd_init(args: argparse.Namespace) -> int:
    from povdesk.core.regions import validate_workspace_region
    from povdesk.store import Workspace

    level, _region = validate_workspace_region(args.region)
    user, password = _credentials(_t("（管理员）", " (administrator)"))
    _check_new_password(password)
    ws = Workspace.create(Path(args.db), region_code=args.region, name=args.name, level=level,
                          admin_user=user, admin_password=password)
    _out(_t(f"已创建{_level_zh(level)}工作区 {args.db}（{args.region} {args.name}），管理员 {user}",
            f"created a {level} workspace {args.db} ({args.region} {args.name}), administrator {user}"))
    ws.close()
    return EXIT_OK


def _level_zh(level: str) -> str:
    return {"village": "村级", "township": "乡镇级", "county": "县级"}.get(level, level)


def _check_new_password(password: str) -> None:
    if len(password) < 4:
        raise BadInput(Text("密码至少 4 个字符", "the password needs at least 4 characters"))


DEMO_ACCOUNTS = (("worker", "village_worker", "演示村级工作人员"),
                 ("township", "township_official", "演示乡镇工作人员"),
                 ("county", "county_coordinator", "演示县级管理员"))


def ensure_demo_users(ws: Any, admin: Any, password: str) -> Any:
    """Demo accounts for each role; households are written under the village worker's name."""
    existing = {u.name for u in ws.list_users()}
    for name, role, display in DEMO_ACCOUNTS:
        if name not in existing:
            ws.add_user(admin, name, password, role, display)
    return next(u for u in ws.list_users() if u.name == "worker")


def cmd_demo(args: argparse.Namespace) -> int:
    from povdesk.core.demo import DEMO_PASSWORD, DEMO_REGION, generate, plant_mistakes
    from povdesk.core.permissions import require
    from povdesk.core.regions import validate_workspace_region
    from povdesk.store import Workspace

    path = _db_path(args.db)
    if args.households < 1 or args.households > 1_000_000:
        raise BadInput(Text("户数应在 1～1000000 之间", "--households must be between 1 and 1,000,000"))
    created = not path.exists()
    if created:
        region = args.region or DEMO_REGION
        level, _ = validate_workspace_region(region)
        path.parent.mkdir(parents=True, exist_ok=True)
        Workspace.create(path, region_code=region, name=args.name or _t("演示工作区", "Demo workspace"),
                         level=level, admin_user="admin", admin_password=DEMO_PASSWORD).close()
    ws = Workspace.open(path, clock=_clock(args))
    try:
        actor = ws.authenticate("admin", DEMO_PASSWORD) if created else _login(ws)
        require(actor.role, "generate_demo")
        writer = ensure_demo_users(ws, actor, DEMO_PASSWORD) if actor.role == "admin" else actor
        households = generate(ws.region_code, count=args.households, seed=args.seed, today=ws.clock.today())
        mistakes = plant_mistakes(households, seed=args.seed)
        ws.import_households(households, writer, source="demo")
    finally:
        ws.close()
    people = sum(len(h.members) for h in households)
    _out(_t(f"工作区 {path}：已生成 {len(households)} 户 {people} 人，其中有意设置了 {len(mistakes)} 处错误"
            "（见 docs/demo.md），povdesk validate 应当逐一找出",
            f"workspace {path}: generated {len(households)} households, {people} people, with {len(mistakes)} "
            "planted mistakes (docs/demo.md) that povdesk validate must find"))
    if created:
        _out(_t(f"演示账号 admin、worker、township、county，密码均为 {DEMO_PASSWORD}",
                f"demo accounts admin, worker, township, county; password {DEMO_PASSWORD}"))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from povdesk.core.rules import RuleContext, summarize_findings, validate_all

    ws = _open(args, readonly=True)
    try:
        _login(ws)
        findings = list(validate_all(ws.iter_households(), RuleContext(today=ws.clock.today())))
        households = ws.count_households()
    finally:
        ws.close()
    summary = summarize_findings(findings)
    summary["households_checked"] = households
    if args.json:
        _emit_json({"summary": summary, "findings": [f.to_dict() for f in findings]})
    else:
        lang = _lang()
        for f in findings:
            mark = {"error": _t("错误", "error"), "warning": _t("警告", "warning")}[f.severity]
            where = f.household_no + (f" {f.field}" if f.field else "")
            note = _t("（已说明）", " (explained)") if f.explained else ""
            _out(f"{mark}\t{f.rule}\t{where}\t{f.message.get(lang)}{note}")
        _out(_t(f"检查 {households} 户：{summary['errors']} 个错误，{summary['warnings']} 个警告，"
                f"涉及 {summary['households']} 户",
                f"checked {households} households: {summary['errors']} errors, {summary['warnings']} warnings "
                f"in {summary['households']} households"))
    return EXIT_FINDINGS if summary["errors"] or summary["warnings"] else EXIT_OK


def cmd_export_json(args: argparse.Namespace) -> int:
    from povdesk.core.exchange import write_jsonl

    ws = _open(args, readonly=True)
    try:
        _login(ws)
        out = Path(args.output)
        tmp = out.with_name(out.name + ".part")
        try:
            with tmp.open("w", encoding="utf-8", newline="\n") as fh:
                n = write_jsonl(ws.iter_households(), fh)
            tmp.replace(out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise BadInput(Text(f"无法写入文件：{exc.strerror}", f"cannot write the file: {exc.strerror}"),
                           where=str(out)) from None
    finally:
        ws.close()
    _out(_t(f"已导出 {n} 户到 {out}", f"exported {n} households to {out}"))
    return EXIT_OK


def cmd_import_json(args: argparse.Namespace) -> int:
    from povdesk.core.importing import JsonImport

    path = Path(args.file)
    with JsonImport(path, _clock(args).today()) as job:
        job.read()  # one malformed line stops everything before any write
        ws = _open(args)
        try:
            actor = _login(ws)
            from povdesk.core.permissions import require

            require(actor.role, "import_records")
            outcome = job.run(ws.households_for_cross_checks, lambda hhs, check: ws.import_households(
                hhs, actor, source=path.name, before_commit=check))
        finally:
            ws.close()
    report, flagged, lines, accepted = outcome.report, outcome.flagged, job.lines, outcome.accepted
    rejected = sum(1 for e in report if e["result"] == "rejected")
    with_findings = sum(1 for e in report if e.get("findings"))
    summary = {"lines": len(lines), "imported": len(accepted), "rejected": rejected,
               "with_findings": with_findings, "flagged": len(flagged)}
    if args.json:
        _emit_json({"file": str(path), "summary": summary, "households": report, "cross_findings": flagged})
    else:
        lang = _lang()
        for entry in report:
            for r in entry.get("reasons", []):
                _out(f"{path.name}:{entry['line']}\t{_t('拒绝', 'rejected')}\t{r[lang]}")
            for f in entry.get("findings", []):
                _out(f"{path.name}:{entry['line']}\t{f['rule']}\t{f['message'][lang]}")
        for f in flagged:
            _out(f"{f['household_no']}\t{f['rule']}\t{f['message'][lang]}")
        _out(_t(f"共 {len(lines)} 户：导入 {len(accepted)}（其中 {with_findings} 户有待改问题），拒绝 {rejected}，"
                f"跨户问题 {len(flagged)}",
                f"{len(lines)} households: {len(accepted)} imported ({with_findings} with findings to fix), "
                f"{rejected} rejected, {len(flagged)} flagged across households"))
    return EXIT_FINDINGS if rejected or flagged or with_findings else EXIT_OK


def cmd_users(args: argparse.Namespace) -> int:
    ws = _open(args, readonly=args.users_cmd == "list")
    try:
        actor = _login(ws)
        if args.users_cmd == "list":
            users = ws.list_users()
            if args.json:
                _emit_json([{"name": u.name, "role": u.role, "display_name": u.display_name, "active": u.active}
                            for u in users])
            else:
                for u in users:
                    state = _t("启用", "active") if u.active else _t("停用", "disabled")
                    _out(f"{u.name}\t{u.role}\t{u.display_name}\t{state}")
        elif args.users_cmd == "add":
            password = _new_password(args)
            ws.add_user(actor, args.name, password, args.role, args.display_name or "")
            _out(_t(f"已添加用户 {args.name}（{args.role}）", f"added user {args.name} ({args.role})"))
        elif args.users_cmd == "passwd":
            ws.set_password(actor, args.name, _new_password(args))
            _out(_t(f"已修改 {args.name} 的密码", f"changed the password of {args.name}"))
        elif args.users_cmd == "disable":
            ws.disable_user(actor, args.name)
            _out(_t(f"已停用 {args.name}", f"disabled {args.name}"))
    finally:
        ws.close()
    return EXIT_OK


def _new_password(args: argparse.Namespace) -> str:
    password = os.environ.get("POVDESK_NEW_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise BadInput(Text("请通过 POVDESK_NEW_PASSWORD 提供新密码", "give the new password in POVDESK_NEW_PASSWORD"))
        password = getpass.getpass(_t(f"{args.name} 的新密码：", f"New password for {args.name}: "))
        if getpass.getpass(_t("再输入一次：", "Again: ")) != password:
            raise BadInput(Text("两次输入的密码不一致", "the passwords differ"))
    _check_new_password(password)
    return password


def cmd_audit(args: argparse.Namespace) -> int:
    ws = _open(args, readonly=True)
    try:
        _login(ws)
        problems = ws.verify_audit()
    finally:
        ws.close()
    if args.json:
        _emit_json({"ok": not problems, "problems": [p.as_dict() for p in problems]})
    else:
        for p in problems:
            _out(p.get(_lang()))
        _out(_t("审计日志完整，未被改动" if not problems else f"审计日志发现 {len(problems)} 处问题",
                "the audit log is intact" if not problems else f"{len(problems)} problems in the audit log"))
    return EXIT_FINDINGS if problems else EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    from povdesk.ui.app import main as app_main  # the only command that loads Qt

    argv = [*(["--demo"] if args.demo else []), *(["--portable"] if args.portable else []),
            *(["--data-dir", args.data_dir] if args.data_dir else []),
            *(["--workspace", args.workspace] if args.workspace else []),
            *(["--lang", args.lang] if args.lang else []),
            *(["--today", args.clock.today().isoformat()] if getattr(args, "clock", None) else [])]
    return app_main(argv)


def cmd_rules(args: argparse.Namespace) -> int:
    from povdesk.core.rules import RULES

    if args.json:
        _emit_json([{"id": r.id, "reach": r.reach, "severity": r.severity, "zh": r.zh, "en": r.en}
                    for r in RULES.values()])
    else:
        for r in RULES.values():
            _out(f"{r.id}\t{r.reach}\t{r.severity}\t{r.en if _lang() == 'en' else r.zh}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from povdesk.core.idnumber import mask

    ws = _open(args, readonly=True)
    try:
        _login(ws)
        hits = ws.search(args.query, limit=args.limit)
    finally:
        ws.close()
    rows = [{"household_no": h.household_no, "name": h.name, "id_number": mask(h.id_number) if h.id_number else "",
             "village_code": h.village_code, "matched_on": h.matched_on, "household_id": h.household_id}
            for h in hits]
    if args.json:
        _emit_json(rows)
    else:
        for r in rows:
            _out(f"{r['household_no']}\t{r['name']}\t{r['id_number']}\t{r['matched_on']}")
    return EXIT_OK if hits else EXIT_FINDINGS


def _find_household(ws: Any, ref: str) -> Any:
    hh = ws.find_household_by_no(ref)
    if hh is None:
        try:
            hh = ws.load_household(ref)
        except PovdeskError:
            hh = None
    if hh is None:
        raise BadInput(Text(f"找不到户“{ref}”（请用户编号或户 ID）", f"no household '{ref}' (give its number or id)"))
    return hh


# Helpers the command modules of other packages use (povdesk.sync.commands, povdesk.reports.commands).
open_workspace = _open
clock = _clock
login = _login
say = _out
emit_json = _emit_json
lang_text = _t
find_household = _find_household


def cmd_history(args: argparse.Namespace) -> int:
    from povdesk.core.procedures import history, next_steps

    ws = _open(args, readonly=True)
    try:
        _login(ws)
        hh = _find_household(ws, args.household)
    finally:
        ws.close()
    lang = _lang()
    for entry in history(hh):
        e = entry.event
        _out(f"{e.date}\t{entry.label.get(lang)}\t{e.user} ({e.role})")
    for spec, step in next_steps(hh):
        _out(_t(f"下一步：{spec.zh} · {step.zh}（{', '.join(step.roles)}）",
                f"next: {spec.en} · {step.en} ({', '.join(step.roles)})"))
    return EXIT_OK


def cmd_step(args: argparse.Namespace) -> int:
    from povdesk.core.procedures import load_procedures, parse_evidence, perform_step
    from povdesk.core.rules import RuleContext, exit_failures, validate_household

    raw: dict[str, str] = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(Text(f"证据应写成 键=值：“{item}”", f"evidence must be key=value: '{item}'"))
        raw[key.strip()] = value.strip()
    ws = _open(args)
    try:
        actor = _login(ws)
        hh = _find_household(ws, args.household)
        spec = load_procedures().get(args.procedure)
        step = spec.step(args.step) if spec and args.step in {s.key for s in spec.steps} else None
        evidence = parse_evidence(step, raw) if step else dict(raw)
        ctx = RuleContext(today=ws.clock.today())
        errors = sum(1 for f in validate_household(hh, ctx) if f.severity == "error")
        event = perform_step(hh, args.procedure, args.step, role=actor.role, user=actor.name, date=args.date,
                             evidence=evidence, error_count=errors, today=ctx.today,
                             exit_failures=exit_failures(hh, ctx))
        ws.append_event(hh, event, actor)
    finally:
        ws.close()
    _out(_t(f"已记录：{hh.household_no} {args.procedure}/{args.step}，状态 {hh.status}",
            f"recorded: {hh.household_no} {args.procedure}/{args.step}, status {hh.status}"))
    return EXIT_OK


# ---------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="povdesk", description=_t(
        "povdesk：建档立卡离线登记工具。设置 POVDESK_USER / POVDESK_PASSWORD 可免去登录提示；POVDESK_LANG=en 用英文输出。",
        "povdesk: offline registry for targeted poverty registration. Set POVDESK_USER / POVDESK_PASSWORD "
        "to skip the login prompt; POVDESK_LANG=en for English output."))
    p.add_argument("--version", action="version", version=f"povdesk {__version__}")
    p.add_argument("--today", dest="clock", type=parse_today, metavar="YYYY-MM-DD",
                   help=_t("把这一天当作今天（校验、默认日期、演示数据），用于核对或重现某一天的结果",
                           "take this day as today (rules, default dates, demo data): to check or "
                           "reproduce what a given day shows"))
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, func: Callable[[argparse.Namespace], int], zh: str, en: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=_t(zh, en), description=_t(zh, en))
        sp.set_defaults(func=func)
        return sp

    sp = add("app", cmd_app, "打开桌面程序", "open the desktop app")
    sp.add_argument("--demo", action="store_true", help=_t("打开演示工作区（首次自动生成一个合成的村）",
                                                           "open a demo workspace (a synthetic village, made on first use)"))
    sp.add_argument("--data-dir", help=_t("数据目录（工作区、草稿、设置、日志）", "data directory (workspaces, drafts, settings, logs)"))
    sp.add_argument("--portable", action="store_true", help=_t("数据放在程序旁（U 盘便携）", "keep data beside the program (USB stick)"))
    sp.add_argument("--workspace", help=_t("打开此工作区文件", "open this workspace file"))
    sp.add_argument("--lang", choices=["zh", "en"], help=_t("界面语言", "interface language"))

    sp = add("init", cmd_init, "创建工作区及其管理员账号", "create a workspace and its administrator")
    sp.add_argument("db", metavar="DB", help=_t("工作区文件路径", "workspace file"))
    sp.add_argument("--region", required=True, metavar="CODE",
                    help=_t("12 位村、9 位乡镇或 6 位县级区划代码", "12-digit village, 9-digit township or 6-digit county code"))
    sp.add_argument("--name", required=True, help=_t("工作区名称（如村名）", "workspace name (e.g. the village)"))

    db_help = _t("工作区文件（默认：用户数据目录下的 workspace.db）",
                 "workspace file (default: workspace.db in the user data directory)")
    sp = add("demo", cmd_demo, "用合成的演示数据填充工作区（不存在则新建）",
             "fill a workspace (created if missing) with a synthetic demo village or county")
    sp.add_argument("db", metavar="DB", nargs="?", help=db_help)
    sp.add_argument("--households", type=int, default=300, metavar="N", help=_t("户数（默认 300）", "households (default 300)"))
    sp.add_argument("--seed", type=int, default=1, metavar="S", help=_t("随机种子（默认 1）", "random seed (default 1)"))
    sp.add_argument("--region", metavar="CODE", help=_t("新建工作区时的区划代码", "region code when creating the workspace"))
    sp.add_argument("--name", help=_t("新建工作区时的名称", "name when creating the workspace"))

    sp = add("validate", cmd_validate, "按全部规则检查工作区", "check the workspace against every rule")
    sp.add_argument("db", metavar="DB", nargs="?", help=db_help)
    sp.add_argument("--json", action="store_true", help=_t("以 JSON 输出（见 README）", "output JSON (see README)"))

    sp = add("export-json", cmd_export_json, "导出为 JSON Lines（每行一户）", "export as JSON Lines, one household per line")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("-o", "--output", required=True, metavar="FILE")

    sp = add("import-json", cmd_import_json, "导入 JSON Lines（先全部校验）",
             "import JSON Lines (everything is checked before anything is written)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("file", metavar="FILE")
    sp.add_argument("--json", action="store_true", help=_t("以 JSON 输出报告", "output the report as JSON"))

    sp = add("users", cmd_users, "管理用户账号", "manage user accounts")
    usub = sp.add_subparsers(dest="users_cmd", metavar="ACTION", required=True, parser_class=_Parser)
    up = usub.add_parser("add", help=_t("添加用户（新密码取自 POVDESK_NEW_PASSWORD 或提示输入）",
                                        "add a user (new password from POVDESK_NEW_PASSWORD or a prompt)"))
    up.add_argument("db", metavar="DB")
    up.add_argument("name")
    up.add_argument("--role", required=True,
                    choices=["village_worker", "township_official", "county_coordinator", "admin"])
    up.add_argument("--display-name", default="")
    up = usub.add_parser("list", help=_t("列出用户", "list users"))
    up.add_argument("db", metavar="DB")
    up.add_argument("--json", action="store_true")
    up = usub.add_parser("passwd", help=_t("修改密码", "change a password"))
    up.add_argument("db", metavar="DB")
    up.add_argument("name")
    up = usub.add_parser("disable", help=_t("停用用户", "disable a user"))
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
    sp.add_argument("household", metavar="HOUSEHOLD", help=_t("户编号或户 ID", "household number or id"))

    sp = add("step", cmd_step, "记录一户的程序步骤（检查角色、日期、证据和错误）",
             "record a procedure step for a household (role, dates, evidence and errors are checked)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("household", metavar="HOUSEHOLD")
    sp.add_argument("procedure", choices=["identification", "exit", "removal", "return_to_poverty"])
    sp.add_argument("step", metavar="STEP")
    sp.add_argument("--date", required=True, help=_t("步骤发生日期 YYYY-MM-DD", "date of the step, YYYY-MM-DD"))
    sp.add_argument("--set", action="append", metavar="KEY=VALUE", help=_t("证据字段，可重复", "evidence field, repeatable"))

    sp = add("audit", cmd_audit, "校验审计日志的哈希链", "verify the hash chain of the audit log")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("--json", action="store_true")

    # Commands of the sync and reports packages live beside their code and register here.
    from povdesk.reports import commands as report_commands
    from povdesk.sync import commands as sync_commands

    sync_commands.register(add)
    report_commands.register(add)
    return p


def _setup_logging() -> None:
    from logging.handlers import RotatingFileHandler

    from povdesk.paths import user_log_dir

    try:
        directory = user_log_dir()
        directory.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(directory / "povdesk.log", maxBytes=1_000_000,
                                                       backupCount=3, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def main(argv: Sequence[str] | None = None) -> int:
    _setup_logging()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_OK
        return int(args.func(args))
    except PovdeskError as exc:
        print(f"povdesk: {exc.message(_lang())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(_t("povdesk: 已中断", "povdesk: interrupted"), file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the last line of defence: log it, say where the log is
        log.exception("unexpected error")
        from povdesk.paths import user_log_dir

        print(_t(f"povdesk: 内部错误，详情见 {user_log_dir() / 'povdesk.log'}",
                 f"povdesk: internal error, details in {user_log_dir() / 'povdesk.log'}"), file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
