"""A workspace's side of the online exchange: set the relay, queue bundles, upload them, fetch and import.

What the CLI (`povdesk relay connect`, `upload`, `fetch`) and the sync centre call. Bundles are made
by the same export as for a USB stick, kept as files beside the workspace in `<name>-relay/outbox`
and listed in `relay_outbox`; nothing there is dropped. A bundle counts as "at the relay" only with
a receipt signed by the pinned relay key, and as "received by the county" only once the county's
acknowledgement has come back in a return bundle. Fetched bundles go through
povdesk.sync.service.import_bundles, exactly as files do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from povdesk.errors import BadInput
from povdesk.i18n import Text, current_language, tr
from povdesk.relay import client as rc
from povdesk.relay import signing as sig
from povdesk.store import Workspace
from povdesk.store import sync as tables
from povdesk.store.users import User
from povdesk.sync import bundle as fmt
from povdesk.sync import service
from povdesk.sync.keys import fingerprint as device_fingerprint

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

# States of a queued bundle, as the sync centre and `povdesk upload` show them.
STATES = {
    "queued": tr("待上传", "queued"),
    "uploading": tr("上传中", "uploading"),
    "at_relay": tr("已到中转服务器", "at the relay"),
    "held": tr("中转服务器暂存（前面缺序号）", "held at the relay (a gap before it)"),
    "refused": tr("被拒绝", "refused"),
    "received": tr("县里已收到", "received by the county"),
}
# What the county's return bundles reach: a village (or township) device.
RECEIVED_BY_DEVICE = tr("对方设备已收到", "received by the device")


@dataclass(frozen=True)
class OutboxItem:
    bundle_id: str
    peer: str
    file: str
    seq: tuple[int, int]
    size: int
    stored_state: str  # queued | uploading | at_relay | held | refused
    sent_bytes: int
    reason: dict[str, str] | None
    receipt: dict[str, Any] | None
    acknowledged: bool  # the other side's acknowledgement has reached seq_last
    from_county: bool = False  # a county's return bundle (received by a village, not by the county)

    @property
    def state(self) -> str:
        """What to show: "received" once acknowledged (whatever the relay said), else the stored state."""
        if self.acknowledged and self.stored_state in ("at_relay", "held"):
            return "received"
        return self.stored_state

    def label(self, lang: str | None = None) -> str:
        lang = lang or current_language()
        text = (RECEIVED_BY_DEVICE if self.state == "received" and self.from_county else STATES[self.state]).get(lang)
        if self.state == "uploading" and self.size:
            text += f" {100 * self.sent_bytes // self.size}%"
        if self.reason:
            text += ("：" if lang == "zh" else ": ") + self.reason[lang]
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"bundle_id": self.bundle_id, "peer": self.peer, "file": self.file, "seq": list(self.seq),
                "size": self.size, "state": self.state, "sent_bytes": self.sent_bytes, "reason": self.reason,
                "receipt": self.receipt}


def relay_dir(ws: Workspace) -> Path:
    return ws.path.with_name(ws.path.stem + "-relay")


def link(ws: Workspace) -> tables.RelayLink | None:
    with ws.sync_read() as c:
        return tables.relay_link(c)


def _need_link(ws: Workspace) -> tables.RelayLink:
    found = link(ws)
    if found is None:
        raise BadInput(tr("本工作区还没有设置中转服务器：请先运行 povdesk relay connect DB 网址 --fingerprint 指纹",
                          "this workspace has no relay yet: run povdesk relay connect DB URL --fingerprint "
                          "FINGERPRINT first"))
    return found


def _norm(fp: str) -> str:
    return fp.strip().upper().replace(" ", "")


def connect(ws: Workspace, actor: User, url: str, expected_fingerprint: str, tls_cert: Path | None = None,
            tls_fingerprint: str | None = None) -> tables.RelayLink:
    """Pin the relay: its key must have the fingerprint the county gave (compared by phone). With
    https://, its certificate is pinned too: the file given (`tls_cert`), or the one it presents if
    that has the SHA-256 fingerprint given (`tls_fingerprint`); then only that certificate is trusted."""
    service.require_role(actor, service.KEYS)
    if not url.startswith(("http://", "https://")):
        raise BadInput(tr("中转服务器网址应以 http:// 或 https:// 开头：{u}", "the relay URL must start with http:// "
                          "or https://: {u}", u=url))
    pem = None
    if tls_cert is not None:
        try:
            pem = tls_cert.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            raise BadInput(tr("无法读取证书文件", "cannot read the certificate file"), where=str(tls_cert)) from None
        if tls_fingerprint and rc.cert_fingerprint(pem).replace(":", "") != \
                tls_fingerprint.strip().upper().replace(":", ""):
            raise BadInput(tr("证书文件的指纹不是给您的那个", "the certificate file's fingerprint is not the one you were "
                              "given"), where=str(tls_cert))
    elif tls_fingerprint:
        pem = rc.served_certificate(url, tls_fingerprint)
    about = rc.fetch_about(url, tls_cert=pem)
    public = rc.relay_public_of(about)
    fp = sig.relay_fingerprint(public)
    if _norm(expected_fingerprint) != fp:
        raise BadInput(tr("中转服务器的指纹是 {got}，不是给您的 {want}：不要使用它，请与县里核对",
                          "the relay's fingerprint is {got}, not the {want} you were given: do not use it; check "
                          "with the county", got=fp, want=_norm(expected_fingerprint)))
    with ws.sync_write(tr("设置中转服务器", "setting the relay"), actor, service.KEYS) as (c, audit, st):
        tables.put_relay_link(c, url.rstrip("/"), public, fp, pem, st.now, st.user)
        audit.add("sync.relay", "relay", fp, None, None, {"url": url.rstrip("/"), "fingerprint": fp,
                                                          "tls_pinned": pem is not None})
    return _need_link(ws)


def client_for(ws: Workspace, **options: Any) -> rc.RelayClient:
    ln = _need_link(ws)
    return rc.RelayClient(ln.url, ws.device_id, ws.device_keys()["sign"][0], ln.relay_public, tls_cert=ln.tls_cert,
                          clock=ws.clock, **options)


# ---------------------------------------------------------------------------------------------
# The outbox


def _peers(ws: Workspace) -> list[tables.Peer]:
    if ws.level == "county":
        return [p for p in ws.sync_peers("device") if p.active]
    return [p for p in ws.sync_peers("county") if p.active][:1]


def outbox_items(ws: Workspace) -> list[OutboxItem]:
    with ws.sync_read() as c:
        rows = tables.relay_outbox(c)
        acked = {p.device_id: tables.acked(c, p.device_id) for p in ws.sync_peers()}
    return [OutboxItem(r["bundle_id"], r["peer"], r["file"], (int(r["seq_first"]), int(r["seq_last"])), int(r["size"]),
                       r["state"], int(r["sent_bytes"]), r["reason"], r["receipt"],
                       acked.get(r["peer"], 0) >= int(r["seq_last"]) and int(r["seq_last"]) > 0,
                       ws.level == "county") for r in rows]


def queue_new(ws: Workspace, actor: User) -> list[OutboxItem]:
    """Export a bundle for each peer with something new for it (changes not yet sent, or an
    acknowledgement to carry), into the relay outbox folder; returns the new items."""
    service.require_role(actor, service.EXCHANGE)
    folder = relay_dir(ws) / "outbox"
    folder.mkdir(parents=True, exist_ok=True)
    made: list[str] = []
    last = ws.last_outbox_seq()
    for peer in _peers(ws):
        with ws.sync_read() as c:
            sent = tables.sent_high(c, peer.device_id)
            received = tables.received_high(c, peer.device_id)
            acks = [int(r["ack"]) for r in tables.relay_outbox(c, peer.device_id)]
        if last <= sent and acks and received <= max(acks):
            continue
        name = f"{ws.region_code}-to-{peer.region_code}-seq{sent + 1}-{last}"
        out = folder / f"{name}.pvb"
        n = 1
        while out.exists():
            n += 1
            out = folder / f"{name}-{n}.pvb"
        res = service.export_bundle(ws, actor, out, to=peer.device_id if ws.level == "county" else None)
        if not res.written:
            continue
        sha, size = rc.file_digest(out)
        first, last_seq = res.seq
        with ws.sync_write(tr("登记待上传的同步包", "queueing a bundle for the relay"), actor, service.EXCHANGE) as \
                (c, _audit, st):
            tables.queue_relay_bundle(c, res.manifest["bundle_id"], peer.device_id, str(out), first, last_seq,
                                      int(res.manifest["ack"]), size, sha, st.now)
        made.append(res.manifest["bundle_id"])
    return [i for i in outbox_items(ws) if i.bundle_id in made]


@dataclass
class UploadReport:
    items: list[OutboxItem] = field(default_factory=list)
    uploaded: int = 0
    refused: int = 0
    error: Text | None = None  # the relay could not be reached: everything not uploaded stays queued


def _set(ws: Workspace, actor: User, bundle_id: str, state: str, sent: int, receipt: Any, reason: Text | None,
         audit_receipt: bool = False) -> None:
    with ws.sync_write(tr("记录上传状态", "recording an upload's state"), actor, service.EXCHANGE) as (c, audit, st):
        tables.set_relay_state(c, bundle_id, state, sent, receipt, None if reason is None else reason.as_dict(), st.now)
        if audit_receipt:
            audit.add("sync.relay_receipt", "bundle", bundle_id, None, None,
                      {"state": receipt["state"], "sha256": receipt["sha256"], "received_at": receipt["received_at"],
                       "relay": receipt["relay"]})


def upload(ws: Workspace, actor: User, *, export: bool = True, client: rc.RelayClient | None = None,
           progress: Callable[[str, int, int], None] | None = None) -> UploadReport:
    """Queue what is new (unless `export` is False), then upload every bundle not yet at the relay,
    oldest first; held ones are asked about again. A relay that cannot be reached stops the round
    (UploadReport.error) and leaves the rest queued."""
    service.require_role(actor, service.EXCHANGE)
    _need_link(ws)
    if export:
        queue_new(ws, actor)
    report = UploadReport()
    own = client is None
    cl = client or client_for(ws)
    try:
        for item in outbox_items(ws):
            if item.state in ("received", "at_relay"):
                continue
            path = Path(item.file)
            try:
                if item.stored_state == "held":
                    st = cl.status(item.bundle_id)
                    receipt = st.get("receipt")
                    if st.get("state") in ("received", "delivered") and isinstance(receipt, dict) \
                            and sig.receipt_ok(cl.relay_public, receipt) and receipt.get("bundle_id") == item.bundle_id:
                        _set(ws, actor, item.bundle_id, "at_relay", item.size, receipt, None, audit_receipt=True)
                    continue
                if not path.is_file():
                    _set(ws, actor, item.bundle_id, "refused", 0, None,
                         tr("同步包文件不见了：{f}", "the bundle file is missing: {f}", f=str(path)))
                    report.refused += 1
                    continue

                def step(done: int, total: int, bid: str = item.bundle_id) -> None:
                    if done < total:  # what the relay has committed, for `relay status` and the sync centre
                        _set(ws, actor, bid, "uploading", done, None, None)
                    if progress:
                        progress(bid, done, total)

                up = cl.upload(path, item.bundle_id, progress=step)
            except rc.RelayUnreachable as exc:
                if item.stored_state != "held":  # the parts the relay committed stay there, to resume from
                    _set(ws, actor, item.bundle_id, "queued", 0, None, None)
                report.error = exc.text
                break
            except rc.RelayRefused as exc:
                _set(ws, actor, item.bundle_id, "refused", 0, None, exc.text)
                report.refused += 1
                continue
            state = "held" if up.state == "held" else "at_relay"
            _set(ws, actor, item.bundle_id, state, item.size, up.receipt, None, audit_receipt=True)
            report.uploaded += 1
    finally:
        if own:
            cl.close()
    report.items = outbox_items(ws)
    return report


@dataclass(frozen=True)
class Pruned:
    outbox_files: int
    inbox_files: int
    bytes: int


def prune(ws: Workspace) -> Pruned:
    """Remove the files nothing needs any more: outbox bundles the other side has acknowledged (their
    rows stay, as the record of what went), and fetched bundles this workspace has imported."""
    removed = [0, 0, 0]

    def drop(path: Path, which: int) -> None:
        try:
            size = path.stat().st_size
            path.unlink()
        except OSError:
            return
        removed[which] += 1
        removed[2] += size

    for item in outbox_items(ws):
        if item.state == "received" and Path(item.file).is_file():
            drop(Path(item.file), 0)
    inbox = relay_dir(ws) / "inbox"
    if inbox.is_dir():
        with ws.sync_read() as c:
            done = [p for p in inbox.glob("*.pvb") if tables.bundle_seen(c, p.stem)]
        for path in done:
            drop(path, 1)
    return Pruned(*removed)


# ---------------------------------------------------------------------------------------------
# Fetch and import


@dataclass
class FetchReport:
    fetched: list[Path] = field(default_factory=list)
    reports: list[service.BundleReport] = field(default_factory=list)
    refused: list[tuple[Path, Text]] = field(default_factory=list)  # kept in the inbox folder
    held: int = 0  # bundles for this device the relay holds behind a gap
    pruned: Pruned | None = None  # files removed afterwards (imported, or acknowledged by the other side)


def fetch(ws: Workspace, actor: User, *, client: rc.RelayClient | None = None, executor: Executor | None = None,
          cancelled: Callable[[], bool] | None = None, prune_files: bool = True) -> FetchReport:
    """Fetch what the relay holds for this device (after the last cursor), then import it all in
    one transaction; if that refuses, bundle by bundle, keeping a refused one in the inbox folder
    with its reason. The cursor moves past what was handled either way. Then (unless `prune_files`
    is False) the files nothing needs any more are removed (see prune)."""
    service.require_role(actor, service.EXCHANGE)
    ln = _need_link(ws)
    folder = relay_dir(ws) / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    own = client is None
    cl = client or client_for(ws)
    report = FetchReport()
    cursor = ln.fetched_after
    try:
        listed: list[dict[str, Any]] = []
        while True:
            page = cl.inbox(cursor)
            report.held = int(page.get("held", 0))
            items = page.get("bundles") or []
            if not items:
                break
            listed.extend(items)
            cursor = int(page["next"])
        with ws.sync_read() as c:
            fresh = [i for i in listed if not tables.bundle_seen(c, str(i["bundle_id"]))]
        for item in fresh:
            dest = folder / f"{item['bundle_id']}.pvb"
            if not (dest.is_file() and rc.file_digest(dest)[0] == item["sha256"]):
                cl.download(str(item["bundle_id"]), dest, str(item["sha256"]))
            report.fetched.append(dest)
        if report.fetched:
            try:
                report.reports = service.import_bundles(ws, actor, report.fetched, executor=executor,
                                                        cancelled=cancelled)
            except fmt.BundleRefused:
                for path in report.fetched:
                    try:
                        report.reports += service.import_bundles(ws, actor, [path], executor=executor,
                                                                 cancelled=cancelled)
                    except fmt.BundleRefused as exc:
                        report.refused.append((path, exc.text))
        if listed:
            with ws.sync_write(tr("记录已取回的同步包", "recording the fetched bundles"), actor, service.EXCHANGE) as \
                    (c, _audit, _st):
                tables.set_fetched_after(c, cursor)
            for item in listed:
                cl.fetched(str(item["bundle_id"]))
    finally:
        if own:
            cl.close()
    if prune_files:
        report.pruned = prune(ws)
    return report


# ---------------------------------------------------------------------------------------------
# The county's device list


def device_list(ws: Workspace, actor: User, revoke: list[str] | None = None) -> str:
    """The county's signed list of the devices the relay may serve for it: every enrolled device,
    an inactive one (or one named in `revoke`) marked revoked, with how far each has been received
    and sent (where the relay starts counting gaps)."""
    service.require_role(actor, service.KEYS)
    if ws.level != "county":
        raise BadInput(tr("只有县级工作区能给出设备名单", "only a county workspace makes the device list"))
    revoke_keys = [r.strip().upper() for r in (revoke or []) if r.strip()]
    listed: list[sig.ListedDevice] = []
    with ws.sync_read() as c:
        for p in ws.sync_peers("device"):
            revoked = not p.active or any(p.device_id.upper().startswith(k) or p.fingerprint.startswith(k)
                                          for k in revoke_keys)
            listed.append(sig.ListedDevice(p.device_id, p.sign_public, p.fingerprint, p.region_code, p.level, p.name,
                                           revoked, tables.received_high(c, p.device_id),
                                           tables.sent_high(c, p.device_id)))
    keys = ws.device_keys()
    now = ws.clock.now()
    return sig.make_device_list(ws.device_id, keys["sign"][0], device_fingerprint(keys["sign"][1], keys["box"][1]),
                                ws.region_code, int(now.timestamp() * 1000), ws.clock.now_iso(), listed)
