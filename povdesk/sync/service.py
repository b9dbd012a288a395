"""Sync operations over a workspace: keys, bundle export, verified import with merge, conflicts, status.

Qt-free; the CLI (povdesk.sync.commands) and later the desktop sync centre call these functions.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, TypedDict

from povdesk.core.authority import level_label
from povdesk.core.exchange import dump_line, parse_line
from povdesk.core.importing import decide, paused_gc
from povdesk.core.model import Household, ProcedureEvent
from povdesk.core.monitoring import with_overrides
from povdesk.core.permissions import require
from povdesk.core.procedures import (
    VOID,
    initial_status,
    is_void,
    level_refusal,
    load_procedures,
    procedures_text_in_force,
    replay,
    status_after,
    status_from,
    use_procedures,
)
from povdesk.core.rules import CrossChecker, RuleContext, validate_household
from povdesk.errors import BadInput, ImportCancelled, ProcedureRefused
from povdesk.i18n import Text, tr
from povdesk.store import Workspace
from povdesk.store import audit as audit_log
from povdesk.store import sync as tables
from povdesk.store.audit import SignedHead, entry_hash
from povdesk.store.codec import dumps, loads, now_utc
from povdesk.store.thresholds import imported_text, rule_context
from povdesk.store.users import User
from povdesk.sync import bundle as fmt
from povdesk.sync.keys import DeviceCard, fingerprint, read_key_file, write_key_file
from povdesk.sync.merge import flatten, mask, merge3, unflatten, union_events

log = logging.getLogger(__name__)

# Records a batch holds (export and import): what is in memory at once.
BATCH = 2000

# Who may do what: actions of povdesk.core.permissions.
KEYS = "manage_sync_keys"  # trust a device / a county key (povdesk.core.permissions)
EXCHANGE = "exchange_bundles"  # export and import bundles, resolve conflicts

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


def require_role(actor: User, action: str) -> None:
    """Refuse early (before a file is chosen), with the message the store gives when it refuses."""
    require(actor.role, action)


# ---------------------------------------------------------------------------------------------
# Keys


def my_card(ws: Workspace) -> DeviceCard:
    keys = ws.device_keys()
    return DeviceCard(ws.device_id, ws.workspace_id, ws.region_code, ws.level, ws.name, keys["sign"][1],
                      keys["box"][1], ws.created_at)


def my_fingerprint(ws: Workspace) -> str:
    keys = ws.device_keys()
    return fingerprint(keys["sign"][1], keys["box"][1])


def export_key_file(ws: Workspace, out: Path) -> DeviceCard:
    card = my_card(ws)
    text = write_key_file(card, ws.device_keys()["sign"][0])
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(tr("无法写入文件：{e}", "cannot write the file: {e}", e=exc.strerror), where=str(out)) from None
    return card


def trust(ws: Workspace, actor: User, path: Path, relation: str) -> tuple[DeviceCard, tables.Peer | None]:
    """relation 'device': a county enrols a village device; 'county': a village learns its county."""
    card = read_key_file(path)
    where = str(path)
    if card.device_id == ws.device_id:
        raise BadInput(tr("这是本工作区自己的密钥", "this is this workspace's own key"), where=where)
    if relation == "device":
        if ws.level != "county":
            raise BadInput(tr("只有县级工作区登记村设备；村级工作区请用 keys set-county",
                              "only a county workspace enrols devices; a village uses keys set-county"))
        if card.level == "county" or not card.region_code.startswith(ws.region_code):
            raise BadInput(tr("设备属于 {r}（{l}），不在本县 {c} 之下", "the device belongs to {r} ({l}), not to a "
                              "village or township of this county {c}", r=card.region_code, l=card.level,
                              c=ws.region_code), where=where)
    else:
        if card.level != "county":
            raise BadInput(tr("这不是县级工作区的密钥（级别：{l}）", "this is not a county workspace's key "
                              "(level: {l})", l=card.level), where=where)
        if not ws.region_code.startswith(card.region_code):
            raise BadInput(tr("县 {c} 不管辖本工作区 {r}", "county {c} does not cover this workspace {r}",
                              c=card.region_code, r=ws.region_code), where=where)
    if relation == "device":
        held = ws.sync_peer(card.device_id)
        if held is not None and held.relation == "device" and not held.active and held.fingerprint == card.fingerprint:
            raise BadInput(tr("这台设备的密钥已被停用，不能再登记；换用的电脑请生成新的密钥（povdesk keys export）",
                              "this device's key was revoked and cannot be enrolled again; a replacement laptop "
                              "makes a new key (povdesk keys export)"), where=where)
    p = tables.Peer(card.device_id, relation, card.sign_public, card.box_public, card.fingerprint,
                    card.workspace_id, card.region_code, card.level, card.name, True, now_utc(), actor.name)
    return card, ws.put_sync_peer(actor, p, KEYS)


def revoke(ws: Workspace, actor: User, ref: str, reason: str) -> tables.Peer:
    """A county stops trusting an enrolled device (by device id or its start, fingerprint or
    village code): its bundles are refused from now on, at the county and, once the device list is
    loaded again, at the relay. The key cannot be enrolled again."""
    require_role(actor, KEYS)
    if ws.level != "county":
        raise BadInput(tr("只有县级工作区能停用设备", "only a county workspace revokes devices"))
    if not reason.strip():
        raise BadInput(tr("请用 --reason 说明停用的原因", "say why with --reason"))
    peer = resolve_device(ws, ref)
    ws.revoke_sync_peer(actor, peer.device_id, reason.strip(), KEYS)
    return peer


def _county(ws: Workspace) -> tables.Peer:
    found = [p for p in ws.sync_peers("county") if p.active]
    if not found:
        raise BadInput(tr("本工作区还不知道县里的密钥：请先运行 povdesk keys set-county DB 县密钥文件",
                          "this workspace does not know its county's key yet: run povdesk keys set-county DB "
                          "COUNTY-KEY-FILE first"))
    return found[0]


def resolve_device(ws: Workspace, ref: str | None) -> tables.Peer:
    """The enrolled device a county addresses: by device id (or its start), fingerprint or region."""
    devices = [p for p in ws.sync_peers("device") if p.active]
    if ref:
        key = ref.strip().upper()
        devices = [p for p in devices if p.device_id.upper().startswith(key) or p.fingerprint.startswith(key)
                   or p.region_code == ref.strip()]
    if len(devices) == 1:
        return devices[0]
    if not devices:
        raise BadInput(tr("没有符合“{r}”的已登记设备（povdesk keys enrol）", "no enrolled device matches '{r}' "
                          "(povdesk keys enrol)", r=ref or ""))
    raise BadInput(tr("有 {n} 台已登记设备，请用 --to 指明（设备编号、指纹或村代码）",
                      "{n} devices are enrolled; say which with --to (device id, fingerprint or village code)",
                      n=len(devices)))


# ---------------------------------------------------------------------------------------------
# Export


def _state(hh: Household, open_conflicts: dict[str, Any]) -> dict[str, Any]:
    """What is sent and remembered as the sent base: the record, with open clashes masked, plus
    its status and event ids (compared, never merged as fields)."""
    flat = mask(flatten(hh), {k: v for k, v in open_conflicts.items() if not k.startswith("#")})
    flat["#status"] = hh.status
    flat["#events"] = sorted(e.id for e in hh.events)
    return flat


@dataclass(frozen=True)
class ExportResult:
    """A bundle written: where, and its manifest (as `bundle inspect` shows it). `written` is False
    when there was nothing to send (no record, audit entry, flag, decision or acknowledgement the
    peer has not had): no file is written, and the manifest holds only the counts, sequences,
    acknowledgement and recipient."""

    path: Path
    manifest: dict[str, Any]
    written: bool = True

    @property
    def households(self) -> int:
        return int(self.manifest["counts"]["households"])

    @property
    def seq(self) -> tuple[int, int]:
        """The outbox sequences it carries, first and last (first > last: only the acknowledgement)."""
        return int(self.manifest["seq"]["first"]), int(self.manifest["seq"]["last"])

    @property
    def recipient_fingerprint(self) -> str:
        return str(self.manifest["recipient"]["fingerprint"])


def export_bundle(ws: Workspace, actor: User, out: Path, *, full: bool = False, to: str | None = None,
                  progress: Progress | None = None, batch: int = BATCH) -> ExportResult:
    """Everything changed since the last bundle to this peer (or everything), signed and sealed;
    the records are read `batch` at a time, so a county's return bundle is never whole in memory."""
    with paused_gc():  # a county holding many objects would otherwise walk them all, repeatedly
        return _export(ws, actor, out, full, to, progress, batch)


