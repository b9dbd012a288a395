"""The sync commands: device keys, bundles (export, import, inspect, status) and conflicts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from povdesk.cli.common import (
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
    from povdesk.store.sync import Conflict


def cmd_keys(args: argparse.Namespace) -> int:
    from povdesk.sync import service

    readonly = args.keys_cmd in ("show", "export")
    ws = open_workspace(args, readonly=readonly)
    try:
        actor = login(ws)
        if args.keys_cmd == "show":
            card = service.my_card(ws)
            out(t(f"本设备指纹：{card.fingerprint}", f"this device's fingerprint: {card.fingerprint}"))
            out(t(f"设备编号：{card.device_id}（{card.region_code} {card.name}，{card.level}）",
                  f"device id: {card.device_id} ({card.region_code} {card.name}, {card.level})"))
            for p in ws.sync_peers():
                state = "" if p.active else t("（已停用）", " (inactive)")
                rel = {"county": t("县", "county"), "province": t("省", "province")}.get(
                    p.relation, t("已登记设备", "enrolled device"))
                out(f"{rel}\t{p.fingerprint}\t{p.region_code} {p.name}\t{p.device_id}{state}")
        elif args.keys_cmd == "revoke":
            peer = service.revoke(ws, actor, args.device, args.reason or "")
            out(t(f"已停用设备 {peer.region_code} {peer.name} {peer.device_id}（指纹 {peer.fingerprint}）；"
                  f"它的同步包今后不予导入。用中转服务器时请重新载入设备名单（povdesk relay devices load）",
                  f"revoked device {peer.region_code} {peer.name} {peer.device_id} (fingerprint {peer.fingerprint}); "
                  f"its bundles are refused from now on. With a relay, load the device list again "
                  f"(povdesk relay devices load)"))
        elif args.keys_cmd == "export":
            card = service.export_key_file(ws, Path(args.output))
            out(t(f"已导出公钥到 {args.output}；指纹 {card.fingerprint}（请通过电话与对方核对）",
                  f"exported the public keys to {args.output}; fingerprint {card.fingerprint} (compare it by phone)"))
        else:
            relation = "device" if args.keys_cmd == "enrol" else "county"
            card, old = service.trust(ws, actor, Path(args.file), relation)
            what = t("已登记设备", "enrolled device") if relation == "device" else t("已设置县级密钥", "set the county key")
            out(f"{what}: {card.region_code} {card.name} ({card.level}) {card.device_id}")
            out(t(f"指纹：{card.fingerprint} —— 请务必通过电话与对方核对",
                  f"fingerprint: {card.fingerprint} — compare it with the other side by phone"))
            if old is not None and old.fingerprint != card.fingerprint:
                out(t(f"注意：替换了此设备以前的密钥（指纹 {old.fingerprint}）",
                      f"note: this replaces the device's previous key (fingerprint {old.fingerprint})"))
    finally:
        ws.close()
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from povdesk.sync import bundle as fmt
    from povdesk.sync import service

    if args.bundle_cmd == "inspect":
        info = service.inspect(Path(args.file))
        if args.json:
            emit_json(info)
        else:
            for label, value in fmt.describe(info):
                out(f"{label.get()}\t{value}")
            out(t("密文完整" if info["ciphertext_intact"] else "密文与清单不符（已被改动）",
                  "ciphertext intact" if info["ciphertext_intact"] else "ciphertext does NOT match the manifest"))
        return 0 if info["ciphertext_intact"] else 1
    if args.bundle_cmd == "status":
        ws = open_workspace(args, readonly=True)
        try:
            login(ws)
            st = service.status(ws)
        finally:
            ws.close()
        if args.json:
            emit_json(st.to_dict())
        else:
            out(t(f"本设备 {st.fingerprint}，待同步记录序号至 {st.outbox_last}，未处理冲突 {st.open_conflicts}",
                  f"this device {st.fingerprint}, outbox up to {st.outbox_last}, "
                  f"{st.open_conflicts} open conflicts"))
            for p in st.peers:
                out(t(f"{p.region_code} {p.name}：已发出至 {p.sent_up_to}，对方确认收到至 "
                      f"{p.acknowledged_up_to}，尚未确认的户 {p.not_yet_acknowledged_households}，"
                      f"已收到对方至 {p.received_up_to}",
                      f"{p.region_code} {p.name}: sent up to {p.sent_up_to}, acknowledged up to "
                      f"{p.acknowledged_up_to}, {p.not_yet_acknowledged_households} households not yet "
                      f"acknowledged, received from it up to {p.received_up_to}"))
                for br in p.audit_breaks:
                    out(t(f"{p.region_code} {p.name}：审计记录断链（{br.at}）：{br.message['zh']}",
                          f"{p.region_code} {p.name}: audit chain break ({br.at}): {br.message['en']}"))
            lang = language()
            for w in st.waiting:
                who = (t("等县里决定", "waiting on the county") if w.steps and st.level != "county"
                       else t("待处理", "to decide"))
                what = "、".join(t("程序步骤冲突", "clashing procedure steps") if p_ == service.STEPS else p_
                                 for p_ in w.paths)
                ids = ",".join(str(i) for i in w.conflict_ids)
                out(f"{who}	{w.household_no}	{what}	{t('冲突', 'conflicts')} {ids}")
            for flag in st.flags:
                src = {"county": t("县", "county"), "province": t("省", "province")}.get(flag.source,
                                                                                       t("导入", "import"))
                out(f"{src}\t{flag.household_no}\t{flag.rule}\t{flag.message[lang]}\t{flag.created_at}")
        return 0
    if args.bundle_cmd == "export":
        ws = open_workspace(args)
        try:
            actor = login(ws)
            res = service.export_bundle(ws, actor, Path(args.output), full=args.full, to=args.to)
        finally:
            ws.close()
        first, last = res.seq
        if not res.written:
            out(t(f"没有新的内容要发给对方（已发送至序号 {first - 1}，对方尚未见到的确认和决定也没有），未写文件 {args.output}",
                  f"nothing new to send (sent up to sequence {first - 1}; no acknowledgement or decision the "
                  f"other side has not had): {args.output} was not written"))
            return 0
        out(t(f"已导出同步包 {args.output}：{res.households} 户，序号 {first}–{last}，加密给 {res.recipient_fingerprint}",
              f"exported bundle {args.output}: {res.households} households, sequences {first}–{last}, "
              f"encrypted to {res.recipient_fingerprint}"))
        return 0
    # import
    ws = open_workspace(args)
    try:
        actor = login(ws)
        from povdesk.ops.importing import decision_pool

        files = [Path(f) for f in args.files]
        with decision_pool(files, args.workers) as pool:
            accept = [service.resolve_device(ws, ref).device_id for ref in args.accept_history or ()]
            reports = service.import_bundles(ws, actor, files, executor=pool, lookahead=max(1, args.workers or 1),
                                             accept_history=accept)
    finally:
        ws.close()
    lang = language()
    summaries = [r.summary() for r in reports]
    totals = {"applied": sum(s.applied for s in summaries), "rejected": sum(s.rejected for s in summaries),
              "conflicted": sum(s.conflicted for s in summaries),
              "with_findings": sum(s.with_findings for s in summaries),
              "flagged": sum(s.flagged for s in summaries), "audit_problems": sum(s.audit_problems for s in summaries)}
    if args.json:
        emit_json({"bundles": [r.to_dict() for r in reports], "summary": totals})
    else:
        for r, s in zip(reports, summaries, strict=True):
            if r.result == "skipped":
                out(f"{r.file}：{r.note}" if lang == "zh" else f"{r.file}: {r.note}")
                continue
            for rec in r.records:
                verdict = t("拒绝", "rejected") if rec.result == "rejected" else t("未改", "unchanged")
                for reason in rec.reasons:
                    out(f"{r.file}\t{rec.household_no}\t{verdict}\t{reason[lang]}")
                for c in rec.conflicts:
                    if c["path"] == service.STEPS:
                        out(f"{r.file}\t{rec.household_no}\t{t('冲突', 'conflict')}\t{t('程序步骤', 'procedure steps')}"
                            f"\t{service.steps_summary(c['local'], lang)} ≠ {service.steps_summary(c['remote'], lang)}")
                        continue
                    out(f"{r.file}\t{rec.household_no}\t{t('冲突', 'conflict')}\t{c['path']}\t"
                        f"{json.dumps(c['local'], ensure_ascii=False)} ≠ {json.dumps(c['remote'], ensure_ascii=False)}")
            for f in r.flags:
                out(f"{r.file}\t{f['household_no']}\t{f['rule']}\t{f['message'][lang]}")
            for step in r.county_steps:
                out(f"{r.file}\t{step['household_no']}\tCOUNTY-STEP\t{step['message'][lang]}")
            for problem in r.audit_problems:
                out(f"{r.file}\t{t('审计记录断链', 'audit chain break')}\t{problem[lang]}")
            out(t(f"{r.file}：新增 {s.inserted}，合并 {s.merged}，无变化 {s.unchanged}，拒绝 {s.rejected}，"
                  f"有冲突 {s.conflicted}，有待改问题 {s.with_findings}，跨户问题 {s.flagged}",
                  f"{r.file}: {s.inserted} inserted, {s.merged} merged, {s.unchanged} unchanged, "
                  f"{s.rejected} rejected, {s.conflicted} with conflicts, {s.with_findings} with "
                  f"findings, {s.flagged} flagged"))
    return 1 if totals["rejected"] or totals["conflicted"] or totals["flagged"] or totals["audit_problems"] else 0


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # a bare word is taken as text


def _conflict_dict(c: Conflict) -> dict[str, Any]:
    return {"id": c.id, "household_id": c.household_id, "household_no": c.household_no, "path": c.path,
            "peer": c.peer, "base": c.base, "local": c.local, "remote": c.remote, "status": c.status,
            "created_at": c.created_at, "resolved_at": c.resolved_at, "resolved_by": c.resolved_by,
            "resolution": c.resolution, "value": c.value}


def cmd_conflicts(args: argparse.Namespace) -> int:
    from povdesk.sync import service

    ws = open_workspace(args, readonly=args.conflicts_cmd != "resolve")
    try:
        actor = login(ws)
        if args.conflicts_cmd == "list":
            items = service.list_conflicts(ws, None if args.all else "open")
            if args.json:
                emit_json([_conflict_dict(c) for c in items])
            else:
                lang = language()
                for c in items:
                    if c.path == service.STEPS:
                        out(f"{c.id}\t{c.status}\t{c.household_no}\t{t('程序步骤', 'procedure steps')}\t"
                            f"{t('本方', 'here')}: {service.steps_summary(c.local, lang)} ≠ "
                            f"{t('对方', 'there')}: {service.steps_summary(c.remote, lang)}")
                        continue
                    out(f"{c.id}\t{c.status}\t{c.household_no}\t{c.path}\t"
                        f"{json.dumps(c.local, ensure_ascii=False)} ≠ {json.dumps(c.remote, ensure_ascii=False)}")
                out(t(f"共 {len(items)} 个冲突", f"{len(items)} conflicts"))
            return 1 if any(c.status == "open" for c in items) else 0
        if args.conflicts_cmd == "show":
            c = service.get_conflict(ws, args.id)
            d = _conflict_dict(c)
            if args.json:
                emit_json(d)
            else:
                for k, v in d.items():
                    out(f"{k}\t{json.dumps(v, ensure_ascii=False)}")
            return 0
        if args.take is None and args.value is None:
            raise BadInput(Text("请用 --take local|remote 或 --value 指明取值", "say --take local|remote or --value"))
        if args.take is not None and args.value is not None:
            raise BadInput(Text("--take 和 --value 只能用一个", "use either --take or --value, not both"))
        if args.value is not None:
            done = service.resolve_conflict(ws, actor, args.id, None, _value(args.value))
        else:
            done = service.resolve_conflict(ws, actor, args.id, args.take)
        if done.path == service.STEPS:
            side = t("本方", "this side's") if done.resolution == "local" else t("对方", "the other side's")
            n = len(done.value or [])
            out(t(f"已处理冲突 {done.id}：{done.household_no} 保留{side}的程序步骤，作废另一方的 {n} 步（决定随下一个回传包送达）",
                  f"resolved conflict {done.id}: {done.household_no} keeps {side} procedure steps; {n} of the "
                  f"other side's voided (the decision goes down in the next return bundle)"))
            return 0
        out(t(f"已处理冲突 {done.id}：{done.household_no} {done.path} = {json.dumps(done.value, ensure_ascii=False)}",
              f"resolved conflict {done.id}: {done.household_no} {done.path} = "
              f"{json.dumps(done.value, ensure_ascii=False)}"))
    finally:
        ws.close()
    return 0


def register(add: AddCommand) -> None:
    """Add this package's subcommands: add(name, func, help_zh, help_en) returns the subparser."""
    sp = add("keys", cmd_keys, "设备密钥：查看指纹、导出公钥、登记设备、设置县级密钥",
             "device keys: show the fingerprint, export, enrol a device, set the county key")
    ks = sp.add_subparsers(dest="keys_cmd", metavar="ACTION", required=True, parser_class=CommandParser)
    p = ks.add_parser("show", help=t("显示本设备指纹和已登记的设备", "show this device's fingerprint and trusted devices"))
    p.add_argument("db", metavar="DB")
    p = ks.add_parser("export", help=t("导出本设备公钥文件（带签名）", "write this device's signed public-key file"))
    p.add_argument("db", metavar="DB")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p = ks.add_parser("enrol", help=t("县：信任一台村设备（核对指纹）", "county: trust a village device (compare the fingerprint)"))
    p.add_argument("db", metavar="DB")
    p.add_argument("file", metavar="FILE")
    p = ks.add_parser("revoke", help=t("县：停用一台村设备（丢失、被盗、更换）", "county: revoke a village device "
                                        "(lost, stolen, replaced)"))
    p.add_argument("db")
    p.add_argument("device", metavar="DEVICE", help=t("设备编号（或开头）、指纹或村代码", "device id (or its start), "
                                                       "fingerprint or village code"))
    p.add_argument("--reason", required=True, help=t("停用原因（记入审计）", "why (kept in the audit log)"))
    p = ks.add_parser("set-county", help=t("村：设置县级工作区的公钥", "village: learn the county's public keys"))
    p.add_argument("db", metavar="DB")
    p.add_argument("file", metavar="FILE")

    sp = add("bundle", cmd_bundle, "同步包：导出、导入、查看、同步状态",
             "sync bundles: export, import, inspect, status")
    bs = sp.add_subparsers(dest="bundle_cmd", metavar="ACTION", required=True, parser_class=CommandParser)
    p = bs.add_parser("export", help=t("导出自上次以来的全部修改（加密并签名）",
                                       "export every change since the last bundle (encrypted and signed)"))
    p.add_argument("db", metavar="DB")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--full", action="store_true", help=t("导出全部记录", "export every record"))
    p.add_argument("--to", metavar="DEVICE", help=t("县：回传给哪台设备（设备编号、指纹或村代码）",
                                                    "county: the device to send to (device id, fingerprint or village code)"))
    p = bs.add_parser("import", help=t("导入同步包：先全部校验，再在一个事务中合并",
                                       "import bundles: everything verified first, then merged in one transaction"))
    p.add_argument("db", metavar="DB")
    p.add_argument("files", metavar="FILE", nargs="+")
    add_workers_option(p)
    p.add_argument("--accept-history", action="append", metavar="DEVICE",
                   help=t("县：接受该设备改写或截断过的审计历史（核实后；记入审计）",
                          "county: take this device's rewritten or cut audit history as it now is (after looking "
                          "into it; audited)"))
    p.add_argument("--json", action="store_true")
    p = bs.add_parser("inspect", help=t("显示同步包清单（不解密）", "show a bundle's manifest without decrypting"))
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p = bs.add_parser("status", help=t("显示哪些修改尚未被对方确认收到", "show what has not yet reached the other side"))
    p.add_argument("db", metavar="DB")
    p.add_argument("--json", action="store_true")

    sp = add("conflicts", cmd_conflicts, "同步冲突：列出、查看、处理", "sync conflicts: list, show, resolve")
    cs = sp.add_subparsers(dest="conflicts_cmd", metavar="ACTION", required=True, parser_class=CommandParser)
    p = cs.add_parser("list", help=t("列出未处理的冲突", "list open conflicts"))
    p.add_argument("db", metavar="DB")
    p.add_argument("--all", action="store_true", help=t("包括已处理的", "include resolved ones"))
    p.add_argument("--json", action="store_true")
    p = cs.add_parser("show", help=t("显示一个冲突的双方取值", "show both values of a conflict"))
    p.add_argument("db", metavar="DB")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--json", action="store_true")
    p = cs.add_parser("resolve", help=t("处理冲突：取本地、对方或指定值", "resolve: take the local, the remote or a given value"))
    p.add_argument("db", metavar="DB")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--take", choices=["local", "remote"])
    p.add_argument("--value", metavar="JSON", help=t("指定值（JSON，或纯文本）", "the value (JSON, or plain text)"))
