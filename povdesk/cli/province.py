"""`povdesk province …`: the province registry on PostgreSQL (init, keys, enrol, load, flags,
returns), its read-only web dashboard (serve, and its logins: user) and the county's side of it
(set-key, export, import)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from povdesk.cli.common import (
    EXIT_OK,
    AddCommand,
    CommandParser,
    clock_of,
    emit_json,
    login,
    open_workspace,
    out,
    t,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _engine(args: argparse.Namespace) -> Engine:
    from povdesk.province import registry

    return registry.connect(args.database)


def cmd_province(args: argparse.Namespace) -> int:
    cmd = args.province_cmd
    if cmd in ("set-key", "export", "import"):
        return _county_side(args)
    if cmd == "serve":
        return _serve(args)
    if cmd == "user":
        return _user(args)
    from povdesk.core.idnumber import mask
    from povdesk.province import registry

    clock = clock_of(args)
    engine = _engine(args)
    try:
        if cmd == "init":
            registry.init(engine)
            out(t("省级数据库已建好表（户、成员、年度记录、程序记录和标记按县分区）",
                  "the province database has its tables (households, members, years, events and flags "
                  "partitioned by county)"))
        elif cmd == "keys":
            card, made = registry.ensure_keys(engine, args.region, args.name, clock)
            out(t(f"{'已生成' if made else ''}省级密钥：{card.region_code} {card.name}，指纹 {card.fingerprint}",
                  f"{'made the ' if made else ''}province keys: {card.region_code} {card.name}, fingerprint "
                  f"{card.fingerprint}"))
            if args.output:
                registry.write_province_key_file(engine, Path(args.output))
                out(t(f"已写出公钥文件 {args.output}（交给各县：povdesk province set-key DB 文件）",
                      f"wrote the key file {args.output} (for each county: povdesk province set-key DB FILE)"))
        elif cmd == "enrol":
            card = registry.enrol_county(engine, Path(args.file), clock)
            out(t(f"已登记县 {card.region_code} {card.name}，指纹 {card.fingerprint}",
                  f"enrolled county {card.region_code} {card.name}, fingerprint {card.fingerprint}"))
        elif cmd == "load":
            from povdesk.ops.importing import decision_pool

            results = []
            with decision_pool([Path(f) for f in args.files], args.workers) as pool:
                for f in args.files:
                    r = registry.load_bundle(engine, Path(f), clock, executor=pool)
                    results.append(r)
                    if args.json:
                        continue
                    if r.already:
                        out(t(f"{f}：这个数据包（{r.bundle_id}）已载入过，未作改动",
                              f"{f}: this bundle ({r.bundle_id}) was loaded before; nothing changed"))
                    else:
                        out(t(f"{f}：县 {r.county}，{r.households} 户，其中 {r.applied} 户为新的或更新的版本",
                              f"{f}: county {r.county}, {r.households} households, {r.applied} of them new or "
                              "newer"))
            if args.json:
                emit_json([{"file": str(r.path), "bundle_id": r.bundle_id, "county": r.county,
                            "households": r.households, "applied": r.applied, "already": r.already}
                           for r in results])
        elif cmd == "flags":
            rows = registry.flags(engine, args.county)
            if args.json:
                emit_json([{"county": f["county_code"], "household_id": f["household_id"],
                            "household_no": f["household_no"], "member_id": f["member_id"], "rule": f["rule"],
                            "id_number": mask(f["id_number"]), "other_county": f["other_county"],
                            "other_household_id": f["other_household_id"],
                            "other_household_no": f["other_household_no"]} for f in rows])
            else:
                for f in rows:
                    out(f"{f['county_code']}\t{f['household_no']}\t{f['rule']}\t{mask(f['id_number'])}\t{f['name']}\t"
                        + t(f"也登记在县 {f['other_county']} 的户 {f['other_household_no']}",
                            f"also registered in county {f['other_county']}, household {f['other_household_no']}"))
                if not rows:
                    out(t("没有跨县重复登记的人", "no person is registered in two counties"))
        elif cmd == "returns":
            from povdesk.province import returns

            for rr in returns.export_returns(engine, Path(args.output), args.county, force=args.full, clock=clock):
                if rr.path is None:
                    out(t(f"县 {rr.county}：标记自上次回传（第 {rr.seq} 号）以来没有变化，未写文件",
                          f"county {rr.county}: its flags have not changed since return {rr.seq}; no file written"))
                else:
                    out(t(f"县 {rr.county}：已写出回传包 {rr.path}（第 {rr.seq} 号，{rr.flags} 个标记）",
                          f"county {rr.county}: wrote the return bundle {rr.path} (number {rr.seq}, {rr.flags} flags)"))
    finally:
        engine.dispose()
    return EXIT_OK


def province_report(args: argparse.Namespace, fmt: str, year: int | None) -> int:
    """`povdesk report --level province|city --database URL`: the report from the province registry."""
    from povdesk.cli.printing import _atomic_output, _warn_missing
    from povdesk.errors import BadInput
    from povdesk.i18n import Text
    from povdesk.province.report import build_province_report
    from povdesk.reports.report import write_report

    if not args.database:
        raise BadInput(Text(f"--level {args.level} 读省级库：请用 --database postgresql://… 给出",
                            f"--level {args.level} reads the province database: give it with --database "
                            "postgresql://…"))
    if args.db:
        raise BadInput(Text(f"--level {args.level} 不读工作区：请去掉 {args.db}",
                            f"--level {args.level} reads no workspace: leave out {args.db}"))
    engine = _engine(args)
    try:
        report = build_province_report(engine, args.level, args.region, today=clock_of(args).today(), year=year)
    finally:
        engine.dispose()
    with _atomic_output(args.output) as tmp:
        result = write_report(report, tmp, fmt)
    warned = _warn_missing(result.missing)
    s, y = report.summary, report.in_year
    out(t(f"已生成统计表（{report.region_name}）：{s.households} 户 {s.people} 人，{report.year} 年识别 "
          f"{y['identified']} 户、脱贫 {y['exited']} 户、清退 {y['removed']} 户：{args.output}",
          f"wrote the summary report ({report.region}): {s.households} households, {s.people} people; in "
          f"{report.year} identified {y['identified']}, exited {y['exited']}, removed {y['removed']}: {args.output}"))
    return 1 if warned else EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    """`povdesk province serve`: the read-only dashboard on uvicorn."""
    import uvicorn

    from povdesk.errors import BadInput
    from povdesk.i18n import Text
    from povdesk.province.web.app import create_app

    if not 0 < args.port < 65536:
        raise BadInput(Text(f"--port 应在 1–65535 之间，而不是 {args.port}", f"--port must be 1-65535, not {args.port}"))
    if bool(args.tls_cert) != bool(args.tls_key):
        raise BadInput(Text("--tls-cert 和 --tls-key 须一起给出", "--tls-cert and --tls-key go together"))
    for f in (args.tls_cert, args.tls_key):
        if f and not Path(f).is_file():
            raise BadInput(Text(f"找不到文件：{f}", f"no such file: {f}"))
    engine = _engine(args)
    try:
        from povdesk.province import db

        with engine.connect() as conn:
            db.require_schema(conn)
            keys = db.get_keys(conn)
        if keys is None:
            raise BadInput(Text("还没有省级密钥：请先运行 povdesk province keys", "there are no province keys yet: run "
                                "povdesk province keys first"))
        app = create_app(engine, clock=clock_of(args), https_only=bool(args.tls_cert))
        scheme = "https" if args.tls_cert else "http"
        shown = f"[{args.host}]" if ":" in args.host else args.host
        out(t(f"povdesk 省级数据看板（{keys.name}）：{scheme}://{shown}:{args.port}/ （只读；Ctrl+C 停止）",
              f"povdesk province dashboard ({keys.name}): {scheme}://{shown}:{args.port}/ (read-only; Ctrl+C stops "
              "it)"))
        sys.stdout.flush()
        uvicorn.run(app, host=args.host, port=args.port, ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key,
                    log_level="warning", timeout_keep_alive=5, server_header=False)
    finally:
        engine.dispose()
    return EXIT_OK


def _dashboard_password(name: str) -> str:
    """The new password: POVDESK_NEW_PASSWORD, else asked twice at a terminal, else the first line of stdin."""
    import getpass
    import os

    from povdesk.cli.common import check_new_password
    from povdesk.errors import BadInput
    from povdesk.i18n import Text

    password = os.environ.get("POVDESK_NEW_PASSWORD")
    if password is None:
        if sys.stdin.isatty():
            password = getpass.getpass(t(f"{name} 的新密码：", f"New password for {name}: "))
            if getpass.getpass(t("再输入一次：", "Again: ")) != password:
                raise BadInput(Text("两次输入的密码不一致", "the passwords differ"))
        else:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise BadInput(Text("请在标准输入的第一行或 POVDESK_NEW_PASSWORD 中给出新密码",
                                    "give the new password on the first line of stdin or in POVDESK_NEW_PASSWORD"))
    check_new_password(password)
    return password


def _user(args: argparse.Namespace) -> int:
    """`povdesk province user add|list|disable|enable`: the dashboard's logins (province and city roles)."""
    from povdesk.province.web import users

    engine = _engine(args)
    try:
        if args.user_cmd == "add":
            region = users.check_new_user(engine, args.name, args.role, args.region)
            users.add_user(engine, args.name, _dashboard_password(args.name), args.role, region, clock_of(args))
            role = {"province": t("省级", "province"), "city": t("市（州）级", "city")}[args.role]
            out(t(f"已添加看板用户 {args.name}（{role}，可查看 {region} 及其下级地区）",
                  f"added the dashboard user {args.name} ({role}; sees {region} and what lies under it)"))
        elif args.user_cmd == "disable":
            users.set_active(engine, args.name, False)
            out(t(f"已停用看板用户 {args.name}：不能再登录，已登录的在下一个页面退出",
                  f"disabled the dashboard user {args.name}: its logins are refused, a session it holds ends at "
                  "its next page"))
        elif args.user_cmd == "enable":
            users.set_active(engine, args.name, True)
            out(t(f"已重新启用看板用户 {args.name}", f"enabled the dashboard user {args.name} again"))
        else:
            for u in users.list_users(engine):
                state = "" if u.active else t("（已停用）", " (disabled)")
                out(f"{u.name}\t{u.role}\t{u.region}{state}")
    finally:
        engine.dispose()
    return EXIT_OK