def _export(ws: Workspace, actor: User, out: Path, full: bool, to: str | None,
            progress: Progress | None, batch: int) -> ExportResult:
    if ws.level == "county":
        peer, kind, scope = resolve_device(ws, to), "return", ""
        scope = peer.region_code
    else:
        peer, kind, scope = _county(ws), "village", ws.region_code
    with ws.sync_read() as c:
        last = ws.last_outbox_seq()
        first = 1 if full else tables.sent_high(c, peer.device_id) + 1
        scope_ids = tables.all_household_ids(c, scope)
        if full:
            ids = scope_ids
        else:
            wanted = set(tables.outbox_household_ids(c, first, last)) | set(tables.resolved_since_sent(c, peer.device_id))
            ids = [h for h in scope_ids if h in wanted]
        ack = tables.received_high(c, peer.device_id)
        # An acknowledgement the peer has not had: something was received from it since the last
        # bundle made for it (at the same instant counts as since: sending it again does no harm).
        new_ack = ack > 0 and tables.last_received_at(c, peer.device_id) >= tables.last_sent_at(c, peer.device_id)
        acked = tables.acked(c, peer.device_id)
        bases = tables.bases(c, peer.device_id, ids)
        open_c = tables.open_conflict_paths(c, ids)
        audit_from = tables.audit_sent(c, peer.device_id) if kind == "village" and not full else 0
        audit_rows = tables.audit_rows(c, audit_from) if kind == "village" else []
        # The chain's end, signed below into the manifest, and the entry the rows continue from.
        head_seq, head_hash = audit_log.chain_end(c) if kind == "village" else (0, "")
        base_entry = audit_log.entry_at(c, audit_from) if kind == "village" and audit_from else None
        base_hash = base_entry[1] if base_entry else ""
        # Flags for the peer's households: those of the records sent, and any raised since the
        # last bundle to this peer (a person registered again in another village flags this one).
        since = "" if full else tables.last_sent_at(c, peer.device_id)
        sending = set(ids)
        flag_rows = [f for f in tables.flags(c, scope_ids) if f["household_id"] in sending or f["created_at"] > since
                     ] if kind == "return" else []
        # Households the county moved out of the peer's villages: the old village is told, as a flag
        # on its copy (a household's village never changes through sync).
        moved = tables.moves_out(c, scope, since) if kind == "return" else []
        resolved = [x for x in tables.conflicts(c, "resolved") if x.household_id in set(ids)] if kind == "return" else []
        # The records, a batch at a time in the same snapshot, into a temporary file: only the
        # packed sent states stay in memory (the header, first in the payload, needs the count).
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
        sent: list[tuple[str, bytes]] = []
        villages: set[str] = set()
        members = events = 0
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            households = ws.load_households(chunk)
            for hid in chunk:
                hh = households[hid]
                state = _state(hh, open_c.get(hid, {}))
                base = bases[hid].common(acked) if hid in bases else None
                if base is not None:
                    base = {k: v for k, v in base.items() if k != "#seq"}
                if not full and base is not None and base == state:
                    continue  # the peer already holds exactly this
                masked = {k: v for k, v in open_c.get(hid, {}).items() if not k.startswith("#")}
                rec = unflatten({k: v for k, v in state.items() if not k.startswith("#")}, hh) if masked else hh
                spool.write(dump_line(rec).encode("utf-8") + b"\n")
                sent.append((hid, tables.pack(state)))
                villages.add(hh.village_code)
                members += len(rec.members)
                events += len(rec.events)
            del households
            if progress:
                progress(min(start + batch, len(ids)), len(ids))
    flags_out = [{"household_id": f["household_id"], "rule": f["rule"], "member_id": f["member_id"],
                  "message": f["message"]} for f in flag_rows if f["source"] in ("import", "province")]
    flags_out += [{"household_id": mv["household_id"], "rule": "MOVED", "member_id": "", "message": tr(
        "户 {a} 已由县里迁往村 {v}（新户编号 {b}，{at}）：{why}。本村的这份记录不再同步",
        "household {a} was moved by the county to village {v} (new number {b}, {at}): {why}. This village's copy "
        "is no longer synchronised", a=mv["from_no"], v=mv["to_village"], b=mv["to_no"], at=mv["at"][:10],
        why=mv["reason"]).as_dict()} for mv in moved]
    res_out = [{"household_id": x.household_id, "household_no": x.household_no, "path": x.path,
                "resolution": x.resolution, "value": x.value, "resolved_by": x.resolved_by,
                "resolved_at": x.resolved_at} for x in resolved]
    header = {"households": len(sent), "audit": len(audit_rows), "flags": len(flags_out),
              "resolutions": len(res_out)}
    recipient = {"device_id": peer.device_id, "fingerprint": peer.fingerprint, "region_code": peer.region_code}
    # Audit entries of the exchange itself (the last export, an import) wait for a bundle with
    # something in it: alone they would make every export non-empty.
    bookkeeping = all(str(r[3]).startswith("sync.") for r in audit_rows)
    if not full and not sent and not flags_out and not res_out and bookkeeping and not new_ack:
        spool.close()
        return ExportResult(out, {"counts": {**header, "members": 0, "events": 0}, "seq": {"first": first, "last": last},
                                  "ack": ack, "recipient": recipient}, written=False)
    sealer = fmt.Sealer()
    sealer.feed(dumps(header).encode("utf-8") + b"\n")
    with spool:
        spool.seek(0)
        for block in iter(lambda: spool.read(1 << 20), b""):
            sealer.feed(block)
    for line in (*(dumps(list(r)) for r in audit_rows), *(dumps(f) for f in flags_out), *(dumps(r) for r in res_out)):
        sealer.feed(line.encode("utf-8") + b"\n")
    bundle_id = str(uuid.uuid4())
    keys = ws.device_keys()
    ciphertext, payload = sealer.finish(peer.box_public, bundle_id, ws.device_id)
    audit_last = audit_rows[-1][0] if audit_rows else audit_from
    head = audit_log.sign_head(ws.device_id, head_seq, head_hash, keys["sign"][0], bundle_id, now_utc()) \
        if kind == "village" else None
    manifest = {
        "format": fmt.FORMAT, "format_version": fmt.FORMAT_VERSION, "schema_version": ws.schema_version,
        "bundle_id": bundle_id, "kind": kind, "full": full, "created_at": now_utc(),
        "sender": {"device_id": ws.device_id, "workspace_id": ws.workspace_id, "region_code": ws.region_code,
                   "level": ws.level, "name": ws.name, "fingerprint": my_fingerprint(ws)},
        "recipient": recipient,
        "villages": sorted(villages), "seq": {"first": first, "last": last}, "ack": ack,
        "audit": {"first": audit_from + 1, "last": audit_last},
        "counts": {"households": len(sent), "members": members, "events": events, "audit": len(audit_rows),
                   "flags": len(flags_out), "resolutions": len(res_out)},
        "payload": payload,
    }
    if head is not None:
        manifest["audit_head"] = {**head.to_dict(), "base": {"seq": audit_from, "hash": base_hash}}
    fmt.write(out, manifest, ciphertext, keys["sign"][0])
    try:
        with ws.sync_write(tr("记录已导出的同步包", "recording the exported bundle"), actor, EXCHANGE) as (c, audit, st):
            tables.record_sent(c, peer.device_id, first, last, bundle_id, len(sent), audit_last, st.now, st.user)
            tables.put_sent(c, peer.device_id, last, st.now, sent)
            if head is not None:
                audit_log.record_signed_head(c, head)
            audit.add("sync.export", "bundle", bundle_id, None, None,
                      {"to": peer.device_id, "seq": [first, last], "households": len(sent), "file": out.name,
                       **({"audit_head": {"seq": head.seq, "hash": head.hash}} if head is not None else {})})
    except BaseException:
        out.unlink(missing_ok=True)  # a bundle the workspace does not remember sending must not travel
        raise
    return ExportResult(out, manifest)


def inspect(path: Path) -> dict[str, Any]:
    raw = fmt.read(path)
    return {**raw.manifest, "ciphertext_intact": fmt.ciphertext_ok(raw)}


# ---------------------------------------------------------------------------------------------
# Import: verify everything, plan the merge, then apply in one transaction


@dataclass
class Incoming:
    """A bundle that passed every check that needs no write; its records are read again, a batch
    at a time, when it is applied (no bundle's households are held in memory meanwhile)."""

    raw: fmt.RawBundle
    peer: tables.Peer

    @property
    def manifest(self) -> dict[str, Any]:
        return self.raw.manifest

    @property
    def households(self) -> int:
        return int(self.raw.manifest["counts"]["households"])


def _refuse(where: str, zh: str, en: str, **values: object) -> fmt.BundleRefused:
    return fmt.BundleRefused(tr(zh, en, **values), where=where)


