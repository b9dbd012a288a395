"""Flags going back down: the province's return bundles to its counties, and their import at a county.

A return bundle is the sync bundle container (povdesk.sync.bundle) with kind "province-return":
signed with the province's Ed25519 key, encrypted to the county workspace's X25519 key (from the
key file the province enrolled). Its payload is JSON Lines: a header (the county, the count of
flags, the bundle's sequence for that county), then one line per flagged member: the household,
the member, the rule and the message (Chinese and English, ID numbers masked), naming every other
county and household the person is also found in.

Each bundle carries the county's whole current set of province flags, so the county replaces its
set with it: a flag the province no longer finds (one side corrected its record) goes at the next
return. The province numbers the returns of each county; a county imports only a newer one than
it has (an old file imported late changes nothing). Once imported, the flags are the county's own
(source "province"): `bundle status` lists them, and the county's return bundles carry them to the
villages of the households concerned like the duplicates it finds itself.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.core.idnumber import mask
from povdesk.core.permissions import require
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.province import db
from povdesk.province.export import EXCHANGE, LEVEL, province_peer
from povdesk.store import Workspace
from povdesk.store import sync as tables
from povdesk.store.codec import dumps, loads
from povdesk.store.users import User
from povdesk.sync import bundle as fmt
from povdesk.sync.keys import fingerprint

KIND = "province-return"
SOURCE = "province"  # the county's sync_flags rows that came from the province
SCHEMA_VERSION = 1


# ---------------------------------------------------------------------------------------------
# The province's side


def _message(rule: str, name: str, id_number: str, others: Sequence[dict[str, Any]]) -> dict[str, str]:
    where_zh = "；".join(f"{o['county_name']}（{o['other_county']}）户 {o['other_household_no']} 的 {o['other_name']}"
                         for o in others)
    where_en = "; ".join(f"{o['other_name']} of household {o['other_household_no']} in {o['county_name']} "
                         f"({o['other_county']})" for o in others)
    if rule == db.DUP_RULE:
        return {"zh": f"省级比对：身份证号 {mask(id_number)} 的 {name} 也登记在 {where_zh}，请核实只在一处登记",
                "en": f"province check: {name}, ID number {mask(id_number)}, is also registered as {where_en}; make "
                      "sure the person is registered in one place only"}
    return {"zh": f"省级比对：{name}（身份证号 {mask(id_number)}）与 {where_zh} 姓名、性别、出生日期相同而身份证号不同，"
                  "请核实是否同一人",
            "en": f"province check: {name} (ID number {mask(id_number)}) has the name, sex and birth date of {where_en} "
                  "under another ID number; check whether they are the same person"}


def county_flags(rows: Sequence[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """The province's flag rows of one county as the county stores them: one per (household,
    rule, member), naming every other county and household, ordered."""
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault((r["household_id"], r["rule"], r["member_id"]), []).append(r)
    out = []
    for (hid, rule, member), group in sorted(grouped.items()):
        group.sort(key=lambda r: (r["other_county"], r["other_household_no"], r["other_member_id"]))
        others = [{**r, "county_name": names.get(r["other_county"], r["other_county"])} for r in group]
        first = group[0]
        out.append({"household_id": hid, "household_no": first["household_no"], "rule": rule, "member_id": member,
                    "message": _message(rule, first["name"], first["id_number"], others),
                    "others": [{"county": r["other_county"], "household_id": r["other_household_id"],
                                "household_no": r["other_household_no"]} for r in group]})
    return out


@dataclass(frozen=True)
class ReturnResult:
    county: str
    path: Path | None  # None: nothing changed since the last return to this county
    flags: int
    seq: int


def export_returns(engine: Engine, out_dir: Path, county: str | None = None, *, force: bool = False,
                   clock: Clock = SYSTEM_CLOCK) -> list[ReturnResult]:
    """A return bundle for each enrolled county (or the one named) whose set of flags changed since
    its last return (every one with `force`), written into `out_dir` as CODE-return-SEQ.pvb."""
    if not out_dir.is_dir():
        raise BadInput(tr("输出目录不存在", "the output folder does not exist"), where=str(out_dir))
    results = []
    with engine.connect() as conn:
        db.require_schema(conn)
        k = db.get_keys(conn)
        if k is None:
            raise BadInput(tr("还没有省级密钥：请先运行 povdesk province keys", "there are no province keys yet: run "
                              "povdesk province keys first"))
        enrolled = [c for c in db.list_counties(conn) if c.active]
        if county is not None:
            db.check_county(county)
            enrolled = [c for c in enrolled if c.county_code == county]
            if not enrolled:
                raise BadInput(tr("县 {c} 没有登记（povdesk province enrol）", "county {c} is not enrolled (povdesk "
                                  "province enrol)", c=county))
        names = {c.county_code: c.name for c in db.list_counties(conn)}
    me = {"device_id": k.device_id, "workspace_id": k.device_id, "region_code": k.region_code, "level": LEVEL,
          "name": k.name, "fingerprint": fingerprint(k.sign_public, k.box_public)}
    for c in enrolled:
        if c.box_public is None:
            raise BadInput(tr("县 {c} 是在本版本之前登记的，省里没有它的加密公钥：请用 povdesk province enrol 重新登记它的密钥文件",
                              "county {c} was enrolled before this version and the province lacks its encryption "
                              "key: enrol its key file again with povdesk province enrol", c=c.county_code))
        with db.transaction(engine) as conn:
            items = county_flags(db.flag_rows(conn, c.county_code), names)
            lines = [dumps(i).encode("utf-8") for i in items]
            digest = hashlib.sha256(b"\n".join(lines)).hexdigest()
            last = conn.execute(select(db.returns.c.seq, db.returns.c.digest).where(
                db.returns.c.county_code == c.county_code).order_by(db.returns.c.seq.desc()).limit(1)).first()
            if last is not None and last.digest == digest and not force:
                results.append(ReturnResult(c.county_code, None, len(items), int(last.seq)))
                continue
            seq = int(conn.execute(select(func.coalesce(func.max(db.returns.c.seq), 0))
                                   .where(db.returns.c.county_code == c.county_code)).scalar() or 0) + 1
            bundle_id = str(uuid.uuid4())
            sealer = fmt.Sealer()
            sealer.feed(dumps({"county": c.county_code, "flags": len(items), "seq": seq}).encode("utf-8") + b"\n")
            for line in lines:
                sealer.feed(line + b"\n")
            ciphertext, payload = sealer.finish(c.box_public, bundle_id, k.device_id)
            now = clock.now_iso()
            manifest = {
                "format": fmt.FORMAT, "format_version": fmt.FORMAT_VERSION, "schema_version": SCHEMA_VERSION,
                "bundle_id": bundle_id, "kind": KIND, "full": True, "created_at": now, "sender": me,
                "recipient": {"device_id": c.device_id, "fingerprint": c.fingerprint, "region_code": c.county_code},
                "villages": sorted({str(i["household_no"]).split("-")[0] for i in items}),
                "seq": {"first": seq, "last": seq}, "ack": 0, "counts": {"flags": len(items)}, "payload": payload,
            }
            path = out_dir / f"{c.county_code}-return-{seq}.pvb"
            conn.execute(db.returns.insert().values(bundle_id=bundle_id, county_code=c.county_code, seq=seq,
                                                    flags=len(items), digest=digest, created_at=now))
            fmt.write(path, manifest, ciphertext, k.sign_private)  # before the commit: no row without its file
            results.append(ReturnResult(c.county_code, path, len(items), seq))
    return results


# ---------------------------------------------------------------------------------------------
# The county's side


@dataclass(frozen=True)
class ReturnImport:
    path: Path
    bundle_id: str
    seq: int
    flags: int  # the province's flags now held by the county
    added: int  # new or changed
    removed: int  # flags the province no longer finds
    skipped: str = ""  # "already" (this bundle) or "older" (an older return than one imported)


def _refuse(where: str, zh: str, en: str, **values: object) -> fmt.BundleRefused:
    return fmt.BundleRefused(tr(zh, en, **values), where=where)


def import_return(ws: Workspace, actor: User, path: Path) -> ReturnImport:
    """Check a return bundle from the province (kind, addressee, sender, signature, digest,
    decryption, header) and replace the county's province flags with its set, in one transaction."""
    require(actor.role, EXCHANGE)
    if ws.level != "county":
        raise BadInput(tr("只有县级工作区导入省里的回传包（本工作区是{l}级）",
                          "only a county workspace imports the province's return bundles (this one is a {l} "
                          "workspace)", l=ws.level))
    peer = province_peer(ws)
    raw = fmt.read(path)
    m, where = raw.manifest, raw.where
    if m["kind"] != KIND:
        raise _refuse(where, "这不是省里的回传包（类型“{k}”）", "this is not a return bundle from the province (kind '{k}')",
                      k=m["kind"])
    keys = ws.device_keys()
    mine = fingerprint(keys["sign"][1], keys["box"][1])
    if m["recipient"]["device_id"] != ws.device_id or m["recipient"]["fingerprint"] != mine:
        raise _refuse(where, "回传包不是发给本县工作区的（收件方指纹 {f}，本工作区 {me}）",
                      "the return bundle is addressed to another workspace (fingerprint {f}; this one is {me})",
                      f=m["recipient"]["fingerprint"], me=mine)
    if m["sender"]["device_id"] != peer.device_id or m["sender"]["fingerprint"] != peer.fingerprint:
        raise _refuse(where, "回传包来自另一个省级数据库（指纹 {f}，本县设置的是 {e}）",
                      "the return bundle comes from another province database (fingerprint {f}; this county's is "
                      "{e})", f=m["sender"]["fingerprint"], e=peer.fingerprint)
    if not fmt.signature_ok(raw, peer.sign_public):
        raise _refuse(where, "回传包签名无效：文件被改动过，或不是省里的密钥签名的",
                      "the return bundle's signature is invalid: the file was altered, or the province's key did not "
                      "sign it")
    if not fmt.ciphertext_ok(raw):
        raise _refuse(where, "回传包内容与清单中的摘要不符（文件被改动过）",
                      "the return bundle's content does not match the digest in its manifest (the file was altered)")
    lines = fmt.payload_lines(fmt.open_payload(raw, keys["box"][0], keys["box"][1]), where)
    values = []
    for n, line in lines:
        try:
            values.append(loads(line))
        except ValueError:
            raise _refuse(f"{where}:{n}", "回传包的这一行不是 JSON", "this line of the return bundle is not JSON") from None
    header = values[0] if values else None
    items = values[1:]
    seq = m["seq"]["last"]
    if (not isinstance(header, dict) or header.get("county") != ws.region_code or header.get("seq") != seq
            or header.get("flags") != len(items) or m["counts"].get("flags") != len(items)):
        raise _refuse(where, "回传包的首行与清单或本县不符", "the return bundle's header does not match its manifest or "
                      "this county")
    wanted: dict[tuple[str, str, str], Any] = {}
    for i, item in enumerate(items, 2):
        if (not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("household_id", "rule",
                                                                                          "member_id"))
                or not isinstance(item.get("message"), dict)):
            raise _refuse(f"{where}:{i}", "回传包的这一行不是一个标记", "this line of the return bundle is not a flag")
        wanted[(item["household_id"], item["rule"], item["member_id"])] = item["message"]
    with ws.sync_write(tr("导入省里的回传包", "importing the province's return bundle"), actor, EXCHANGE) as (c, audit,
                                                                                                          st):
        if tables.bundle_seen(c, m["bundle_id"]):
            return ReturnImport(path, m["bundle_id"], seq, len(wanted), 0, 0, skipped="already")
        if seq <= tables.received_high(c, peer.device_id):
            return ReturnImport(path, m["bundle_id"], seq, len(wanted), 0, 0, skipped="older")
        known = set(tables.all_household_ids(c, ws.region_code))
        wanted = {key: msg for key, msg in wanted.items() if key[0] in known}
        held = {(f["household_id"], f["rule"], f["member_id"]): f["message"] for f in tables.flags(c)
                if f["source"] == SOURCE}
        gone = [key for key in held if key not in wanted]
        new = [key for key, msg in wanted.items() if held.get(key) != msg]
        tables.delete_flags(c, gone)
        tables.put_flags(c, [(h, r, mem, wanted[(h, r, mem)], SOURCE, st.now) for h, r, mem in new])
        tables.record_received(c, peer.device_id, seq, seq, m["bundle_id"], m["payload"]["sha256"], len(wanted),
                               st.now, st.user)
        audit.add("province.return", "bundle", m["bundle_id"], None, None,
                  {"from": peer.device_id, "seq": seq, "flags": len(wanted), "added": len(new), "removed": len(gone),
                   "file": path.name})
    return ReturnImport(path, m["bundle_id"], seq, len(wanted), len(new), len(gone))