def _county_side(args: argparse.Namespace) -> int:
    from povdesk.province import export

    ws = open_workspace(args)
    try:
        actor = login(ws)
        if args.province_cmd == "set-key":
            card = export.set_province_key(ws, actor, Path(args.file))
            out(t(f"已设置省级密钥：{card.region_code} {card.name}，指纹 {card.fingerprint}（请与省里电话核对）",
                  f"set the province key: {card.region_code} {card.name}, fingerprint {card.fingerprint} (compare "
                  f"it with the province by phone)"))
            return EXIT_OK
        if args.province_cmd == "import":
            from povdesk.province import returns

            for f in args.files:
                r = returns.import_return(ws, actor, Path(f))
                if r.skipped == "already":
                    out(t(f"{f}：这个回传包已导入过，未作改动", f"{f}: this return bundle was imported before; nothing "
                          "changed"))
                elif r.skipped == "older":
                    out(t(f"{f}：比已导入的回传包旧（第 {r.seq} 号），未作改动", f"{f}: older than a return bundle "
                          f"already imported (number {r.seq}); nothing changed"))
                else:
                    out(t(f"{f}：省里的标记 {r.flags} 个（新增或更新 {r.added}，撤销 {r.removed}），见 povdesk bundle "
                          "status；下次发给各村的回传包会带上",
                          f"{f}: {r.flags} flags from the province ({r.added} new or changed, {r.removed} withdrawn), "
                          "see povdesk bundle status; the next return bundles to the villages carry them"))
            return EXIT_OK
        res = export.export_province_bundle(ws, actor, Path(args.output), full=args.full)
    finally:
        ws.close()
    if not res.written:
        out(t(f"上次报送以来没有修改，未写文件 {args.output}", f"nothing changed since the last province bundle: "
              f"{args.output} was not written"))
        return EXIT_OK
    out(t(f"已写出报送省里的数据包 {args.output}：{res.households} 户，加密给 {res.manifest['recipient']['fingerprint']}",
          f"wrote the province bundle {args.output}: {res.households} households, encrypted to "
          f"{res.manifest['recipient']['fingerprint']}"))
    return EXIT_OK