def verify(ws: Workspace, path: Path) -> Incoming:
    """Every check that needs no write: container, versions, addressee, sender, signature, digest,
    decryption, payload structure. Raises BundleRefused saying what is wrong."""
    raw = fmt.read(path)
    m, where = raw.manifest, raw.where
    if m["schema_version"] > ws.schema_version:
        raise _refuse(where, "同步包来自更新版本的 povdesk（数据结构 {n}，本版本 {k}），请先升级 povdesk",
                      "the bundle comes from a newer povdesk (schema {n}; this one has {k}); upgrade povdesk first",
                      n=m["schema_version"], k=ws.schema_version)
    mine = my_fingerprint(ws)
    if m["recipient"]["fingerprint"] != mine or m["recipient"]["device_id"] != ws.device_id:
        raise _refuse(where, "同步包不是发给本工作区的（收件方指纹 {f}，本工作区 {me}）",
                      "the bundle is addressed to another workspace (fingerprint {f}; this one is {me})",
                      f=m["recipient"]["fingerprint"], me=mine)
    want_kind, relation = ("village", "device") if ws.level == "county" else ("return", "county")
    if m["kind"] != want_kind:
        raise _refuse(where, "同步包类型“{k}”不能导入{l}工作区", "a '{k}' bundle cannot be imported into a {l} workspace",
                      k=m["kind"], l=ws.level)
    sender = m["sender"]
    peer = ws.sync_peer(sender["device_id"])
    if peer is not None and peer.relation == "device" and relation == "device" and not peer.active:
        raise _refuse(where, "同步包来自已停用的设备 {d}（{r} {n}），不予导入",
                      "the bundle comes from a revoked device {d} ({r} {n}); it is not imported",
                      d=sender["device_id"], r=sender["region_code"], n=sender["name"])
    if peer is None or peer.relation != relation or not peer.active:
        raise _refuse(where, "同步包来自未登记的设备 {d}（{r} {n}，指纹 {f}）；请先核对指纹并用 povdesk keys {cmd} 登记",
                      "the bundle comes from a device this workspace does not trust: {d} ({r} {n}, fingerprint "
                      "{f}); compare the fingerprint and run povdesk keys {cmd} first",
                      d=sender["device_id"], r=sender["region_code"], n=sender["name"], f=sender["fingerprint"],
                      cmd="enrol" if relation == "device" else "set-county")
    if sender["fingerprint"] != peer.fingerprint:
        raise _refuse(where, "同步包用另一把密钥签名（指纹 {f}，已登记的是 {e}）",
                      "the bundle was signed with a different key (fingerprint {f}; the enrolled one is {e})",
                      f=sender["fingerprint"], e=peer.fingerprint)
    if not fmt.signature_ok(raw, peer.sign_public):
        raise _refuse(where, "同步包签名无效：文件被改动过，或不是用已登记的密钥签名的",
                      "the bundle's signature is invalid: the file was altered, or it was not signed with the "
                      "enrolled key")
    if not fmt.ciphertext_ok(raw):
        raise _refuse(where, "同步包内容与清单中的摘要不符（文件被改动过）",
                      "the bundle's content does not match the digest in its manifest (the file was altered)")
    if m["seq"]["first"] > m["seq"]["last"] + 1 or (m["full"] and m["seq"]["first"] != 1):
        raise _refuse(where, "同步包的序号范围不对", "the bundle's sequence range is wrong")
    if m["kind"] == "village":
        _signed_head(m, peer, where)
    body = _Body(ws, raw, peer)  # decrypts, and checks the header against the manifest
    del body
    # The ciphertext is not held until the bundle is applied (a county's 50 bundles would all be
    # in memory): it is read again then, and must be the one whose digest the signed manifest names.
    return Incoming(replace(raw, ciphertext=b""), peer)


def _read_again(b: Incoming) -> fmt.RawBundle:
    """A verified bundle's file read again to apply it: the manifest and signature verified, and
    the ciphertext whose digest that manifest names (else refused: the file was altered since)."""
    raw = fmt.read(b.raw.path)
    if raw.manifest_bytes != b.raw.manifest_bytes or raw.signature != b.raw.signature or not fmt.ciphertext_ok(raw):
        raise _refuse(raw.where, "同步包内容与清单中的摘要不符（文件被改动过）",
                      "the bundle's content does not match the digest in its manifest (the file was altered)")
    return raw


def _device_named(peer: tables.Peer) -> str:
    return f"{peer.device_id} ({peer.region_code} {peer.name})"


def _signed_head(m: dict[str, Any], peer: tables.Peer, where: str) -> tuple[SignedHead, tuple[int, str]]:
    """The village's audit head from the manifest, its signature checked with the device's key,
    and the (seq, hash) of the entry the bundle's audit rows continue from."""
    d = m.get("audit_head")
    head = SignedHead.from_dict(d)
    base = d.get("base") if isinstance(d, dict) else None
    if head is None or not isinstance(base, dict) or type(base.get("seq")) is not int \
            or not isinstance(base.get("hash"), str) or base["seq"] < 0:
        raise _refuse(where, "同步包没有带签名的审计链尾（设备 {d}），不予导入",
                      "the bundle carries no signed audit head (device {d}); it is not imported",
                      d=_device_named(peer))
    if head.device_id != peer.device_id or not head.signed_by(peer.sign_public):
        raise _refuse(where, "同步包中审计链尾的签名无效（设备 {d}）：文件被改动过，不予导入",
                      "the signature of the bundle's audit head is invalid (device {d}): the file was altered; "
                      "it is not imported", d=_device_named(peer))
    return head, (base["seq"], base["hash"])


def _altered(where: str, peer: tables.Peer, seq: int, how: str) -> fmt.BundleRefused:
    """A bundle whose history contradicts what the device signed before: refused, naming the device."""
    if how == "truncated":
        return _refuse(where, "设备 {d} 的审计历史被截断：第 {seq} 条以后的记录已经签名发来过，现在没有了。"
                       "此同步包被视为已被改动，不予导入，未做任何修改",
                       "the audit history of device {d} was cut short: entries after {seq} were signed into "
                       "earlier bundles and are gone; the bundle is reported as altered and refused, nothing was "
                       "written", d=_device_named(peer), seq=seq)
    return _refuse(where, "设备 {d} 的审计历史被改写：第 {seq} 条与它以前签名发来的不同。此同步包被视为已被改动，"
                   "不予导入，未做任何修改",
                   "the audit history of device {d} was rewritten: entry {seq} differs from the one it signed "
                   "into an earlier bundle; the bundle is reported as altered and refused, nothing was written",
                   d=_device_named(peer), seq=seq)


class _Heads:
    """Each device's last signed audit head as this workspace holds it, advanced by the bundles of
    one import in order; judges whether a bundle's head extends it (its past not rewritten or cut)."""

    def __init__(self, ws: Workspace, accept_history: Collection[str] = ()) -> None:
        self.ws = ws
        self.accept = set(accept_history)
        self.last: dict[str, SignedHead | None] = {}
        self.accepted: dict[str, tuple[SignedHead | None, SignedHead]] = {}
        # bundle id -> (its head, its base, the device's head before it)
        self.of: dict[str, tuple[SignedHead, tuple[int, str], SignedHead | None]] = {}

    def _held(self, c: Any, dev: str, seq: int) -> str | None:
        got = tables.peer_audit_range(c, dev, seq, seq).get(seq)
        return got[1] if got else None

    def judge(self, c: Any, b: Incoming) -> None:
        """Before anything is written: raises BundleRefused for a rewritten or truncated past."""
        m, peer, where = b.manifest, b.peer, b.raw.where
        if m["kind"] != "village":
            return
        head, (base_seq, base_hash) = _signed_head(m, peer, where)
        dev = peer.device_id
        if dev not in self.last:
            self.last[dev] = audit_log.peer_head(c, dev)
        last = self.last[dev]
        problem: tuple[int, str] | None = None
        held_here = self._held(c, dev, head.seq) if head.seq else None
        if held_here is not None and held_here != head.hash:
            problem = (head.seq, "rewritten")
        elif base_seq and (held := self._held(c, dev, base_seq)) is not None and held != base_hash:
            problem = (base_seq, "rewritten")
        elif last is not None and ((head.seq == last.seq and head.hash != last.hash)
                                   or (base_seq == last.seq and base_hash != last.hash)):
            problem = (last.seq, "rewritten")
        elif held_here is not None and head.seq < max(last.seq if last else 0, tables.peer_audit_head(c, dev)[0]) \
                and (last is None or m["created_at"] > last.at):
            # The device's chain now ends at an entry the county holds, with more after it received
            # (a bundle made before the last head was signed, arriving late, is only stale).
            problem = (head.seq, "truncated")
        if problem is not None:
            if dev not in self.accept:
                raise _altered(where, peer, *problem)
            self.accepted[m["bundle_id"]] = (last, head)
        self.of[m["bundle_id"]] = (head, (base_seq, base_hash), None if problem is not None else last)
        if last is None or head.seq >= last.seq or problem is not None:
            self.last[dev] = head


def _rows_match_head(where: str, peer: tables.Peer, rows: list[list[Any]], head: SignedHead,
                     base: tuple[int, str], last: SignedHead | None) -> bool:
    """The audit rows a bundle carries are the ones its signed head and base name: they continue
    from the base and end at the head (else BundleRefused); False when they reach the last head
    received and do not pass through it (a rewritten past)."""
    ok = True
    if rows:
        ok = (rows[0][0] == base[0] + 1 and rows[0][9] == base[1] and rows[-1][0] == head.seq
              and rows[-1][10] == head.hash)
        if ok and last is not None and rows[0][0] <= last.seq <= rows[-1][0]:
            at = next((r for r in rows if r[0] == last.seq), None)
            if at is None or at[10] != last.hash:
                return False
    else:
        ok = (head.seq, head.hash) == base
    if not ok:
        raise _refuse(where, "同步包中的审计记录与其签名的链尾不符（设备 {d}）：文件被改动过，不予导入",
                      "the audit entries in the bundle do not match its signed audit head (device {d}): it was "
                      "altered; it is not imported", d=_device_named(peer))
    return True


