"""A province's own rules: its monitoring thresholds and time limits (防止返贫动态监测) and its
procedures (the steps, their roles, evidence and publicity periods)."""

from __future__ import annotations

import argparse
from pathlib import Path

from povdesk.cli.common import EXIT_OK, AddCommand, emit_json, login, open_workspace, out, t


def cmd_thresholds(args: argparse.Namespace) -> int:
    from povdesk.core.monitoring import province_of
    from povdesk.ops.monitoring import import_thresholds, workspace_thresholds

    ws = open_workspace(args, readonly=args.action == "show")
    try:
        actor = login(ws)
        if args.action == "import":
            if not args.file:
                from povdesk.errors import BadInput
                from povdesk.i18n import tr

                raise BadInput(tr("请给出监测范围文件：povdesk thresholds import DB FILE",
                                  "name the thresholds file: povdesk thresholds import DB FILE"))
            done = import_thresholds(ws, actor, Path(args.file))
            out(t(f"已导入 {Path(args.file).name}：监测范围 {done.thresholds} 条，时限 {done.time_limits} 条"
                  f"（地区 {'、'.join(done.regions) or '无'}）",
                  f"imported {Path(args.file).name}: {done.thresholds} thresholds, {done.time_limits} time limits "
                  f"(regions {', '.join(done.regions) or 'none'})"))
            table = done.table
        else:
            table = workspace_thresholds(ws)
        here = ws.region_code
        rows = [tr_row for tr_row in sorted(table.thresholds, key=lambda x: (x.region, x.year))
                if tr_row.region in ("*", province_of(here), here[:6])]
        limit = table.time_limit(here)
        if args.json:
            emit_json({"region": here, "time_limit": {"days": limit.days, "day_kind": limit.day_kind,
                                                      "region": limit.region},
                       "thresholds": [{"region": x.region, "year": x.year, "amount": x.amount, "basis": x.basis,
                                       "document_no": x.document_no, "verified": x.verified} for x in rows]})
        elif args.action == "show":
            kind = t("个工作日", " working days") if limit.day_kind == "working" else t(" 天", " days")
            out(t(f"识别时限：发现后 {limit.days}{kind}内县级审定（{limit.region}）",
                  f"time limit: county decision within {limit.days}{kind} of discovery ({limit.region})"))
            for x in rows:
                flag = "" if x.verified else t("（未核实）", " (unverified)")
                out(f"{x.region}\t{x.year}\t{x.amount:.0f}\t{x.basis}\t{x.document_no}{flag}")
            if not rows:
                out(t(f"本地区（{here}）没有监测范围：2020 年以后的收入将提示“没有收入标准”",
                      f"no thresholds for this region ({here}): incomes after 2020 are reported as having no line"))
    finally:
        ws.close()
    return EXIT_OK


def cmd_procedures(args: argparse.Namespace) -> int:
    from povdesk.core.procedures import load_procedures, procedure_settings, publicity_days
    from povdesk.errors import BadInput
    from povdesk.i18n import tr
    from povdesk.ops.monitoring import import_procedures, procedures_source, reset_procedures
    from povdesk.paths import resource

    if args.action in ("import", "export") and not args.file:
        raise BadInput(tr("请给出程序文件：povdesk procedures {a} DB FILE",
                          "name the procedures file: povdesk procedures {a} DB FILE", a=args.action))
    ws = open_workspace(args, readonly=args.action in ("show", "export"))
    try:
        actor = login(ws)
        if args.action == "import":
            done = import_procedures(ws, actor, Path(args.file))
            out(t(f"已导入 {Path(args.file).name}：{done.procedures} 个程序，自现在起按此办理",
                  f"imported {Path(args.file).name}: {done.procedures} procedures, in force from now on"))
            for note in done.notes:
                out(f"  {t(note.zh, note.en)}")
        elif args.action == "reset":
            reset_procedures(ws, actor)
            out(t("已恢复为内置程序", "back to the bundled procedures"))
        elif args.action == "export":
            text, _ = procedures_source(ws)
            body = text if text is not None else resource("procedures.toml").read_text(encoding="utf-8")
            Path(args.file).write_text(body, encoding="utf-8")
            out(t(f"已导出现行程序：{args.file}（编辑后用 povdesk procedures import 导入）",
                  f"wrote the procedures in force to {args.file} (edit it, then povdesk procedures import)"))
        text, problem = procedures_source(ws)
        if args.action == "show":
            specs = load_procedures()
            if args.json:
                emit_json({"source": "workspace" if text is not None and problem is None else "bundled",
                           "problem": problem.en if problem else None,
                           "publicity_days": procedure_settings().publicity_days,
                           "procedures": [{"key": p.key, "zh": p.zh, "en": p.en, "publicity_days": p.publicity_days,
                                           "steps": [{"key": st.key, "zh": st.zh, "en": st.en, "roles": list(st.roles),
                                                      "level": st.level,
                                                      "evidence": [f.key for f in st.evidence]}
                                                     for st in p.steps]} for p in specs.values()]})
                return EXIT_OK
            out(t("本工作区使用本省导入的程序" if text is not None and problem is None else "本工作区使用内置程序",
                  "this workspace uses the province's own procedures" if text is not None and problem is None
                  else "this workspace uses the bundled procedures"))
            if problem is not None:
                out(t(problem.zh, problem.en))
            for p in specs.values():
                out(f"{p.key}\t{t(p.zh, p.en)}\t{t('公示', 'publicity')} {publicity_days(p.key)} {t('天', 'days')}")
                for st in p.steps:
                    out(f"  {st.key}\t{t(st.zh, st.en)}\t{', '.join(st.roles)}")
    finally:
        ws.close()
    return EXIT_OK


def register(add: AddCommand) -> None:
    sp = add("thresholds", cmd_thresholds, "防止返贫监测范围和时限：查看、导入本省的表",
             "monitoring thresholds and time limits: show them, import the province's own table")
    sp.add_argument("action", choices=["show", "import"])
    sp.add_argument("db", metavar="DB")
    sp.add_argument("file", nargs="?", metavar="FILE.toml",
                    help=t("本省的监测范围表（与 resources/monitoring_thresholds.toml 同格式）",
                           "the province's table (the format of resources/monitoring_thresholds.toml)"))
    sp.add_argument("--json", action="store_true")
    sp = add("procedures", cmd_procedures, "办理程序：查看、导出、导入本省的程序文件，或恢复内置程序",
             "procedures: show them, export them, import the province's own file, or go back to the bundled ones")
    sp.add_argument("action", choices=["show", "export", "import", "reset"])
    sp.add_argument("db", metavar="DB")
    sp.add_argument("file", nargs="?", metavar="FILE.toml",
                    help=t("本省的程序文件（与 resources/procedures.toml 同格式；可先 export 再编辑）",
                           "the province's file (the format of resources/procedures.toml; export one to start from)"))
    sp.add_argument("--json", action="store_true")
