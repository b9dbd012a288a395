"""The relay commands: run the relay, its device list, and a workspace's upload and fetch through it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from povdesk.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    AddCommand,
    CommandParser,
    add_workers_option,
    emit_json,
    language,
    login,
    open_workspace,
    out,
    t,
)
from povdesk.errors import BadInput
from povdesk.i18n import Text

if TYPE_CHECKING:
    from povdesk.relay.exchange import OutboxItem


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(Text(f"--listen 应为 主机:端口（如 127.0.0.1:8470），而不是“{value}”",
                            f"--listen must be HOST:PORT (e.g. 127.0.0.1:8470), not '{value}'"))
    return host.strip("[]"), int(port)


def _key_path(args: argparse.Namespace) -> Path:
    given = getattr(args, "key_file", None) or args.key
    if given:
        return Path(given)
    from povdesk.paths import user_data_dir

    return user_data_dir() / "relay-key.pem"


def cmd_relay(args: argparse.Namespace) -> int:
    sub = getattr(args, "relay_cmd", None)
    if sub == "devices":
        return _devices(args)
    if sub == "key":
        from povdesk.relay import signing

        key = signing.load_or_create_key(_key_path(args))
        out(t(f"中转服务器密钥指纹：{signing.relay_fingerprint(signing.raw_public(key))}（告诉各村，设置时核对）",
              f"relay key fingerprint: {signing.relay_fingerprint(signing.raw_public(key))} (give it to the "
              f"villages to compare when they connect)"))
        return EXIT_OK
    if sub == "connect":
        return _connect(args)
    if sub == "status":
        return _status(args)
    if sub == "prune":
        return _prune(args)
    return _serve(args)


def _prune(args: argparse.Namespace) -> int:
    from povdesk.clock import SYSTEM_CLOCK
    from povdesk.relay import db, server

    if args.days is not None and args.days < 0:
        raise BadInput(Text("--days 不能为负数", "--days cannot be negative"))
    engine = db.make_engine(args.list_database)
    db.create_schema(engine)
    limits = server.Limits()
    partial, delivered = server.prune(engine, SYSTEM_CLOCK,
                                      limits.keep_partial_days if args.days is None else args.days,
                                      limits.keep_delivered_days if args.days is None else args.days)
    mib = (partial.bytes + delivered.bytes) / (1 << 20)
    out(t(f"已清理未完成的上传 {partial.abandoned_uploads} 个、已送达并确认的同步包 {delivered.delivered_bundles} 个"
          f"（{mib:.1f} MiB）", f"pruned {partial.abandoned_uploads} abandoned uploads and {delivered.delivered_bundles} "
          f"delivered and acknowledged bundles ({mib:.1f} MiB)"))
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    if not args.database or not args.listen:
        raise BadInput(Text("请给出 --database 和 --listen（见 povdesk relay --help）",
                            "give --database and --listen (see povdesk relay --help)"))
    host, port = _listen(args.listen)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise BadInput(Text("--tls-cert 和 --tls-key 须一起给出", "--tls-cert and --tls-key go together"))
    for f in (args.tls_cert, args.tls_key):
        if f and not Path(f).is_file():
            raise BadInput(Text(f"找不到文件：{f}", f"no such file: {f}"))
    import uvicorn

    from povdesk.relay import signing
    from povdesk.relay.server import Limits, create_app

    limits = Limits(**{k: v for k, v in (("max_request", args.max_request), ("rate_per_minute", args.rate_limit))
                       if v is not None})
    app = create_app(args.database, _key_path(args), limits=limits)
    fp = signing.relay_fingerprint(app.state.relay.public)
    scheme = "https" if args.tls_cert else "http"
    out(t(f"povdesk 中转服务器：{scheme}://{host}:{port}，密钥指纹 {fp}",
          f"povdesk relay: {scheme}://{host}:{port}, key fingerprint {fp}"))
    if args.tls_cert:
        from povdesk.relay.client import cert_fingerprint

        try:
            cert_fp = cert_fingerprint(Path(args.tls_cert).read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError, ValueError):
            raise BadInput(Text(f"不是 PEM 证书：{args.tls_cert}", f"not a PEM certificate: {args.tls_cert}")) from None
        out(t(f"HTTPS 证书指纹（SHA-256）：{cert_fp}", f"HTTPS certificate fingerprint (SHA-256): {cert_fp}"))
    sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key,
                log_level="warning", timeout_keep_alive=5, server_header=False)
    return EXIT_OK


def _devices(args: argparse.Namespace) -> int:
    from povdesk.relay import exchange

    if args.devices_cmd == "export":
        ws = open_workspace(args, readonly=True)
        try:
            actor = login(ws)
            text = exchange.device_list(ws, actor, args.revoke)
        finally:
            ws.close()
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(Text(f"无法写入文件：{exc.strerror}", f"cannot write the file: {exc.strerror}"),
                           where=args.output) from None
        out(t(f"已写出设备名单 {args.output}", f"wrote the device list {args.output}"))
        return EXIT_OK
    if args.devices_cmd == "push":
        ws = open_workspace(args, readonly=True)
        try:
            actor = login(ws)
            text = exchange.device_list(ws, actor, args.revoke)
            with exchange.client_for(ws) as cl:
                res = cl.put_devices(text.encode("utf-8"))
        finally:
            ws.close()
        out(t(f"中转服务器已载入设备名单：{res.get('devices')} 台设备，停用 {res.get('revoked')} 台",
              f"the relay loaded the device list: {res.get('devices')} devices, {res.get('revoked')} revoked"))
        return EXIT_OK
    from povdesk.clock import SYSTEM_CLOCK
    from povdesk.relay import db, server, signing

    if not args.list_database:
        raise BadInput(Text("请给出 --database", "give --database"))
    engine = db.make_engine(args.list_database)
    db.create_schema(engine)
    if args.devices_cmd == "list":
        with db.transaction(engine) as c:
            rows = db.all_devices(c)
        for d in rows:
            state = t("已停用", "revoked") if d.revoked else t("有效", "active")
            out(f"{d.region_code}\t{d.level}\t{d.fingerprint}\t{d.device_id}\t{state}")
        return EXIT_OK
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(Text(f"无法打开文件：{exc.strerror}", f"cannot open the file: {exc.strerror}"),
                       where=str(path)) from None
    dl = signing.read_device_list(raw, str(path))
    try:
        loaded = server.load_device_list(engine, dl, SYSTEM_CLOCK.now_iso(), allow_new_county=True)
    except server.Refusal as r:
        raise BadInput(r.text, where=str(path)) from None
    if loaded.new_county:
        out(t(f"新的县 {dl.county_region}，县级密钥指纹 {dl.county_fingerprint} —— 请务必通过电话与县里核对",
              f"new county {dl.county_region}, county key fingerprint {dl.county_fingerprint} — compare it with "
              f"the county by phone"))
    out(t(f"已载入设备名单（编号 {loaded.serial}）：{loaded.devices} 台设备，停用 {loaded.revoked} 台",
          f"loaded the device list (serial {loaded.serial}): {loaded.devices} devices, {loaded.revoked} revoked"))
    return EXIT_OK


def _connect(args: argparse.Namespace) -> int:
    from povdesk.relay import exchange

    ws = open_workspace(args)
    try:
        actor = login(ws)
        ln = exchange.connect(ws, actor, args.url, args.fingerprint, Path(args.tls_cert) if args.tls_cert else None,
                              args.tls_fingerprint)
    finally:
        ws.close()
    out(t(f"已设置中转服务器 {ln.url}（指纹 {ln.fingerprint}{'，证书已固定' if ln.tls_cert else ''}）",
          f"the relay is set: {ln.url} (fingerprint {ln.fingerprint}{', certificate pinned' if ln.tls_cert else ''})"))
    return EXIT_OK


def _print_items(items: list[OutboxItem], as_json: bool) -> None:
    if as_json:
        emit_json([i.to_dict() for i in items])
        return
    lang = language()
    for i in items:
        out(f"{Path(i.file).name}\t{i.seq[0]}–{i.seq[1]}\t{i.label(lang)}")


def _status(args: argparse.Namespace) -> int:
    from povdesk.relay import exchange

    ws = open_workspace(args, readonly=True)
    try:
        login(ws)
        items = exchange.outbox_items(ws)
        ln = exchange.link(ws)
    finally:
        ws.close()
    if not args.json:
        out(t(f"中转服务器：{ln.url}（{ln.fingerprint}）" if ln else "未设置中转服务器",
              f"relay: {ln.url} ({ln.fingerprint})" if ln else "no relay set"))
    _print_items(items, args.json)
    return EXIT_OK


def cmd_upload(args: argparse.Namespace) -> int:
    from povdesk.relay import exchange

    ws = open_workspace(args)
    try:
        actor = login(ws)
        report = exchange.upload(ws, actor, export=not args.no_export)
    finally:
        ws.close()
    _print_items(report.items, args.json)
    if report.error is not None:
        print(f"povdesk: {report.error.get(language())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.json:
        out(t(f"本次上传 {report.uploaded} 个同步包，被拒绝 {report.refused} 个",
              f"{report.uploaded} bundles uploaded, {report.refused} refused"))
    return EXIT_FINDINGS if report.refused else EXIT_OK


def cmd_fetch(args: argparse.Namespace) -> int:
    from povdesk.ops.importing import decision_pool
    from povdesk.relay import exchange

    ws = open_workspace(args)
    try:
        actor = login(ws)
        with decision_pool([], args.workers) as pool:
            report = exchange.fetch(ws, actor, executor=pool)
    finally:
        ws.close()
    lang = language()
    if args.json:
        emit_json({"bundles": [r.to_dict() for r in report.reports], "held": report.held,
                   "refused": [{"file": str(p), "message": m.as_dict()} for p, m in report.refused]})
    else:
        for r in report.reports:
            s = r.summary()
            out(t(f"{r.file}：新增 {s.inserted}，合并 {s.merged}，无变化 {s.unchanged}，拒绝 {s.rejected}，有冲突 "
                  f"{s.conflicted}，跨户问题 {s.flagged}",
                  f"{r.file}: {s.inserted} inserted, {s.merged} merged, {s.unchanged} unchanged, {s.rejected} "
                  f"rejected, {s.conflicted} with conflicts, {s.flagged} flagged"))
        for path, msg in report.refused:
            out(t(f"{path}：未导入：{msg.get(lang)}（文件已保留）", f"{path}: not imported: {msg.get(lang)} (the file is "
                  f"kept)"))
        out(t(f"取回 {len(report.fetched)} 个同步包" + (f"，中转服务器还暂存 {report.held} 个（前面缺序号）"
                                                        if report.held else ""),
              f"fetched {len(report.fetched)} bundles" + (f"; the relay holds {report.held} more behind a gap"
                                                          if report.held else "")))
    findings = any(s.rejected or s.conflicted or s.flagged or s.audit_problems
                   for s in (r.summary() for r in report.reports))
    return EXIT_FINDINGS if report.refused or findings else EXIT_OK


def register(add: AddCommand) -> None:
    """Add this package's subcommands: add(name, func, help_zh, help_en) returns the subparser."""
    sp = add("relay", cmd_relay, "中转服务器：运行服务、设备名单、设置本工作区使用的中转服务器",
             "the relay: run it, its device list, set the relay this workspace uses")
    sp.add_argument("--database", metavar="URL", help=t("sqlite:///文件 或 postgresql+psycopg://…",
                                                        "sqlite:///FILE or postgresql+psycopg://…"))
    sp.add_argument("--listen", metavar="HOST:PORT", help=t("监听地址，如 127.0.0.1:8470", "where to listen, "
                                                            "e.g. 127.0.0.1:8470"))
    sp.add_argument("--key", metavar="FILE", help=t("中转服务器自己的签名密钥（没有则生成）",
                                                    "the relay's own signing key (made if missing)"))
    sp.add_argument("--tls-cert", metavar="FILE", help=t("HTTPS 证书", "HTTPS certificate"))
    sp.add_argument("--tls-key", metavar="FILE", help=t("HTTPS 证书私钥", "HTTPS certificate key"))
    sp.add_argument("--max-request", type=int, metavar="BYTES", help=t("一次请求最多多少字节（默认 16 MiB）",
                                                                       "the largest request body (default 16 MiB)"))
    sp.add_argument("--rate-limit", type=int, metavar="N", help=t("每台设备每分钟最多请求数（默认 600）",
                                                                  "requests per device per minute (default 600)"))
    rs = sp.add_subparsers(dest="relay_cmd", metavar="ACTION", parser_class=CommandParser)
    p = rs.add_parser("key", help=t("显示中转服务器密钥的指纹（没有则生成）", "show the relay key's fingerprint "
                                    "(made if missing)"))
    p.add_argument("--key", dest="key_file", metavar="FILE", help=t("密钥文件", "the key file"))
    p = rs.add_parser("devices", help=t("县的设备名单：导出、上传、在服务器上载入、列出",
                                        "the county's device list: export, push, load on the relay, list"))
    ds = p.add_subparsers(dest="devices_cmd", metavar="ACTION", required=True, parser_class=CommandParser)
    q = ds.add_parser("export", help=t("县：写出签名的设备名单", "county: write the signed device list"))
    q.add_argument("db", metavar="DB")
    q.add_argument("-o", "--output", required=True, metavar="FILE")
    q.add_argument("--revoke", action="append", metavar="DEVICE", help=t("停用这台设备（设备编号或指纹）",
                                                                        "revoke this device (device id or fingerprint)"))
    q = ds.add_parser("push", help=t("县：把新的设备名单发给中转服务器", "county: send a newer device list to the relay"))
    q.add_argument("db", metavar="DB")
    q.add_argument("--revoke", action="append", metavar="DEVICE", help=t("停用这台设备（设备编号或指纹）",
                                                                        "revoke this device (device id or fingerprint)"))
    q = ds.add_parser("load", help=t("在中转服务器上载入县的设备名单", "on the relay machine: load a county's list"))
    q.add_argument("--database", dest="list_database", metavar="URL", required=True)
    q.add_argument("file", metavar="FILE")
    q = ds.add_parser("list", help=t("列出中转服务器认识的设备", "list the devices the relay knows"))
    q.add_argument("--database", dest="list_database", metavar="URL", required=True)
    p = rs.add_parser("connect", help=t("设置本工作区使用的中转服务器（核对指纹）",
                                        "set the relay this workspace uses (compare the fingerprint)"))
    p.add_argument("db", metavar="DB")
    p.add_argument("url", metavar="URL")
    p.add_argument("--fingerprint", required=True, metavar="FP", help=t("县里告诉您的中转服务器指纹",
                                                                        "the relay fingerprint the county gave"))
    p.add_argument("--tls-cert", metavar="FILE", help=t("中转服务器的 HTTPS 证书（只信任它）",
                                                        "the relay's HTTPS certificate (the only one trusted)"))
    p.add_argument("--tls-fingerprint", metavar="SHA256", help=t(
        "中转服务器 HTTPS 证书的 SHA-256 指纹：取它出示的证书，指纹相符才固定", "the SHA-256 fingerprint of the relay's "
        "HTTPS certificate: the certificate it presents is pinned only if it matches"))
    p = rs.add_parser("prune", help=t("在中转服务器上清理未完成的上传和已送达并确认的同步包",
                                      "on the relay machine: drop abandoned uploads and delivered, acknowledged bundles"))
    p.add_argument("--database", dest="list_database", metavar="URL", required=True)
    p.add_argument("--days", type=float, metavar="N", help=t(
        "保留天数（默认：未完成的上传 7 天，已确认的同步包 30 天）",
        "days to keep (default: 7 for abandoned uploads, 30 for acknowledged bundles)"))
    p = rs.add_parser("status", help=t("列出待上传和已上传的同步包及其状态", "list the queued and uploaded bundles"))
    p.add_argument("db", metavar="DB")
    p.add_argument("--json", action="store_true")

    u = add("upload", cmd_upload, "上传：导出新的修改，把待上传的同步包送到中转服务器",
            "upload: export what is new and send the queued bundles to the relay")
    u.add_argument("db", metavar="DB")
    u.add_argument("--no-export", action="store_true", help=t("不导出新的同步包，只上传已排队的",
                                                              "only send what is queued; export nothing new"))
    u.add_argument("--json", action="store_true")

    f = add("fetch", cmd_fetch, "取回：从中转服务器取回发给本工作区的同步包并导入",
            "fetch: get the bundles addressed to this workspace from the relay and import them")
    f.add_argument("db", metavar="DB")
    add_workers_option(f)
    f.add_argument("--json", action="store_true")