def _line_value(line: str | bytes) -> Any:
    """A bundle line's JSON value, or None when it is not JSON (the caller then refuses it)."""
    try:
        return loads(line if isinstance(line, str) else line.decode("utf-8"))  # checked as UTF-8 whole
    except ValueError:
        return None


class _Body:
    """A bundle's decrypted content, read in order: header, households, audit entries, flags,
    resolutions. Raises BundleRefused, naming the bundle (and line), for anything malformed."""

    def __init__(self, ws: Workspace, raw: fmt.RawBundle, peer: tables.Peer) -> None:
        keys = ws.device_keys()
        self.raw, self.where = raw, raw.where
        self._lines = fmt.payload_byte_lines(fmt.open_payload(raw, keys["box"][0], keys["box"][1]), raw.where)
        try:
            _, first = next(self._lines)
            header = loads(first.decode("utf-8"))
        except (StopIteration, ValueError):
            raise _refuse(self.where, "同步包内容缺少开头", "the bundle's content has no header") from None
        counts = raw.manifest["counts"]
        if not isinstance(header, dict) or any(header.get(k) != counts.get(k) for k in
                                               ("households", "audit", "flags", "resolutions")):
            raise _refuse(self.where, "同步包内容的数量与清单不符",
                          "the bundle's content does not match the counts in its manifest")
        self.header = header
        self.scope = peer.region_code if raw.manifest["kind"] == "village" else ws.region_code
        self._seen: set[str] = set()
        self._members = self._events = 0
        self._villages: set[str] = set()

    def raw_chunks(self, batch: int) -> Iterator[list[tuple[int, bytes]]]:
        """The records' lines, (line number, text), `batch` at a time."""
        chunk: list[tuple[int, bytes]] = []
        for _ in range(self.header["households"]):
            chunk.append(next(self._lines, (0, b"")))
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def parse(self, chunk: list[tuple[int, bytes]], made: Sequence[object | None]) -> list[Household]:
        """One chunk's records, each within the sender's region and not seen before in the bundle.
        `made`: the worker's decision of each line, or None (a line it decided parsed there, so its
        structure is not checked again)."""
        where, scope, name = self.where, self.scope, self.raw.path.name
        out: list[Household] = []
        for (n, line), by_worker in zip(chunk, made, strict=True):
            try:
                hh = parse_line(line, f"{name}:{n}", checked=by_worker is not None)
            except BadInput as exc:
                raise fmt.BundleRefused(exc.text, where=exc.where) from None
            if not hh.village_code.startswith(scope):
                raise _refuse(where, "同步包含有不属于 {s} 的户 {no}（村 {v}）", "the bundle holds household {no} of "
                              "village {v}, outside {s}", s=scope, no=hh.household_no, v=hh.village_code)
            if hh.id in self._seen:
                raise _refuse(where, "同步包中同一户出现了两次", "the same household appears twice in the bundle")
            self._seen.add(hh.id)
            self._members += len(hh.members)
            self._events += len(hh.events)
            self._villages.add(hh.village_code)
            out.append(hh)
        return out

    def rest(self) -> tuple[list[list[Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """After the households: (audit entries, flags, resolutions); nothing may follow. The
        records read must match the manifest's member and event counts and village list."""
        where, m = self.where, self.raw.manifest
        if (self._members, self._events) != (m["counts"].get("members"), m["counts"].get("events")):
            raise _refuse(where, "同步包中的成员数或步骤数与清单不符（清单 {cm} 人、{ce} 步，内容 {m} 人、{e} 步）",
                          "the bundle's member or step count does not match its manifest (manifest {cm} members, "
                          "{ce} steps; content {m} members, {e} steps)", cm=m["counts"].get("members"),
                          ce=m["counts"].get("events"), m=self._members, e=self._events)
        if self._villages != set(m.get("villages") or []):
            raise _refuse(where, "同步包中的村与清单所列不符（清单：{lv}；内容：{cv}）",
                          "the bundle's villages do not match its manifest (manifest: {lv}; content: {cv})",
                          lv="、".join(sorted(m.get("villages") or [])) or "-",
                          cv="、".join(sorted(self._villages)) or "-")
        audit: list[list[Any]] = []
        for _ in range(self.header["audit"]):
            _n, line = next(self._lines, (0, b"null"))
            row = _line_value(line)
            if not isinstance(row, list) or len(row) != 11 or not isinstance(row[0], int):
                raise _refuse(where, "同步包中的审计记录格式不对", "an audit entry in the bundle is malformed")
            audit.append(row)
        extra: list[list[dict[str, Any]]] = [[], []]
        for i, key in enumerate(("flags", "resolutions")):
            for _ in range(self.header[key]):
                _n, line = next(self._lines, (0, b"null"))
                obj = _line_value(line)
                if not isinstance(obj, dict) or not isinstance(obj.get("household_id"), str):
                    raise _refuse(where, "同步包中的{k}记录格式不对", "a {k} entry in the bundle is malformed", k=key)
                extra[i].append(obj)
        if next(self._lines, None) is not None:
            raise _refuse(where, "同步包内容多于清单所列", "the bundle holds more than its manifest lists")
        return audit, extra[0], extra[1]


# A message in both languages as reports carry and store it: {"zh": ..., "en": ...} (Text.as_dict()).
Message = dict[str, str]


def _message(value: object) -> Message:
    """A stored or received message as a Message (kept as it is, so JSON output does not change)."""
    if isinstance(value, dict):
        return value
    text = "" if value is None else str(value)
    return {"zh": text, "en": text}


class Clash(TypedDict):
    """A field both sides changed differently since the common base (a conflict opened at import)."""

    path: str
    base: object
    local: object
    remote: object


class CountyStep(TypedDict):
    """A procedure step the county recorded, arriving with a return bundle."""

    household_id: str
    household_no: str
    event_id: str
    procedure: str
    step: str
    date: str
    role: str
    user: str
    message: Message


@dataclass
class RecordOutcome:
    """What an import did with one record of a bundle."""

    id: str
    household_no: str
    result: str  # inserted | merged | unchanged | rejected
    conflicts: list[Clash] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)  # Finding.to_dict()
    reasons: list[Message] = field(default_factory=list)  # why it was rejected (or left as it is)

    def error_messages(self) -> list[Message]:
        """The messages of its findings of severity error (warnings are left out)."""
        return [_message(f.get("message")) for f in self.findings if f.get("severity") == "error"]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "household_no": self.household_no, "result": self.result}
        for key in ("conflicts", "findings", "reasons"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class BundleSummary:
    """How many records of a bundle came out which way."""

    inserted: int
    merged: int
    unchanged: int
    rejected: int
    conflicted: int  # records with a new conflict
    with_findings: int
    flagged: int  # cross-household findings (a person registered in two households)
    audit_problems: int  # breaks in the sender's audit chain

    @property
    def applied(self) -> int:
        return self.inserted + self.merged

    def to_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "merged": self.merged, "unchanged": self.unchanged,
                "rejected": self.rejected, "conflicted": self.conflicted, "with_findings": self.with_findings,
                "applied": self.applied, "flagged": self.flagged, "audit_problems": self.audit_problems}


@dataclass
class BundleReport:
    """One imported bundle: each record's outcome, with what it brought besides the records."""

    file: str
    bundle_id: str
    device: str
    seq: tuple[int, int]
    records: list[RecordOutcome] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)  # Finding.to_dict() of cross-household findings
    note: str = ""
    audit_received: int = 0
    audit_problems: list[Message] = field(default_factory=list)  # breaks in the sender's hash chain
    county_steps: list[CountyStep] = field(default_factory=list)  # procedure steps the county sent down
    result: str = "applied"  # applied | skipped (everything in it had been received before)

    def summary(self) -> BundleSummary:
        results = Counter(r.result for r in self.records)
        return BundleSummary(inserted=results["inserted"], merged=results["merged"],
                             unchanged=results["unchanged"], rejected=results["rejected"],
                             conflicted=sum(1 for r in self.records if r.conflicts),
                             with_findings=sum(1 for r in self.records if r.findings),
                             flagged=len(self.flags), audit_problems=len(self.audit_problems))

    def flagged(self) -> list[tuple[str, Message]]:
        """(household number, message) of each cross-household finding."""
        return [(str(f.get("household_no", "")), _message(f.get("message"))) for f in self.flags]

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "bundle_id": self.bundle_id, "device": self.device, "result": self.result,
                "seq": list(self.seq), "summary": self.summary().to_dict(), "note": self.note,
                "records": [r.to_dict() for r in self.records], "flags": self.flags,
                "audit": {"received": self.audit_received, "problems": self.audit_problems},
                "county_steps": self.county_steps}


