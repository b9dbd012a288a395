"""The printing commands: household cards, publicity lists, summary reports, the Excel register and its import."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from povdesk.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    AddCommand,
    clock_of,
    emit_json,
    find_household,
    language,
    login,
    open_workspace,
    out,
    t,
)
from povdesk.errors import BadInput
from povdesk.i18n import Text

if TYPE_CHECKING:
    from povdesk.core.model import Household
    from povdesk.reports.pdf import MissingGlyphs
    from povdesk.store import Workspace


@contextmanager
def _atomic_output(path: str) -> Iterator[Path]:
    """A temporary file beside `path` that replaces it only when the block succeeds."""
    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    try:
        yield tmp
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadInput(Text(f"无法写入文件：{exc.strerror}", f"cannot write the file: {exc.strerror}"),
                       where=str(target)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _village_prefix(ws: Workspace, code: str | None) -> str | None:
    if code is None:
        return None
    code = code.strip()
    if not (code.isascii() and code.isdigit() and len(code) in (6, 9, 12)):
        raise BadInput(Text(f"区划代码应为 6、9 或 12 位数字：“{code}”",
                            f"a region code has 6, 9 or 12 digits: '{code}'"))
    return code


def _warn_missing(missing: list[MissingGlyphs]) -> int:
    """One line per text the font cannot draw; returns how many."""
    seen: set[tuple[str, str]] = set()
    for m in missing:
        key = (m.context, m.text)
        if key in seen:
            continue
        seen.add(key)
        chars = " ".join(f"{ch}(U+{ord(ch):04X})" for ch in m.chars)
        out(t(f"警告\t{m.context}\t“{m.text}”中的字符 {chars} 字体中没有，已印为〓，请手写补全",
              f"warning\t{m.context}\t'{m.text}': the font has no {chars}; printed as 〓, "
              "write it in by hand"))
    return len(seen)


# ---------------------------------------------------------------- cards

def cmd_cards(args: argparse.Namespace) -> int:
    from povdesk.reports.cards import render_cards

    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        prefix = _village_prefix(ws, args.village)
        if args.household:
            chosen = [find_household(ws, ref) for ref in args.household]
            if prefix:
                chosen = [h for h in chosen if h.village_code.startswith(prefix)]
            households: Iterable[Household] = chosen
            total = len(chosen)
        else:
            total = ws.count_households(prefix)
            households = ws.iter_households(prefix)
        if total == 0:
            raise BadInput(Text("没有符合条件的户，未生成文件", "no household matches; no file written"))
        with _atomic_output(args.output) as tmp:
            result = render_cards(households, tmp, today=ws.clock.today(), total=total)
    finally:
        ws.close()
    warned = _warn_missing(result.missing)
    out(t(f"已生成 {result.households} 户明白卡，共 {result.pages} 页：{args.output}",
          f"wrote {result.households} household cards, {result.pages} pages: {args.output}"))
    return EXIT_FINDINGS if warned else EXIT_OK


# ---------------------------------------------------------------- publicity

def _parse_day(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(Text(f"{what}应为 YYYY-MM-DD 格式的日期：“{value}”",
                            f"{what} must be a date YYYY-MM-DD: '{value}'")) from None


def cmd_publicity(args: argparse.Namespace) -> int:
    from povdesk.core.procedures import publicity_days
    from povdesk.reports.publicity import PublicityOptions, render_publicity, resolve_step

    step = resolve_step(args.step)
    start = _parse_day(args.start, "--start") or clock_of(args).today()
    days = publicity_days(step.procedure)
    end = _parse_day(args.end, "--end") or start + timedelta(days=days - 1)
    if (end - start).days + 1 < days:
        raise BadInput(Text(f"公示期不少于 {days} 天（含首尾两天）：{start} 至 {end}",
                            f"a publicity lasts at least {days} days counting both ends: {start} to {end}"))
    opts = PublicityOptions(start=start, end=end, contact=args.contact or "", township=args.township or "")
    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        prefix = _village_prefix(ws, args.village)
        with _atomic_output(args.output) as tmp:
            result = render_publicity(ws.iter_households(prefix), step, tmp, opts)
            if result.households == 0:
                raise BadInput(Text(f"没有处于“{step.zh}”这一步的户，未生成文件",
                                    f"no household is at the step '{step.en}'; no file written"))
    finally:
        ws.close()
    warned = _warn_missing(result.missing)
    out(t(
        f"已生成{step.zh}名单：{result.villages} 个村 {result.households} 户 {result.people} 人，"
        f"共 {result.pages} 页，公示期 {start} 至 {end}：{args.output}",
        f"wrote the {step.en} list: {result.villages} villages, {result.households} households, "
        f"{result.people} people, {result.pages} pages, period {start} to {end}: {args.output}"))
    return EXIT_FINDINGS if warned else EXIT_OK


# ---------------------------------------------------------------- summary report

def cmd_report(args: argparse.Namespace) -> int:
    from povdesk.reports.report import build_report, write_report

    fmt = Path(args.output).suffix.lstrip(".").lower()
    if fmt not in ("xlsx", "pdf"):
        raise BadInput(Text(f"统计表的文件名应以 .xlsx 或 .pdf 结尾：“{args.output}”",
                            f"the report file must end in .xlsx or .pdf: '{args.output}'"))
    year = None
    if args.year is not None:
        if not (args.year.isascii() and args.year.isdigit() and len(args.year) == 4):
            raise BadInput(Text(f"年度应为四位数字：“{args.year}”", f"the year has four digits: '{args.year}'"))
        year = int(args.year)
    if args.level in ("province", "city"):
        from povdesk.cli.province import province_report

        return province_report(args, fmt, year)
    if args.database:
        raise BadInput(Text("--database 只用于 --level province 或 city", "--database is for --level province or "
                            "city only"))
    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        region = _village_prefix(ws, args.region)
        report = build_report(ws, args.level, region, today=ws.clock.today(), year=year)
        with _atomic_output(args.output) as tmp:
            result = write_report(report, tmp, fmt)
    finally:
        ws.close()
    warned = _warn_missing(result.missing)
    s = report.summary
    out(t(
        f"已生成统计表（{report.region_name}）：{s.households} 户 {s.people} 人，{report.year} 年识别 "
        f"{report.in_year['identified']} 户、脱贫 {report.in_year['exited']} 户、清退 {report.in_year['removed']} 户："
        f"{args.output}",
        f"wrote the summary report ({report.region}): {s.households} households, {s.people} people; in "
        f"{report.year} identified {report.in_year['identified']}, exited {report.in_year['exited']}, removed "
        f"{report.in_year['removed']}: {args.output}"))
    return EXIT_FINDINGS if warned else EXIT_OK


# ---------------------------------------------------------------- Excel

def cmd_export_xlsx(args: argparse.Namespace) -> int:
    from povdesk.reports.excel import write_register

    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        prefix = _village_prefix(ws, args.village)
        total = ws.count_households(prefix)
        with _atomic_output(args.output) as tmp:
            n_hh, n_rows = write_register(ws.iter_households(prefix), tmp, total=total)
    finally:
        ws.close()
    out(t(f"已导出花名册 {n_hh} 户 {n_rows} 行：{args.output}",
          f"exported the register: {n_hh} households, {n_rows} rows: {args.output}"))
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    from povdesk.reports.excel import write_template

    with _atomic_output(args.output) as tmp:
        lists = write_template(tmp)
    out(t(f"已生成空白模板（{lists} 列带下拉列表）：{args.output}",
          f"wrote a blank template ({lists} columns with drop-down lists): {args.output}"))
    return EXIT_OK


def _confirm(question: str) -> bool:
    import sys

    if not sys.stdin.isatty():
        return False
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes", "是", "好")


def cmd_import_xlsx(args: argparse.Namespace) -> int:
    from povdesk.core.permissions import require
    from povdesk.ops.importing import import_checked_xlsx
    from povdesk.reports.import_check import check_import
    from povdesk.reports.xlsx_import import check_file, write_problem_report

    check_file(args.file)
    ws = open_workspace(args, readonly=args.dry_run)
    lang = language()
    imported = 0
    try:
        actor = login(ws)
        if not args.dry_run:
            require(actor.role, "import_records")
        checked = check_import(ws, args.file, args.mapping, village=args.village)
        plan, findings = checked.plan, checked.findings
        refused = plan.refused
        go = not args.dry_run and bool(plan.households)
        if go and refused and not args.yes:
            n = len(plan.households)
            for r in refused:
                out(_refusal_line(r, lang))
            question = t(f"以上 {len(refused)} 户不导入；导入其余 {n} 户吗？[y/N] ",
                         f"the {len(refused)} households above will not be imported; import the other {n}? [y/N] ")
            if not _confirm(question):
                raise BadInput(Text(
                    f"{len(refused)} 户有必须修改的问题，未导入任何数据；用 --dry-run 查看，或加 --yes 只导入其余 {n} 户",
                    f"{len(refused)} households have problems to fix; nothing was imported; see them with "
                    f"--dry-run, or give --yes to import the other {n}"), where=str(args.file))
        if go:
            import_checked_xlsx(ws, actor, plan.households, source=Path(args.file).name)
            imported = len(plan.households)
    finally:
        ws.close()
    if args.report:
        with _atomic_output(args.report) as tmp:
            write_problem_report(args.file, plan, tmp, lang, findings)
    summary = {**checked.summary(), "imported": imported, "dry_run": bool(args.dry_run)}
    if args.json:
        emit_json({"file": str(args.file), "summary": summary,
                   "problems": [p.to_dict() for p in plan.problems],
                   "households": [{"id": h.id, "household_no": h.household_no, "head_name": h.head_name,
                                   "sheet": plan.sheet, "row": plan.first_row.get(h.id, 0),
                                   "result": ("imported" if imported else "to_import"),
                                   "updated": h.id in plan.existing} for h in plan.households],
                   "refused": [r.to_dict() for r in refused], "findings": findings})
    else:
        for p in plan.problems:
            where = f"{p.sheet}!{p.column}{p.row}" if p.column else f"{p.sheet}!{p.row}"
            label = f"\t{p.field}" if p.field else "\t"
            shown = f"\t[{p.value}]" if p.value else ""
            out(f"{where}{label}\t{p.message.get(lang)}{shown}")
        for fd in findings:
            out(f"{fd['sheet']}!{fd['column']}{fd['row']}\t{fd['rule']}\t{fd['message'][lang]}")
        for r in refused:
            out(_refusal_line(r, lang))
        members = checked.members
        n = len(plan.households)
        if args.dry_run or not imported:
            out(t(
                f"检查 {plan.rows} 行：{n} 户 {members} 人可以导入（其中 {plan.updated} 户为更新），{plan.unchanged} 户无改动，"
                f"{len(refused)} 户不导入，"
                f"{len(findings)} 条校验提示；{'试运行，' if args.dry_run else ''}未导入任何数据",
                f"checked {plan.rows} rows: {n} households ({members} people) to import ({plan.updated} updated), "
                f"{plan.unchanged} unchanged, {len(refused)} refused, {len(findings)} rule findings; {'dry run, ' if args.dry_run else ''}"
                "nothing imported"))
        else:
            out(t(
                f"已导入 {imported} 户 {members} 人（其中 {plan.updated} 户为更新），{plan.unchanged} 户无改动，{len(refused)} 户未导入，"
                f"{len(findings)} 条校验提示",
                f"imported {imported} households, {members} people ({plan.updated} updated), {plan.unchanged} "
                f"unchanged, {len(refused)} refused, {len(findings)} rule findings"))
    return EXIT_FINDINGS if plan.blocking or refused or findings else EXIT_OK


def _refusal_line(r: object, lang: str) -> str:
    from povdesk.reports.xlsx_import import Refusal

    assert isinstance(r, Refusal)
    who = " ".join(x for x in (r.household_no, r.head_name) if x) or "—"
    why = "；".join(p.message.get(lang) for p in r.problems[:3])
    return t(f"不导入\t{r.sheet}!{r.row}\t{who}\t{why}", f"refused\t{r.sheet}!{r.row}\t{who}\t{why}")


def register(add: AddCommand) -> None:
    """Add this package's subcommands: add(name, func, help_zh, help_en) returns the subparser."""
    from povdesk.reports.publicity import publicity_steps

    sp = add("cards", cmd_cards, "打印明白卡（PDF，每户一个书签）",
             "print household cards as one PDF (a bookmark per household)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("-o", "--output", required=True, metavar="FILE.pdf")
    sp.add_argument("--household", action="append", metavar="NO_OR_ID",
                    help=t("户编号或户 ID，可重复；省略则打印全部（或 --village 下全部）",
                           "household number or id, repeatable; default: all (or all under --village)"))
    sp.add_argument("--village", metavar="CODE", help=t("只打印该村（或乡镇、县）代码下的户",
                                                        "only households under this village (or township) code"))

    steps = ", ".join(publicity_steps())
    sp = add("publicity", cmd_publicity, "打印公示名单（PDF，身份证号隐藏中间部分）",
             "print a publicity list as PDF (ID numbers masked, no health or bank details)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("--step", required=True, metavar="STEP", help=t(f"公示步骤：{steps}", f"publicity step: {steps}"))
    sp.add_argument("-o", "--output", required=True, metavar="FILE.pdf")
    sp.add_argument("--village", metavar="CODE", help=t("只列该村（或乡镇）的户；每村一份名单",
                                                        "only this village (or township); one list per village"))
    sp.add_argument("--start", metavar="YYYY-MM-DD", help=t("公示开始日期（默认今天）", "first day (default today)"))
    sp.add_argument("--end", metavar="YYYY-MM-DD",
                    help=t("公示结束日期（默认开始日期加法定公示天数）", "last day (default: start + the publicity days)"))
    sp.add_argument("--township", metavar="NAME", help=t("乡镇名称（印在异议渠道中）", "township name, printed in the text"))
    sp.add_argument("--contact", metavar="TEXT", help=t("受理异议的乡镇联系人及电话", "township contact and phone for objections"))

    sp = add("report", cmd_report, "生成村、乡镇、县（工作区）或市州、省（省级库）的统计表（xlsx 或 PDF）",
             "write the summary report of a village, township or county (a workspace), or of a city or the "
             "province (the province database), as xlsx or PDF")
    sp.add_argument("db", metavar="DB", nargs="?")
    sp.add_argument("-o", "--output", required=True, metavar="FILE.xlsx|FILE.pdf")
    sp.add_argument("--level", choices=("village", "township", "county", "city", "province"),
                    help=t("统计层级（默认为区划代码本身的层级）；高于村级时逐村列出；city 和 province 读省级库（--database）",
                           "level of the report (default: that of the region code); above village level, "
                           "one row per village; city and province read the province database (--database)"))
    sp.add_argument("--database", metavar="URL", help=t("省级库 postgresql://…（--level city 或 province）",
                                                        "the province database postgresql://… (--level city or "
                                                        "province)"))
    sp.add_argument("--region", metavar="CODE", help=t("区划代码（默认为工作区的区划）",
                                                       "region code (default: the workspace's region)"))
    sp.add_argument("--year", metavar="YYYY", help=t("统计识别、脱贫、清退户数的年度（默认今年）",
                                                     "year of the identified, exited and removed counts "
                                                     "(default: this year)"))

    sp = add("export-xlsx", cmd_export_xlsx, "导出花名册（xlsx，每人一行）",
             "export the register as xlsx, one row per member")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("-o", "--output", required=True, metavar="FILE.xlsx")
    sp.add_argument("--village", metavar="CODE", help=t("只导出该村（或乡镇）", "only this village (or township)"))

    sp = add("template", cmd_template, "生成空白花名册模板（带下拉列表）",
             "write a blank register template with drop-down lists")
    sp.add_argument("-o", "--output", required=True, metavar="FILE.xlsx")

    sp = add("import-xlsx", cmd_import_xlsx, "导入花名册或村里原有的 Excel 表（先检查；有问题的户不导入，其余照常导入）",
             "import the register or a village's own sheet (checked first; a household with a problem is refused, the others come in)")
    sp.add_argument("db", metavar="DB")
    sp.add_argument("file", metavar="FILE.xlsx")
    sp.add_argument("--mapping", metavar="M.toml", help=t("列名映射文件（见 docs/printing.md）",
                                                          "column mapping file (see docs/printing.md)"))
    sp.add_argument("--village", metavar="CODE", help=t("表中没有村代码列时所属的村", "village of the rows when the sheet has no village code column"))
    sp.add_argument("--dry-run", action="store_true", help=t("只检查并报告，不导入", "check and report only; import nothing"))
    sp.add_argument("--json", action="store_true", help=t("以 JSON 输出报告", "output the report as JSON"))
    sp.add_argument("--report", metavar="FILE.xlsx", help=t("另存一份标出问题单元格的表", "also write a copy with the problem cells marked"))
    sp.add_argument("--yes", action="store_true", help=t("有户因问题不导入时，不询问，直接导入其余的户",
                                                         "when some households are refused, import the others without asking"))