def register(add: AddCommand) -> None:
    sp = add("province", cmd_province, "省级数据库（PostgreSQL）：建表、密钥、登记县、载入县里的数据包、跨县标记；县：报送",
             "the province registry (PostgreSQL): tables, keys, counties, loading county bundles, cross-county "
             "flags; at a county: sending to it")
    ps = sp.add_subparsers(dest="province_cmd", metavar="ACTION", required=True, parser_class=CommandParser)

    def database(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database", required=True, metavar="URL", help=t("postgresql://…", "postgresql://…"))

    p = ps.add_parser("init", help=t("在 PostgreSQL 中建表（可重复运行）", "make the tables in PostgreSQL (safe to repeat)"))
    database(p)
    p = ps.add_parser("keys", help=t("省级密钥：没有则生成，显示指纹，可写出公钥文件",
                                     "the province keys: made if missing, fingerprint shown, key file written"))
    database(p)
    p.add_argument("--region", metavar="NN", help=t("2 位省级代码（第一次生成时需要）", "the 2-digit province code "
                                                   "(needed the first time)"))
    p.add_argument("--name", help=t("省名", "the province's name"))
    p.add_argument("-o", "--output", metavar="FILE", help=t("写出给各县的公钥文件", "write the key file for the counties"))
    p = ps.add_parser("enrol", help=t("登记一个县级工作区的公钥文件", "enrol a county workspace's key file"))
    database(p)
    p.add_argument("file", metavar="FILE")
    p = ps.add_parser("load", help=t("载入县里报送的数据包（每包一个事务，载入过的不重复）",
                                     "load county bundles (one transaction each; a bundle loaded before is a no-op)"))
    database(p)
    p.add_argument("files", metavar="BUNDLE", nargs="+")
    p.add_argument("--json", action="store_true")
    p.add_argument("--workers", type=int, metavar="N", help=t("解析数据包的工作进程数（默认：大文件且有第二个 CPU 时 1 个；0 不用）",
                                                             "worker processes parsing the bundles (default: 1 for "
                                                             "large files on a machine with a second CPU; 0: none)"))
    p = ps.add_parser("flags", help=t("列出跨县重复登记的人（身份证号已遮盖）",
                                      "list people registered in two counties (ID numbers masked)"))
    database(p)
    p.add_argument("--county", metavar="CODE")
    p.add_argument("--json", action="store_true")
    p = ps.add_parser("returns", help=t("给各县写出回传包（跨县标记），标记有变化的才写",
                                        "write return bundles (cross-county flags) for the counties whose flags "
                                        "changed"))
    database(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help=t("写入的目录", "the folder to write to"))
    p.add_argument("--county", metavar="CODE", help=t("只给这个县", "only for this county"))
    p.add_argument("--full", action="store_true", help=t("没有变化也写", "write even when nothing changed"))
    p = ps.add_parser("serve", help=t("只读的网页数据看板（省级、市州级用户登录查看）",
                                      "the read-only web dashboard (for province and city users)"))
    database(p)
    p.add_argument("--host", default="127.0.0.1", help=t("监听的地址（默认 127.0.0.1：只有本机能访问）",
                                                      "the address to listen on (default 127.0.0.1: this machine "
                                                      "only)"))
    p.add_argument("--port", type=int, default=8480, help=t("端口（默认 8480）", "the port (default 8480)"))
    p.add_argument("--tls-cert", metavar="PEM", help=t("HTTPS 证书（与 --tls-key 一起）", "HTTPS certificate (with "
                                                      "--tls-key)"))
    p.add_argument("--tls-key", metavar="PEM", help=t("HTTPS 私钥", "HTTPS private key"))
    p = ps.add_parser("user", help=t("看板的登录账户", "the dashboard's logins"))
    us = p.add_subparsers(dest="user_cmd", metavar="ACTION", required=True, parser_class=CommandParser)
    up = us.add_parser("add", help=t("添加省级或市（州）级用户（新密码从终端、标准输入或 POVDESK_NEW_PASSWORD 读取）",
                                     "add a province or city user (new password from the terminal, stdin or "
                                     "POVDESK_NEW_PASSWORD)"))
    database(up)
    up.add_argument("name", metavar="NAME")
    up.add_argument("--role", required=True, choices=("province", "city"))
    up.add_argument("--region", required=True, metavar="CODE", help=t("省级：2 位省代码；市（州）级：4 位市州代码",
                                                                     "province: the 2-digit province code; city: "
                                                                     "the 4-digit prefecture code"))
    up = us.add_parser("list", help=t("列出看板用户", "list the dashboard's users"))
    database(up)
    up = us.add_parser("disable", help=t("停用看板用户（离职人员：不能再登录）",
                                         "disable a dashboard user (staff who leave: no more logins)"))
    database(up)
    up.add_argument("name", metavar="NAME")
    up = us.add_parser("enable", help=t("重新启用已停用的看板用户", "enable a disabled dashboard user again"))
    database(up)
    up.add_argument("name", metavar="NAME")
    p = ps.add_parser("set-key", help=t("县：设置省级数据库的公钥", "county: learn the province's public keys"))
    p.add_argument("db", metavar="DB")
    p.add_argument("file", metavar="FILE")
    p = ps.add_parser("export", help=t("县：写出报送省里的数据包（上次以来的修改）",
                                       "county: write a province bundle (what changed since the last one)"))
    p.add_argument("db", metavar="DB")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--full", action="store_true", help=t("报送全部户", "send every household"))
    p = ps.add_parser("import", help=t("县：导入省里的回传包（跨县标记）", "county: import the province's return bundles "
                                       "(cross-county flags)"))
    p.add_argument("db", metavar="DB")
    p.add_argument("files", metavar="BUNDLE", nargs="+")