def _order_and_ranges(ws: Workspace, items: list[Incoming], heads: _Heads | None = None
                      ) -> tuple[list[tuple[Incoming, str]], list[BundleReport]]:
    """Sort by sender and range; refuse gaps, and a village's bundle whose signed audit head does
    not extend the last one received from it (`heads`). Returns (bundle, note) pairs to apply, and a report
    for each bundle skipped because everything in it was already received (a batch is idempotent:
    a folder holding old bundles beside new ones imports the new ones)."""
    def audit_seq(b: Incoming) -> int:
        h = b.manifest.get("audit_head")
        return int(h["seq"]) if isinstance(h, dict) and type(h.get("seq")) is int else 0

    items = sorted(items, key=lambda b: (b.peer.device_id, b.manifest["seq"]["first"], b.manifest["seq"]["last"],
                                         audit_seq(b)))
    highs: dict[str, int] = {}
    out = []
    skipped: list[BundleReport] = []
    ids: set[str] = set()

    def skip(b: Incoming, why: Text) -> None:
        m = b.manifest
        skipped.append(BundleReport(b.raw.path.name, m["bundle_id"], b.peer.device_id,
                                    (m["seq"]["first"], m["seq"]["last"]), note=str(why), result="skipped"))

    with ws.sync_read() as c:
        for b in items:
            m, dev = b.manifest, b.peer.device_id
            if dev not in highs:
                highs[dev] = tables.received_high(c, dev)
            high, first, last = highs[dev], m["seq"]["first"], m["seq"]["last"]
            if tables.bundle_seen(c, m["bundle_id"]) or m["bundle_id"] in ids:
                skip(b, tr("此同步包已经导入过（序号 {f}–{l}），已跳过", "this bundle has already been imported "
                           "(sequences {f}–{l}); skipped", f=first, l=last))
                continue
            # A full bundle repairs whatever was lost; merging it again changes nothing already held.
            if not m["full"] and last <= high and last > 0 and not (first == high + 1 and last == high):
                skip(b, tr("此同步包的内容（序号 {f}–{l}）已经收到过（已收到至 {h}），已跳过",
                           "this bundle's sequences {f}–{l} have already been received (up to {h}); skipped",
                           f=first, l=last, h=high))
                continue
            if first > high + 1 and not m["full"]:
                raise _refuse(b.raw.where, "缺少更早的同步包：本包从序号 {f} 开始，但只收到至 {h}。请先导入缺少的包，"
                              "或请对方导出完整包（--full）",
                              "an earlier bundle is missing: this one starts at sequence {f} but only up to {h} "
                              "has been received; import the missing bundle first, or ask for a full bundle "
                              "(--full)", f=first, h=high)
            if heads is not None:
                heads.judge(c, b)
            note = "" if first == high + 1 else str(tr("序号 {f}–{h} 已经收到过", "sequences {f}–{h} were already "
                                                       "received", f=first, h=high))
            highs[dev] = max(high, last)
            ids.add(m["bundle_id"])
            out.append((b, note))
    return out, skipped


class _AuditChain:
    """A sender's audit hash chain as this workspace holds it, plus what earlier bundles of the same
    import add, so the entries of each bundle can be checked to continue it."""

    def __init__(self, ws: Workspace, device: str) -> None:
        self.ws, self.device = ws, device
        self.pending: dict[int, tuple[str, str]] = {}

    def check(self, rows: list[list[Any]]) -> list[Text]:
        """Every break: an entry that does not match its own hash, one that differs from the copy
        received before, one that does not follow its predecessor, entries never received."""
        problems: list[Text] = []
        seqs = [r[0] for r in rows]
        if seqs != sorted(set(seqs)):
            problems.append(tr("同步包中的审计记录顺序不对或有重复", "the audit entries in the bundle are out of "
                               "order or repeated"))
            rows = sorted({r[0]: r for r in rows}.values(), key=lambda r: r[0])
        if not rows:
            return problems
        lo, hi = rows[0][0], rows[-1][0]
        with self.ws.sync_read() as c:
            held = tables.peer_audit_range(c, self.device, lo - 1, hi + 1)
            below = tables.peer_audit_before(c, self.device, lo)
        known = {**self.pending, **held}  # stored entries win, as INSERT OR IGNORE keeps them
        below = max([below, *(s for s in self.pending if s < lo)])
        prev: list[Any] | None = None
        for row in rows:
            seq, at, user, action, entity, entity_id, fld, old, new, prev_hash, h = row
            if not all(isinstance(v, str) for v in (at, user, action, entity, entity_id, prev_hash, h)) or \
                    entry_hash(prev_hash, seq, at, user, action, entity, entity_id, fld, old, new) != h:
                problems.append(tr("审计记录第 {seq} 条与它自己的摘要不符（被修改过）",
                                   "audit entry {seq} does not match its own hash (it was edited)", seq=seq))
            if seq in known and known[seq][1] != h:
                problems.append(tr("审计记录第 {seq} 条与以前收到的不同（对方的历史被改写，或从备份恢复过）",
                                   "audit entry {seq} differs from the copy received before (the device's history "
                                   "was rewritten, or restored from a backup)", seq=seq))
            if seq == 1:
                expect: str | None = ""
            elif prev is not None and prev[0] == seq - 1:
                expect = prev[10]
            elif seq - 1 in known:
                expect = known[seq - 1][1]
            else:
                expect = None
                first_missing = prev[0] + 1 if prev is not None else below + 1
                problems.append(tr("审计记录第 {a} 至 {b} 条没有收到（有同步包丢失？请对方导出完整包）",
                                   "audit entries {a} to {b} have not been received (a bundle lost? ask the "
                                   "device for a full bundle)", a=first_missing, b=seq - 1))
            if expect is not None and prev_hash != expect:
                problems.append(tr("审计记录第 {seq} 条与前一条接不上（有记录被修改、删除或调换了顺序）",
                                   "audit entry {seq} does not follow the one before it (an entry was edited, "
                                   "deleted or moved)", seq=seq))
            prev = row
        after = known.get(hi + 1)
        if after is not None and prev is not None and after[0] != prev[10]:
            problems.append(tr("审计记录第 {seq} 条与前一条接不上（有记录被修改、删除或调换了顺序）",
                               "audit entry {seq} does not follow the one before it (an entry was edited, "
                               "deleted or moved)", seq=hi + 1))
        for row in rows:
            self.pending.setdefault(row[0], (row[9], row[10]))
        return problems


def _step_label(procedure: str, step: str) -> tuple[str, str]:
    spec = load_procedures().get(procedure)
    for s in spec.steps if spec else ():
        if s.key == step:
            return f"{spec.zh}·{s.zh}", f"{spec.en} · {s.en}"  # type: ignore[union-attr]
    return f"{procedure}·{step}", f"{procedure} · {step}"


def import_bundles(ws: Workspace, actor: User, paths: Sequence[Path], *, batch: int = BATCH,
                   executor: Executor | None = None, lookahead: int = 1,
                   progress: Progress | None = None, cancelled: Cancelled | None = None,
                   accept_history: Collection[str] = ()) -> list[BundleReport]:
    """Verify every bundle, then merge and apply all of them in one transaction (or none).

    First every check that needs no write, on every bundle (container, addressee, sender,
    signature, digest, decryption, sequence ranges and gaps); a bundle already received is skipped
    with a note (its report's `result` is "skipped"), never refused. Then, in one transaction,
    bundle after bundle in sequence order, a batch of records at a time: each is read again,
    merged with what the workspace holds at that moment (so a household in two bundles of one
    import merges onto the first), checked and written. Anything refused, a malformed record
    included, and `cancelled()` (asked between batches) roll the whole import back: nothing
    is written. With an `executor` (povdesk.ops.importing.decision_pool), the next `lookahead`
    chunks of records are judged there, as new records, while this process merges and writes;
    where a worker made no decision, this process makes it, so the outcome is the same.

    A village bundle's signed audit head must extend the last one received from that device: a
    rewritten or truncated past is refused (BundleRefused naming the device), nothing written,
    unless the device is in `accept_history` (the county coordinator, having looked into it with
    the village, takes its history as it now is: recorded as `sync.history_accepted`).
    """
    require(actor.role, EXCHANGE)

    def stop_if_asked() -> None:
        if cancelled is not None and cancelled():
            raise ImportCancelled(tr("已取消导入，未做任何修改", "the import was cancelled; nothing was changed"))

    ctx = rule_context(ws)
    own_thresholds = imported_text(ws)  # what the workers judge by, with the bundled table
    with paused_gc():
        verified = []
        for p in paths:
            stop_if_asked()
            verified.append(verify(ws, Path(p)))
        heads = _Heads(ws, accept_history)
        ordered, skipped = _order_and_ranges(ws, verified, heads)
        if not ordered:
            return skipped
        total = sum(b.households for b, _ in ordered)
        source = ", ".join(b.raw.path.name for b, _ in ordered)
        reports: list[BundleReport] = []
        chains: dict[str, _AuditChain] = {}
        done = 0
        today = ctx.today

        def pieces() -> Iterator[tuple[int, _Body, list[tuple[int, bytes]] | None]]:
            """(bundle's place, its body, a chunk of its records' lines), then (place, body, None)."""
            for i, (b, _note) in enumerate(ordered):
                body = _Body(ws, _read_again(b), b.peer)
                for chunk in body.raw_chunks(batch):
                    yield i, body, chunk
                yield i, body, None

        stream = pieces()
        ahead: deque[tuple[int, _Body, list[tuple[int, bytes]] | None, Future[list[_NewDecision | None]] | None]] = \
            deque()
        window = 1 + lookahead if executor is not None else 1

        def fill() -> None:
            while len(ahead) < window:
                item = next(stream, None)
                if item is None:
                    return
                i, body, chunk = item
                fut = (executor.submit(decide_as_new, [line for _, line in chunk], today,
                                       ordered[i][0].manifest["seq"]["last"], own_thresholds,
                                       procedures_text_in_force())
                       if executor is not None and chunk is not None else None)
                ahead.append((i, body, chunk, fut))

        with ws.sync_write(tr("导入同步包 {f}", "importing bundle {f}", f=source), actor, EXCHANGE) as (c, audit, st), \
                ws.bulk_rows(c, st, audit, source) as bulk:
            rep: BundleReport | None = None
            acked = 0
            try:
                fill()
                while ahead:
                    i, body, chunk, fut = ahead.popleft()
                    fill()
                    b, note = ordered[i]
                    m, dev = b.manifest, b.peer.device_id
                    if rep is None:
                        rep = BundleReport(b.raw.path.name, m["bundle_id"], dev, (m["seq"]["first"], m["seq"]["last"]),
                                           note=note)
                        acked = max(tables.acked(c, dev), m["ack"])
                    if chunk is not None:
                        stop_if_asked()
                        made: list[_NewDecision | None] = fut.result() if fut is not None else [None] * len(chunk)
                        _apply_batch(ws, c, bulk, st, b, rep, body.parse(chunk, made), made, acked, ctx)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
                        continue
                    _finish_bundle(ws, c, audit, st, b, rep, body, chains, heads)
                    reports.append(rep)
                    rep = None
            finally:
                for *_rest, fut in ahead:
                    if fut is not None:
                        fut.cancel()
            bulk.finish()
            stop_if_asked()
            # Across households, over the workspace as it now is: a person registered in two
            # households, flagged on the households this import brought.
            by_hh = {r.id: bundle_rep for bundle_rep in reports for r in bundle_rep.records if r.result != "rejected"}
            brought = {r.id for bundle_rep in reports for r in bundle_rep.records}  # a rejected one's copy too
            cross = CrossChecker()
            for hh in ws.cross_check_candidates_in(c, skip=set()):
                cross.add(hh)
            found = _dup_people_touching(c, cross, brought)
            for f in found:
                if f.household_id in by_hh:
                    by_hh[f.household_id].flags.append(f.to_dict())
            tables.put_flags(c, [(f.household_id, f.rule, f.member_id or "", f.message.as_dict(), "import", st.now)
                                 for f in found])
        if progress:
            progress(total, total)
        return skipped + reports


