"""The monitoring command: a province's own thresholds and time limits (防止返贫动态监测)."""

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


def register(add: AddCommand) -> None:
    sp = add("thresholds", cmd_thresholds, "防止返贫监测范围和时限：查看、导入本省的表",
             "monitoring thresholds and time limits: show them, import the province's own table")
    sp.add_argument("action", choices=["show", "import"])
    sp.add_argument("db", metavar="DB")
    sp.add_argument("file", nargs="?", metavar="FILE.toml",
                    help=t("本省的监测范围表（与 resources/monitoring_thresholds.toml 同格式）",
                           "the province's table (the format of resources/monitoring_thresholds.toml)"))
    sp.add_argument("--json", action="store_true")
