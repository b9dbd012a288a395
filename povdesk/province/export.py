"""The county's side: learn the province's keys, and write province bundles.

A province bundle is the sync bundle container (povdesk.sync.bundle) with kind "province": signed
by the county workspace's Ed25519 key, encrypted to the province's X25519 key. Its payload is
JSON Lines: a header (the county, the count of households, the county's audit head), then the
county's current version of each household changed since the last province bundle (or of every
household with `full`), in the exchange shape: members, per-year records, helpers and procedure
events. The county is the authority for its households: the province keeps the newest version of
each and never edits them, so nothing comes back from the province for these records.

What has been sent is remembered like any bundle the county makes: the range of its outbox the
bundle covers, under the province's device id (povdesk.store.sync.record_sent); the next bundle
starts after it. The province does not acknowledge, so a lost bundle is made good by `full`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from povdesk.core.exchange import dump_line
from povdesk.core.importing import paused_gc
from povdesk.core.model import Household
from povdesk.core.permissions import require
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.store import Workspace
from povdesk.store import audit as audit_log
from povdesk.store import sync as tables
from povdesk.store.codec import dumps, now_utc
from povdesk.store.users import User
from povdesk.sync import bundle as fmt
from povdesk.sync.keys import DeviceCard, fingerprint, read_key_file

KIND = "province"
RELATION = "province"  # the peer row a county keeps for its province
LEVEL = "province"
KEYS = "manage_sync_keys"
EXCHANGE = "exchange_bundles"
BATCH = 2000


def _county_only(ws: Workspace) -> None:
    if ws.level != "county":
        raise BadInput(tr("只有县级工作区向省里报送（本工作区是{l}级）",
                          "only a county workspace sends to the province (this one is a {l} workspace)", l=ws.level))


def set_province_key(ws: Workspace, actor: User, path: Path) -> DeviceCard:
    """The county learns its province's public keys from the province's key file
    (`povdesk province keys --database URL --output FILE`); a new one replaces the old."""
    require(actor.role, KEYS)
    _county_only(ws)
    card = read_key_file(path)
    where = str(path)
    if card.level != LEVEL:
        raise BadInput(tr("这不是省级数据库的密钥（级别：{l}）", "this is not a province's key (level: {l})",
                          l=card.level), where=where)
    if not ws.region_code.startswith(card.region_code):
        raise BadInput(tr("省 {p} 不管辖本县 {c}", "province {p} does not cover this county {c}", p=card.region_code,
                          c=ws.region_code), where=where)
    for old in ws.sync_peers(RELATION):
        if old.active and old.device_id != card.device_id:
            ws.revoke_sync_peer(actor, old.device_id, "replaced by the province key "
                                f"{card.fingerprint}", KEYS)
    ws.put_sync_peer(actor, tables.Peer(card.device_id, RELATION, card.sign_public, card.box_public,
                                        card.fingerprint, card.workspace_id, card.region_code, card.level, card.name,
                                        True, now_utc(), actor.name), KEYS)
    return card


def province_peer(ws: Workspace) -> tables.Peer:
    found = [p for p in ws.sync_peers(RELATION) if p.active]
    if not found:
        raise BadInput(tr("本县还不知道省里的密钥：请先运行 povdesk province set-key DB 省密钥文件",
                          "this county does not know its province's key yet: run povdesk province set-key DB "
                          "PROVINCE-KEY-FILE first"))
    return found[-1]


@dataclass(frozen=True)
class ProvinceExport:
    path: Path
    manifest: dict[str, Any]
    written: bool = True

    @property
    def households(self) -> int:
        return int(self.manifest["counts"]["households"])


def export_province_bundle(ws: Workspace, actor: User, out: Path, *, full: bool = False,
                           batch: int = BATCH) -> ProvinceExport:
    require(actor.role, EXCHANGE)
    _county_only(ws)
    peer = province_peer(ws)
    with paused_gc():
        return _export(ws, actor, out, peer, full, batch)


def _export(ws: Workspace, actor: User, out: Path, peer: tables.Peer, full: bool, batch: int) -> ProvinceExport:
    with ws.sync_read() as c:
        last = ws.last_outbox_seq()
        first = 1 if full else tables.sent_high(c, peer.device_id) + 1
        scope = tables.all_household_ids(c, ws.region_code)
        if full:
            ids = scope
        else:
            wanted = set(tables.outbox_household_ids(c, first, last)) if last >= first else set()
            ids = [h for h in scope if h in wanted]
        head = audit_log.entries(c, None, 1)
        audit_seq, audit_hash = (head[0].seq, head[0].hash) if head else (0, "")
        audit_head: dict[str, Any] = {"seq": audit_seq, "hash": audit_hash}
        recipient = {"device_id": peer.device_id, "fingerprint": peer.fingerprint, "region_code": peer.region_code}
        if not ids and not full:
            return ProvinceExport(out, {"counts": {"households": 0, "members": 0, "events": 0},
                                        "seq": {"first": first, "last": last}, "recipient": recipient}, written=False)

        def households() -> Iterator[Household]:
            for start in range(0, len(ids), batch):
                chunk = ids[start:start + batch]
                loaded = ws.load_households(chunk)
                for hid in chunk:
                    yield loaded[hid]
                del loaded

        keys = ws.device_keys()
        sender = {"device_id": ws.device_id, "workspace_id": ws.workspace_id, "region_code": ws.region_code,
                  "level": ws.level, "name": ws.name, "fingerprint": fingerprint(keys["sign"][1], keys["box"][1])}
        manifest = write_bundle(out, households(), len(ids), sender=sender, sign_private=keys["sign"][0],
                                recipient=recipient, box_public=peer.box_public, full=full, seq=(first, last),
                                audit_head=audit_head, schema_version=ws.schema_version)
    bundle_id = manifest["bundle_id"]
    try:
        with ws.sync_write(tr("记录已报送省里的数据包", "recording the bundle sent to the province"), actor,
                           EXCHANGE) as (c, audit, st):
            tables.record_sent(c, peer.device_id, first, last, bundle_id, len(ids), audit_seq, st.now,
                               st.user)
            audit.add("province.export", "bundle", bundle_id, None, None,
                      {"to": peer.device_id, "seq": [first, last], "households": len(ids), "full": full,
                       "file": out.name})
    except BaseException:
        out.unlink(missing_ok=True)  # a bundle the county does not remember sending must not travel
        raise
    return ProvinceExport(out, manifest)


def write_bundle(out: Path, households: Iterable[Household], count: int, *, sender: dict[str, Any],
                 sign_private: bytes, recipient: dict[str, Any], box_public: bytes, full: bool,
                 seq: tuple[int, int], audit_head: dict[str, Any], schema_version: int) -> dict[str, Any]:
    """Seal `count` households (read as they come) into a province bundle at `out`, signed with
    `sign_private` and encrypted to `box_public`; returns its manifest. The county's export calls it
    on its workspace; the bench on generated households."""
    sealer = fmt.Sealer()
    header = {"county": sender["region_code"], "households": count, "audit_head": audit_head}
    sealer.feed(dumps(header).encode("utf-8") + b"\n")
    villages: set[str] = set()
    n = members = events = 0
    for hh in households:
        sealer.feed(dump_line(hh).encode("utf-8") + b"\n")
        villages.add(hh.village_code)
        n += 1
        members += len(hh.members)
        events += len(hh.events)
    if n != count:
        raise ValueError(f"{n} households written, {count} announced")
    bundle_id = str(uuid.uuid4())
    ciphertext, payload = sealer.finish(box_public, bundle_id, sender["device_id"])
    manifest = {
        "format": fmt.FORMAT, "format_version": fmt.FORMAT_VERSION, "schema_version": schema_version,
        "bundle_id": bundle_id, "kind": KIND, "full": full, "created_at": now_utc(),
        "sender": sender, "recipient": recipient,
        "villages": sorted(villages), "seq": {"first": seq[0], "last": seq[1]}, "ack": 0,
        "audit_head": audit_head,
        "counts": {"households": count, "members": members, "events": events},
        "payload": payload,
    }
    fmt.write(out, manifest, ciphertext, sign_private)
    return manifest