def _dup_people_touching(c: Any, cross: CrossChecker, brought: set[str]) -> list[Any]:
    """The DUP-PERSON findings of every household holding a person that a household brought by
    this import holds too: the village that registered the person first is told as well as the
    one that sent the second registration (each in its next return bundle)."""
    dups = [f for f in cross.findings() if f.rule == "DUP-PERSON"]
    number_of = tables.id_numbers_of(c, sorted({f.member_id for f in dups if f.member_id}))
    touched = {number_of.get(f.member_id or "") for f in dups if f.household_id in brought}
    return [f for f in dups if f.household_id in brought or number_of.get(f.member_id or "") in touched]


def _finish_bundle(ws: Workspace, c: Any, audit: Any, st: Any, b: Incoming, rep: BundleReport, body: _Body,
                   chains: dict[str, _AuditChain], heads: _Heads) -> None:
    """After a bundle's records: its audit entries (checked to continue the sender's chain and to
    be the ones its signed head names), flags, received range and acknowledgement, the device's
    new head, and this workspace's own audit entries for it."""
    m, dev = b.manifest, b.peer.device_id
    audit_rows, flags, _resolutions = body.rest()
    signed = heads.of.get(m["bundle_id"])
    if signed is not None:
        head, base, before = signed
        if not _rows_match_head(b.raw.where, b.peer, audit_rows, head, base, before):
            assert before is not None
            if dev not in heads.accept:
                raise _altered(b.raw.where, b.peer, before.seq, "rewritten")
            heads.accepted[m["bundle_id"]] = (before, head)
        held = audit_log.peer_head(c, dev)
        if held is None or head.seq >= held.seq or m["bundle_id"] in heads.accepted:
            audit_log.put_peer_head(c, head)
        if m["bundle_id"] in heads.accepted:
            old, new = heads.accepted[m["bundle_id"]]
            audit.add("sync.history_accepted", "device", dev, None,
                      None if old is None else {"seq": old.seq, "hash": old.hash}, {"seq": new.seq, "hash": new.hash})
    if audit_rows:
        rep.audit_received = len(audit_rows)
        chain = chains.setdefault(dev, _AuditChain(ws, dev))
        rep.audit_problems = [t.as_dict() for t in chain.check(audit_rows)]
    tables.record_received(c, dev, m["seq"]["first"], m["seq"]["last"], m["bundle_id"],
                           m["payload"]["sha256"], b.households, st.now, st.user)
    tables.set_ack(c, dev, m["ack"], st.now)
    if audit_rows:
        tables.put_peer_audit(c, dev, audit_rows)
    if flags:
        tables.put_flags(c, [(f["household_id"], str(f.get("rule", "")), str(f.get("member_id") or ""),
                              f.get("message"), "county", st.now) for f in flags])
    audit.add("sync.import", "bundle", m["bundle_id"], None, None,
              {"from": dev, "seq": [m["seq"]["first"], m["seq"]["last"]], "file": b.raw.path.name,
               "households": b.households,
               **({"audit_head": {"seq": signed[0].seq, "hash": signed[0].hash}} if signed is not None else {})})
    # A break is recorded in this workspace's own (hash-chained) audit log, not refused: see docs/sync.md.
    for problem in rep.audit_problems:
        audit.add("sync.audit_break", "device", rep.device, None, None,
                  {"bundle": rep.bundle_id, "file": rep.file, "message": problem})
    if rep.county_steps:
        tables.put_flags(c, [(s["household_id"], "COUNTY-STEP", s["event_id"], s["message"], "county",
                              st.now) for s in rep.county_steps])


# What a worker decides about a record as if it were new here: (history problems as dicts,
# findings as dicts, packed state); used when it is new here (a merged record is judged merged).
_NewDecision = tuple[list[dict[str, str]], list[dict[str, Any]], bytes]


def decide_as_new(lines: Sequence[str | bytes], today: date, seq: int = 0, thresholds: str | None = None,
                  procedures: str | None = None) -> list[_NewDecision | None]:
    """For a worker process (spawn): each record line judged as a new record; None where it does
    not parse or a check raises (this process then does it again, in order, and raises there).
    `seq` is the bundle's last sequence, remembered with the received state; `thresholds` the
    workspace's own monitoring table and procedures as it keeps them (store.thresholds)."""
    use_procedures(procedures)
    ctx = RuleContext(today=today, thresholds=with_overrides(thresholds))
    out: list[_NewDecision | None] = []
    for line in lines:
        try:
            hh = parse_line(line, "")
            out.append((*decide(hh, ctx), tables.pack(_received_state(hh, seq))))
        except Exception:
            out.append(None)
    return out


def _received_state(hh: Household, seq: int) -> dict[str, Any]:
    """The state remembered as received from the sender, with the sender's sequence it was taken
    at, so a record taken earlier (an old full bundle imported late) is known to be superseded."""
    return {**_state(hh, {}), "#seq": seq}


def _apply_batch(ws: Workspace, c: Any, bulk: Any, st: Any, b: Incoming, rep: BundleReport, chunk: list[Household],
                 made: list[_NewDecision | None], acked: int, ctx: RuleContext) -> None:
    """Merge one batch of a bundle's records with what the workspace holds now, and write it."""
    m, dev = b.manifest, b.peer.device_id
    ids = [h.id for h in chunk]
    current = ws.load_households(ids)  # inside the import's transaction: earlier batches included
    bases = tables.bases(c, dev, ids)
    open_c = tables.open_conflict_paths(c, ids)
    writes: list[Household] = []
    received: list[tuple[str, bytes]] = []
    sender_level = b.peer.level
    for remote, decided in zip(chunk, made, strict=True):
        local = current.get(remote.id)
        packed: bytes | None = None
        held = bases.get(remote.id)
        if local is not None and held is not None and held.received_seq > m["seq"]["last"]:
            # Versions only move forward: this device already sent a newer state of the record
            # (this is an older full bundle arriving late), so it brings nothing not superseded.
            rep.records.append(RecordOutcome(remote.id, local.household_no, "unchanged", reasons=[tr(
                "此户在该设备更新的同步包（序号 {h}）中已收到，本包（至序号 {l}）较旧，未做修改",
                "a newer state of this household (sequence {h}) was already received from the device; this "
                "bundle (up to {l}) is older, nothing was changed", h=held.received_seq, l=m["seq"]["last"]
            ).as_dict()]))
            continue
        refused = _authority_problems(local, remote, sender_level, b.peer.region_code, ws.region_code)
        if refused:
            rep.records.append(RecordOutcome(remote.id, local.household_no if local else remote.household_no,
                                             "rejected", reasons=[t.as_dict() for t in refused]))
            continue
        if local is None:
            if decided is None:  # no worker, or it could not: decided here, as the worker would
                problems, findings = decide(remote, ctx)
            else:
                problems, findings, packed = decided
            if problems:
                rep.records.append(RecordOutcome(remote.id, remote.household_no, "rejected", reasons=problems))
                continue
            merged = remote
            outcome = RecordOutcome(remote.id, remote.household_no, "inserted")
            outcome.findings = findings
        else:
            events = union_events(local.events, remote.events)
            merge_problems = replay(events, start=initial_status(local.fields))
            clash = _steps_clash(local, remote) if merge_problems else None
            if merge_problems and clash is None:
                rep.records.append(RecordOutcome(remote.id, remote.household_no, "rejected",
                                                 reasons=[p.as_dict() for p in merge_problems]))
                continue
            if clash is not None:
                # Both sides recorded steps that cannot follow each other: this side's history is
                # kept as it is and the clash waits, with both, for the county's decision.
                events = list(local.events)
                tables.put_conflict(c, remote.id, local.household_no, STEPS, dev, None, clash[0], clash[1], st.now)
            elif STEPS in open_c.get(remote.id, {}):
                # The other side's steps now follow on (a decision voided one side): settled.
                tables.close_steps_conflict(c, remote.id, "voided", st.now, st.user)
            if m["kind"] == "return":
                for e in events[len(local.events):]:
                    zh, en = _step_label(e.procedure, e.step)
                    rep.county_steps.append({"household_id": remote.id, "household_no": local.household_no,
                                             "event_id": e.id, "procedure": e.procedure, "step": e.step,
                                             "date": e.date, "role": e.role, "user": e.user,
                                             "message": Text(f"县里记录了“{zh}”（{e.date}）",
                                                             f"the county recorded '{en}' ({e.date})").as_dict()})
            base_rec = bases.get(remote.id)
            base = base_rec.common(acked) if base_rec else None
            local_flat = mask(flatten(local), {})
            res = merge3(None if base is None else {k: v for k, v in base.items() if not k.startswith("#")},
                         local_flat, flatten(remote))
            merged = unflatten(res.flat, local)
            merged.events = events
            start = initial_status(merged.fields)
            merged.status = status_after(events, start=start) or start
            merged.updated_at, merged.updated_by = "", ""
            already = open_c.get(remote.id, {})
            fresh = [x for x in res.conflicts if not (x[0] in already and _eq(already[x[0]], x[3]))]
            if clash is not None and not (STEPS in already and _eq(already[STEPS], clash[1])):
                fresh.append((STEPS, None, clash[0], clash[1]))
            for path, bv, lv, rv in res.conflicts:
                tables.put_conflict(c, remote.id, local.household_no, path, dev, bv, lv, rv, st.now)
            changed = (flatten(merged) != local_flat or merged.status != local.status
                       or len(events) != len(local.events))
            outcome = RecordOutcome(remote.id, local.household_no, "merged" if changed else "unchanged",
                                    conflicts=[{"path": p, "base": bv, "local": lv, "remote": rv}
                                               for p, bv, lv, rv in fresh])
            outcome.findings = [f.to_dict() for f in validate_household(merged, ctx)]
        if outcome.result != "unchanged":
            merged.version = local.version if local is not None else merged.version
            writes.append(merged)
        received.append((remote.id, packed or tables.pack(_received_state(remote, m["seq"]["last"]))))
        rep.records.append(outcome)
    bulk.write(writes)
    tables.put_received(c, dev, st.now, received)


_EVENT_CORE = ("procedure", "step", "date", "role", "user", "evidence")

# The conflict path of clashing procedure steps (field conflicts carry a field's path).
STEPS = "#steps"


def _steps_clash(local: Household, remote: Household) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """(this side's steps, the other side's), as event dicts, when each side recorded steps the
    other does not hold and each history is legal alone but not together: a clash for the county
    to decide. None when it is not that (a history illegal in itself is rejected)."""
    local_ids, remote_ids = {e.id for e in local.events}, {e.id for e in remote.events}
    mine = [e for e in local.events if e.id not in remote_ids]
    theirs = [e for e in remote.events if e.id not in local_ids]
    if not mine or not theirs or replay(local.events, start=initial_status(local.fields)) or \
            replay(remote.events, start=initial_status(remote.fields)):
        return None
    return [e.to_dict() for e in mine], [e.to_dict() for e in theirs]


def _authority_problems(local: Household | None, remote: Household, sender_level: str, sender_region: str,
                        own_region: str) -> list[Text]:
    """Why a record may not come in from a device of `sender_level` (empty: it may).

    Authority follows the level that signs: each step this workspace does not hold yet must be of
    the sender's level or below (a village device cannot bring a county approval, whatever role
    and user its events name); a step it holds must arrive unchanged (a device cannot rewrite
    what was recorded elsewhere); and a device writes only households of the villages under its
    own region, both as stored here and as sent."""
    out: list[Text] = []
    if local is not None and local.village_code != remote.village_code:
        out.append(tr("这户在本工作区属于村 {a}，发来的记录写的是村 {b}：户所属的村不能通过同步改变（迁户由县里办理："
                      "povdesk move）",
                      "this household belongs to village {a} here and the record says village {b}: a household's "
                      "village cannot change through sync (the county moves households: povdesk move)",
                      a=local.village_code, b=remote.village_code))
    for code in dict.fromkeys(c for c in (remote.village_code, local.village_code if local else None) if c):
        if not code.startswith(sender_region) or not code.startswith(own_region):
            out.append(tr("村 {v} 不在发送设备负责的范围（{r}）内，这条记录未导入",
                          "village {v} is not one the sending device serves ({r}), so this record was not imported",
                          v=code, r=sender_region))
    known = {e.id: e for e in local.events} if local is not None else {}
    for e in remote.events:
        mine = known.get(e.id)
        if mine is None:
            why = level_refusal(e, sender_level)
            if why is not None:
                out.append(tr("{why}（{date}，用户 {user}）：发送设备是{level}设备，这条记录未导入",
                              "{why} ({date}, user {user}): the sending device is a {level} device, so this record "
                              "was not imported", why=why, date=e.date, user=e.user, level=level_label(sender_level)))
        elif any(getattr(mine, k) != getattr(e, k) for k in _EVENT_CORE):
            out.append(tr("发来的记录改动了已登记的程序步骤“{step}”（{date}）：已登记的步骤不能被改写，这条记录未导入",
                          "the record changes the recorded step '{step}' ({date}): a recorded step cannot be rewritten, "
                          "so this record was not imported", step=Text(*_step_label(e.procedure, e.step)), date=mine.date))
    return out


def _eq(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------------------------
# Conflicts and status


_MISSING = object()


def resolve_conflict(ws: Workspace, actor: User, conflict_id: int, take: str | None,
                     value: Any = _MISSING) -> tables.Conflict:
    with ws.sync_read() as c:
        cf = tables.conflict(c, conflict_id)
    if cf is None:
        raise BadInput(tr("没有编号为 {i} 的冲突", "no conflict number {i}", i=conflict_id))
    if cf.status != "open":
        raise BadInput(tr("冲突 {i} 已经处理过", "conflict {i} has already been resolved", i=conflict_id))
    if take == "local":
        chosen = cf.local
    elif take == "remote":
        chosen = cf.remote
    elif value is not _MISSING:
        chosen, take = value, "value"
    else:
        raise BadInput(tr("请用 --take local|remote 或 --value 指明取值", "say --take local|remote or --value"))
    if cf.path == STEPS:
        return _resolve_steps(ws, actor, cf, take)
    hh = ws.load_household(cf.household_id)
    flat = flatten(hh)
    if chosen is None:
        flat.pop(cf.path, None)
    else:
        flat[cf.path] = chosen
    updated = unflatten(flat, hh)
    with ws.sync_write(tr("处理冲突 {i}", "resolving conflict {i}", i=conflict_id), actor, EXCHANGE) as (c, audit, st):
        ws.save_in(c, updated, st, audit)
        tables.close_conflict(c, conflict_id, take or "value", chosen, st.now, st.user)
        audit.add("sync.resolve", "household", cf.household_id, cf.path, None,
                  {"conflict": conflict_id, "resolution": take, "value": chosen})
    with ws.sync_read() as c:
        done = tables.conflict(c, conflict_id)
    assert done is not None
    return done


def _resolve_steps(ws: Workspace, actor: User, cf: tables.Conflict, take: str | None) -> tables.Conflict:
    """The county keeps one side's clashing steps: the other side's are added to the history and
    voided (so both histories stay, and every copy agrees once the decision travels), in one
    transaction; the status is derived again."""
    if take not in ("local", "remote"):
        raise BadInput(tr("程序步骤的冲突只能保留一方：--take local（本工作区的）或 --take remote（对方的）",
                          "a clash of procedure steps keeps one side: --take local (this workspace's) or --take "
                          "remote (the other side's)"))
    if ws.level != "county":
        raise BadInput(tr("程序步骤的冲突由县里决定；决定会在下一个回传包中送达",
                          "the county decides a clash of procedure steps; its decision comes in the next return "
                          "bundle"))
    hh = ws.load_household(cf.household_id)
    theirs = [ProcedureEvent.from_dict(d) for d in cf.remote or []]
    held = {e.id for e in hh.events}
    added = [e for e in theirs if e.id not in held]
    dropped = [ProcedureEvent.from_dict(d) for d in (cf.remote if take == "local" else cf.local) or []]
    kept_side = tr("本工作区", "this workspace's") if take == "local" else tr("对方", "the other side's")
    reason = tr("程序步骤冲突 {i}：保留{k}的步骤", "clash of procedure steps {i}: kept {k} steps", i=cf.id, k=kept_side)
    today = ws.clock.today().isoformat()
    marks = [ProcedureEvent(procedure=VOID, step=VOID, date=today, role=actor.role, user=actor.name,
                            evidence={"event": e.id, "reason": reason.zh}) for e in dropped if not is_void(e)]
    events = [*hh.events, *added, *marks]
    start = initial_status(hh.fields)
    problems = replay(events, start=start)
    if problems:
        raise ProcedureRefused(problems, where=hh.household_no or hh.id)
    with ws.sync_write(tr("处理冲突 {i}", "resolving conflict {i}", i=cf.id), actor, EXCHANGE) as (c, audit, st):
        work = hh
        for e in [*added, *marks]:
            work.status = status_from([*work.events, e], start)
            ws.append_event_in(c, work, e, st, audit, actor.role)
        tables.close_conflict(c, cf.id, take, [e.id for e in dropped], st.now, st.user)
        audit.add("sync.resolve", "household", cf.household_id, cf.path, None,
                  {"conflict": cf.id, "resolution": take, "voided": [e.id for e in dropped]})
    with ws.sync_read() as c:
        done = tables.conflict(c, cf.id)
    assert done is not None
    return done


def list_conflicts(ws: Workspace, status: str | None = "open") -> list[tables.Conflict]:
    with ws.sync_read() as c:
        return tables.conflicts(c, status)


def get_conflict(ws: Workspace, conflict_id: int) -> tables.Conflict:
    with ws.sync_read() as c:
        cf = tables.conflict(c, conflict_id)
    if cf is None:
        raise BadInput(tr("没有编号为 {i} 的冲突", "no conflict number {i}", i=conflict_id))
    return cf


@dataclass(frozen=True)
class AuditBreak:
    """A break in a peer's audit chain noticed at import (this workspace's own `sync.audit_break` entry)."""

    at: str
    bundle: str  # the bundle id
    file: str
    message: Message

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "bundle": self.bundle, "file": self.file, "message": self.message}


@dataclass(frozen=True)
class SyncFlag:
    """A duplicate person or a county's procedure step on a household: sent down by the county
    (a village) or found at import (a county)."""

    household_id: str
    household_no: str
    rule: str  # DUP-PERSON | COUNTY-STEP
    member_id: str  # the member (DUP-PERSON) or the event (COUNTY-STEP)
    message: Message
    source: str  # county | import
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"household_id": self.household_id, "household_no": self.household_no, "rule": self.rule,
                "member_id": self.member_id, "message": self.message, "source": self.source,
                "created_at": self.created_at}


@dataclass(frozen=True)
class PeerStatus:
    """What has gone to one trusted device (or the county) and come back from it."""

    device_id: str
    relation: str  # device | county
    region_code: str
    name: str
    fingerprint: str
    active: bool
    sent_up_to: int
    acknowledged_up_to: int
    received_up_to: int
    not_yet_acknowledged_households: int
    outbox_not_acknowledged: int
    not_acknowledged_seq: tuple[int, int] | None  # first and last sequence it has not acknowledged
    audit_received_up_to: int
    audit_breaks: tuple[AuditBreak, ...]

    def to_dict(self) -> dict[str, Any]:
        seq = self.not_acknowledged_seq
        return {"device_id": self.device_id, "relation": self.relation, "region_code": self.region_code,
                "name": self.name, "fingerprint": self.fingerprint, "active": self.active,
                "sent_up_to": self.sent_up_to, "acknowledged_up_to": self.acknowledged_up_to,
                "received_up_to": self.received_up_to,
                "not_yet_acknowledged_households": self.not_yet_acknowledged_households,
                "outbox_not_acknowledged": self.outbox_not_acknowledged,
                "not_acknowledged_seq": None if seq is None else list(seq),
                "audit_received_up_to": self.audit_received_up_to,
                "audit_breaks": [b.to_dict() for b in self.audit_breaks]}


@dataclass(frozen=True)
class SyncStatus:
    """This workspace's side of the exchange, as `bundle status` and the sync centre show it."""

    device_id: str
    fingerprint: str
    level: str
    outbox_last: int  # the last change recorded in the outbox
    peers: tuple[PeerStatus, ...]
    open_conflicts: int
    flags: tuple[SyncFlag, ...]
    waiting: tuple[Waiting, ...] = ()  # households with open conflicts, waiting on a decision

    def peer(self, device_id: str | None) -> PeerStatus | None:
        return next((p for p in self.peers if p.device_id == device_id), None)

    def to_dict(self) -> dict[str, Any]:
        """As `bundle status --json` prints it."""
        return {"device_id": self.device_id, "fingerprint": self.fingerprint, "level": self.level,
                "outbox_last": self.outbox_last, "peers": [p.to_dict() for p in self.peers],
                "open_conflicts": self.open_conflicts, "flags": [f.to_dict() for f in self.flags],
                "waiting": [w.to_dict() for w in self.waiting]}


@dataclass(frozen=True)
class Waiting:
    """A household with open conflicts: the fields (and `#steps` for clashing procedure steps) a
    decision is awaited on; at a village or township, clashing steps wait on the county."""

    household_id: str
    household_no: str
    paths: tuple[str, ...]
    conflict_ids: tuple[int, ...]

    @property
    def steps(self) -> bool:
        return STEPS in self.paths

    def to_dict(self) -> dict[str, Any]:
        return {"household_id": self.household_id, "household_no": self.household_no, "paths": list(self.paths),
                "conflicts": list(self.conflict_ids), "steps": self.steps}


def steps_summary(events: Any, lang: str) -> str:
    """Clashing steps (event dicts, as a conflict stores them) as a person reads them: label (date,
    who), one after the other."""
    parts = []
    for d in events if isinstance(events, list) else []:
        zh, en = _step_label(str(d.get("procedure", "")), str(d.get("step", "")))
        label = (zh if lang == "zh" else en) if d.get("procedure") != VOID else ("作废" if lang == "zh" else "void")
        parts.append(f"{label} ({d.get('date', '')}, {d.get('user', '')})")
    return "; ".join(parts)


def status(ws: Workspace) -> SyncStatus:
    """What has reached each peer and what has not (the outbox keeps everything regardless)."""
    last = ws.last_outbox_seq()
    fp = my_fingerprint(ws)
    # The province's key (povdesk province set-key) is no exchange peer: it acknowledges nothing.
    trusted = [p for p in ws.sync_peers() if p.relation != "province"]
    peers: list[PeerStatus] = []
    with ws.sync_read() as c:
        for p in trusted:
            acked = tables.acked(c, p.device_id)
            pending = set(tables.outbox_household_ids(c, acked + 1, last)) if last > acked else set()
            scope = p.region_code if p.relation == "device" else ws.region_code
            pending_n = len([h for h in tables.all_household_ids(c, scope) if h in pending]) if pending else 0
            breaks = tuple(AuditBreak(str(b.get("at", "")), str(b.get("bundle", "")), str(b.get("file", "")),
                                      _message(b.get("message"))) for b in tables.audit_breaks(c, p.device_id))
            peers.append(PeerStatus(
                device_id=p.device_id, relation=p.relation, region_code=p.region_code, name=p.name,
                fingerprint=p.fingerprint, active=p.active, sent_up_to=tables.sent_high(c, p.device_id),
                acknowledged_up_to=acked, received_up_to=tables.received_high(c, p.device_id),
                not_yet_acknowledged_households=pending_n, outbox_not_acknowledged=max(0, last - acked),
                not_acknowledged_seq=(acked + 1, last) if last > acked else None,
                audit_received_up_to=tables.peer_audit_head(c, p.device_id)[0], audit_breaks=breaks))
        open_list = tables.conflicts(c, "open")
        open_conflicts = len(open_list)
        by_hh: dict[str, list[tables.Conflict]] = {}
        for cf in open_list:
            by_hh.setdefault(cf.household_id, []).append(cf)
        waiting = tuple(Waiting(hid, cfs[0].household_no, tuple(x.path for x in cfs), tuple(x.id for x in cfs))
                        for hid, cfs in sorted(by_hh.items(), key=lambda kv: kv[1][0].household_no))
        # Duplicates and procedure steps the county sent down (a village), or found at import (a county).
        flags = tuple(SyncFlag(f["household_id"], f["household_no"], f["rule"], f["member_id"],
                               _message(f["message"]), f["source"], f["created_at"]) for f in tables.flag_list(c))
    return SyncStatus(ws.device_id, fp, ws.level, last, tuple(peers), open_conflicts, flags, waiting)
