"""The relay's HTTP service (Starlette, ASGI): signed requests in, bundles stored once, signed receipts out.

    GET  /v1/relay                     the relay's public key and fingerprint (no signature needed)
    PUT  /v1/bundles/{id}              a bundle, whole or a part of it (Content-Range: bytes a-b/total)
    GET  /v1/bundles/{id}/status       an upload's offset, or the stored bundle's state and a receipt
    GET  /v1/bundles/{id}              the bytes, to the device the bundle is addressed to only
    POST /v1/bundles/{id}/fetched      the recipient says it has it (shown to the sender)
    GET  /v1/inbox?after=N&limit=M     bundles addressed to this device, with no gap before them
    PUT  /v1/devices                   a county's newer signed device list

Every request but the first is signed with an enrolled device's Ed25519 key (povdesk.relay.signing);
stale times, replayed nonces, unknown and revoked devices are refused. Database work runs in a
thread (SQLAlchemy Core is synchronous); a reply of success is sent only after the commit.

A body streams into a temporary file in the relay's folder (`Store`), its digest taken as it comes;
the file is synced and renamed to its part's name in a thread, and only then is the part's row
committed (the whole bundle checked first, outside the write transaction, when it is the last part):
a row never names a file that is not whole, and the database's write lock is held for a few small
rows, not for the bytes. A file no row names (a relay killed between the rename and the commit) is
removed when the relay starts.
Errors are JSON: {"error": code, "message": {"zh": …, "en": …}, …}.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import struct
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.errors import BadInput
from povdesk.i18n import Text, tr
from povdesk.relay import db
from povdesk.relay import signing as sig
from povdesk.sync import bundle as fmt
from povdesk.sync.keys import b64

log = logging.getLogger(__name__)

MiB = 1 << 20
H_BUNDLE_SHA = "x-povdesk-bundle-sha256"
H_BUNDLE_SIZE = "x-povdesk-bundle-size"
_BUNDLE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


@dataclass(frozen=True)
class Limits:
    """What one request may cost the relay."""

    max_request: int = 16 * MiB  # one PUT's body; larger bundles come in parts
    max_bundle: int = (2 << 30) + 2 * MiB  # a whole bundle (the bundle format's own payload limit, and its framing)
    clock_skew: int = 300  # seconds a request's time may differ from the relay's
    rate_per_minute: int = 600  # requests per device (a burst of as many, refilled over a minute)
    idle_timeout: float = 60.0  # seconds a client may stall while sending a body
    keep_partial_days: float = 7.0  # an upload that never completed is dropped after this
    keep_delivered_days: float = 30.0  # a fetched and acknowledged bundle's bytes are dropped after this


class Refusal(Exception):
    """A request the relay will not serve: the HTTP status, a code and a bilingual message."""

    def __init__(self, status: int, code: str, text: Text, **extra: Any) -> None:
        super().__init__(text.en)
        self.status, self.code, self.text, self.extra = status, code, text, extra

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(self.extra["retry_after"])} if "retry_after" in self.extra else None
        return JSONResponse({"error": self.code, "message": self.text.as_dict(), **self.extra},
                            status_code=self.status, headers=headers)


def _refuse(status: int, code: str, zh: str, en: str, **values: Any) -> Refusal:
    extra = {k: v for k, v in values.items() if not k.startswith("_")}
    fmt_values = {k.lstrip("_"): v for k, v in values.items()}
    return Refusal(status, code, tr(zh, en, **fmt_values), **extra)


class Store:
    """The folder of bundle bytes: `parts/` (one file per part a row names) and `tmp/` (bodies arriving)."""

    STALE = 3600.0  # seconds after which a file no row names is taken for the remains of a crash

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.parts = folder / "parts"
        self.tmp = folder / "tmp"
        for d in (self.parts, self.tmp):
            d.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.parts / name

    def new_temp(self) -> tuple[Path, int]:
        path = self.tmp / f"{secrets.token_hex(12)}.part"
        return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def keep(self, fd: int, temp: Path, bundle_id: str, start: int) -> str:
        """Sync the arrived body and give it its part's name (unique to this request); returns the name."""
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        name = f"{bundle_id}.{start}.{secrets.token_hex(8)}"
        os.replace(temp, self.parts / name)
        _fsync_dir(self.parts)
        return name

    def remove(self, names: Sequence[str]) -> None:
        for name in names:
            (self.parts / name).unlink(missing_ok=True)

    def sweep(self, referenced: set[str], *, stale: float = STALE) -> int:
        """Remove temporary files and part files no row names, older than `stale` seconds."""
        now, removed = time.time(), 0
        for d, keep in ((self.tmp, set()), (self.parts, referenced)):
            for entry in os.scandir(d):
                if entry.name in keep:
                    continue
                try:
                    if now - entry.stat().st_mtime >= stale:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def default_store_folder(database_url: str, key_path: Path) -> Path:
    """Beside an SQLite file (`relay.db` → `relay.db-bundles`), else beside the relay's key."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        db_path = Path(url.database)
        return db_path.with_name(db_path.name + "-bundles").resolve()
    return (key_path.parent / "relay-bundles").resolve()


def open_store(engine: Engine, default: Path | None) -> Store | None:
    """The folder this relay's database was set up with (the first one to run chooses it)."""
    with db.transaction(engine) as c:
        chosen = db.setting(c, "store") if default is None else db.put_setting_once(c, "store", str(default))
    return Store(Path(chosen)) if chosen else None


def move_blob_parts(engine: Engine, store: Store) -> int:
    """Parts a relay from before bundle files held as BLOBs, each written to a file of `store`
    (synced and renamed, as an upload's body is) and named by its row in the transaction that
    deletes the BLOB, one part at a time: a crash leaves at most one file no row names (swept
    later) and never a part in neither place. Then the old table goes. Returns the parts moved."""
    with db.reading(engine) as c:
        if not db.has_blob_parts(c):
            return 0
    moved = 0
    while True:
        with db.transaction(engine) as c:
            part = db.next_blob_part(c)
            if part is None:
                orphans = db.drop_blob_parts(c)
                break
            upload_id, start, data, bundle_id = part
            temp, fd = store.new_temp()
            _write_all(fd, data)
            name = store.keep(fd, temp, bundle_id, start)
            if not db.blob_part_moved(c, upload_id, start, len(data), name):
                store.remove([name])
                continue
        moved += 1
    log.info("moved %s bundle parts from the database into files (%s of no upload dropped)", moved, orphans)
    return moved


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class Relay:
    """The service's state: its database, its key, its limits and clock, the rate buckets."""

    engine: Engine
    key: Ed25519PrivateKey
    limits: Limits
    clock: Clock
    store: Store
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    requests: int = 0

    @property
    def public(self) -> bytes:
        return sig.raw_public(self.key)

    def now_iso(self) -> str:
        return self.clock.now_iso()

    # ----------------------------------------------------------------------------- requests

    async def authenticate(self, request: Request, body_sha256: str, *, record_nonce: bool = True) -> db.Device:
        """The signing device. With `record_nonce` False the nonce is only looked up here (a replay
        seen before is refused now) and left in `request.state.nonce` for the caller to record in its
        own write transaction, whose unique constraint then decides (one commit less per upload)."""
        h = request.headers
        device_id, ts, nonce, signature = (h.get(sig.H_DEVICE), h.get(sig.H_TIME), h.get(sig.H_NONCE),
                                           h.get(sig.H_SIGNATURE))
        if not (device_id and ts and nonce and signature) or h.get(sig.H_BODY) != body_sha256:
            raise _refuse(401, "unsigned", "请求没有设备签名", "the request is not signed by a device")
        if not ts.isdigit() or len(nonce) > 64:
            raise _refuse(401, "bad_signature", "请求签名格式不对", "the request signature is malformed")
        now = int(self.clock.now().timestamp())
        if abs(now - int(ts)) > self.limits.clock_skew:
            raise _refuse(401, "stale", "请求时间与中转服务器相差太多（{d} 秒）：请校准电脑时钟",
                          "the request's time is {d} s away from the relay's: set the computer's clock",
                          d=now - int(ts))
        dev = await run_in_threadpool(self._device, device_id)
        if dev is None:
            raise _refuse(401, "unknown_device", "中转服务器不认识设备 {d}：请县里重新上传设备名单",
                          "the relay does not know device {d}: the county must load its device list again",
                          _d=device_id)
        if dev.revoked:
            raise _refuse(403, "revoked", "设备 {d} 已被县里停用", "device {d} was revoked by its county",
                          _d=device_id)
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        if not sig.request_signature_ok(dev.sign_public, signature, request.method, target, body_sha256, ts, nonce,
                                        device_id):
            raise _refuse(401, "bad_signature", "请求签名无效", "the request signature is invalid")
        self._rate(device_id)
        if record_nonce:
            fresh = await run_in_threadpool(self._nonce, device_id, nonce, int(ts), now)
        else:
            fresh = not await run_in_threadpool(self._nonce_seen, device_id, nonce)
            request.state.nonce = (device_id, nonce, int(ts), now)
        if not fresh:
            raise _replayed()
        return dev

    def _nonce_seen(self, device_id: str, nonce: str) -> bool:
        with db.reading(self.engine) as c:
            return db.nonce_seen(c, device_id, nonce)

    def _use_nonce(self, c: Connection, used: tuple[str, str, int, int]) -> None:
        """In the caller's write transaction: a nonce used meanwhile is a replay (the constraint decides)."""
        device_id, nonce, ts, now = used
        self.requests += 1
        if self.requests % 200 == 0:
            db.forget_nonces(c, now - 2 * self.limits.clock_skew - 60)
        if not db.use_nonce(c, device_id, nonce, ts):
            raise _replayed()

    def _device(self, device_id: str) -> db.Device | None:
        with db.reading(self.engine) as c:
            return db.device(c, device_id)

    def _nonce(self, device_id: str, nonce: str, ts: int, now: int) -> bool:
        self.requests += 1
        with db.transaction(self.engine) as c:
            if self.requests % 200 == 0:
                db.forget_nonces(c, now - 2 * self.limits.clock_skew - 60)
            fresh = db.use_nonce(c, device_id, nonce, ts)
        if self.requests % 1000 == 0:
            self.prune()
        return fresh

    def prune(self) -> tuple[db.Pruned, db.Pruned]:
        """Abandoned uploads and delivered bundles past their keeping time (see db.prune)."""
        return prune(self.engine, self.clock, self.limits.keep_partial_days, self.limits.keep_delivered_days,
                     store=self.store)

    def _rate(self, device_id: str) -> None:
        cap = float(self.limits.rate_per_minute)
        now = time.monotonic()
        b = self.buckets.get(device_id) or _Bucket(cap, now)
        b.tokens = min(cap, b.tokens + (now - b.at) * cap / 60.0)
        b.at = now
        self.buckets[device_id] = b
        if b.tokens < 1.0:
            wait = max(1, int((1.0 - b.tokens) * 60.0 / cap) + 1)
            raise _refuse(429, "rate_limited", "请求太频繁，请 {s} 秒后再试", "too many requests; try again in {s} s",
                          _s=wait, retry_after=wait)
        b.tokens -= 1.0

    async def read_body(self, request: Request, length: int) -> bytes:
        """The body, counted as it streams: more than Content-Length, or a stall, ends the request."""
        pieces: list[bytes] = []
        got = 0
        stream = request.stream().__aiter__()
        while True:
            try:
                piece = await asyncio.wait_for(stream.__anext__(), self.limits.idle_timeout)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise _refuse(408, "timeout", "发送太慢，连接已断开", "the body came too slowly; the request was dropped") \
                    from None
            got += len(piece)
            if got > length:
                raise _refuse(413, "too_large", "请求内容超过它声明的长度", "the body is longer than its Content-Length")
            pieces.append(piece)
        if got != length:
            raise _refuse(400, "incomplete", "请求内容不完整（收到 {got}/{n} 字节）",
                          "the body is incomplete ({got} of {n} bytes)", got=got, n=length)
        return b"".join(pieces)

    async def receive_file(self, request: Request, length: int, body_sha256: str,
                           framing: _Framing | None = None) -> tuple[Path, int]:
        """The body streamed into a temporary file (counted and digested as it comes; never whole in
        memory, and fed to `framing` when it is a whole bundle); returns the file and its open
        descriptor, not yet synced. One timer per request, moved on at each piece (not a task per piece)."""
        temp, fd = self.store.new_temp()
        loop = asyncio.get_running_loop()
        idle = self.limits.idle_timeout
        try:
            digest = hashlib.sha256()
            got = 0
            try:
                async with asyncio.timeout(loop.time() + idle) as timer:
                    async for piece in request.stream():
                        timer.reschedule(loop.time() + idle)
                        if not piece:
                            continue
                        got += len(piece)
                        if got > length:
                            raise _refuse(413, "too_large", "请求内容超过它声明的长度",
                                          "the body is longer than its Content-Length")
                        digest.update(piece)
                        if framing is not None:
                            framing.feed(piece)
                        _write_all(fd, piece)
            except TimeoutError:
                raise _refuse(408, "timeout", "发送太慢，连接已断开",
                              "the body came too slowly; the request was dropped") from None
            if got != length:
                raise _refuse(400, "incomplete", "请求内容不完整（收到 {got}/{n} 字节）",
                              "the body is incomplete ({got} of {n} bytes)", got=got, n=length)
            if digest.hexdigest() != body_sha256:
                raise _refuse(400, "body_digest", "请求内容与签名的摘要不符", "the body does not match its signed digest")
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        return temp, fd

    def put_part(self, dev: db.Device, bundle_id: str, sha: str, total: int, start: int, length: int,
                 temp: Path, fd: int, nonce: tuple[str, str, int, int],
                 seen: tuple[_Framing, str] | None = None) -> tuple[int, dict[str, Any]]:
        """In a thread: the arrived body synced and named, then stored (`store_part`); its file is
        removed again unless a committed row names it."""
        try:
            name = self.store.keep(fd, temp, bundle_id, start)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        kept = False
        try:
            status, body = self.store_part(dev, bundle_id, sha, total, start, length, name, nonce, seen)
            kept = status in (201, 202)
            return status, body
        finally:
            if not kept:
                self.store.remove([name])
            if self.requests % 1000 == 0:
                self.prune()

    # ----------------------------------------------------------------------------- uploads

    def store_part(self, dev: db.Device, bundle_id: str, sha: str, total: int, start: int, length: int,
                   name: str, nonce: tuple[str, str, int, int],
                   seen: tuple[_Framing, str] | None = None) -> tuple[int, dict[str, Any]]:
        """One part of an upload (its bytes whole in the file `name`), committed with the offset it
        moves to. The last part completes the bundle: the whole file is checked first, reading only,
        and the bundle's row is stored in the same transaction as the part's."""
        at = self.now_iso()
        with db.reading(self.engine) as c:
            existing = db.bundle(c, bundle_id)
        if existing is not None:
            with db.transaction(self.engine) as c:
                self._use_nonce(c, nonce)
            return self._again(existing, sha)
        checked: tuple[int | None, dict[str, Any]] | None = None
        if start + length == total:
            try:
                checked = self._check_whole(dev, bundle_id, sha, total, start, name, seen)
            except _BadBundle as bad:
                self._drop(bundle_id, dev.device_id, sha, nonce)
                raise bad.refusal from None
        with db.transaction(self.engine) as c:
            self._use_nonce(c, nonce)
            existing = db.bundle(c, bundle_id)
            if existing is not None:
                return self._again(existing, sha)
            up = db.start_upload(c, bundle_id, dev.device_id, sha, total, at)
            if up.size != total:
                raise _refuse(400, "bad_range", "同一个上传的总大小前后不一致", "the upload's total size changed")
            stale = checked is not None and checked[0] is not None and checked[0] != up.id
            if stale or start != up.received or (start + length == total and checked is None) \
                    or not db.add_part(c, up, start, length, name):
                # Another request got there first. On PostgreSQL (read committed) this statement
                # sees what it committed meanwhile, the bundle itself included.
                twin = db.bundle(c, bundle_id)
                if twin is not None:
                    return self._again(twin, sha)
                current = db.upload(c, bundle_id, dev.device_id, sha)
                offset = current.received if current else 0
                raise _refuse(409, "offset", "应从第 {offset} 字节继续上传", "resume the upload at byte {offset}",
                              offset=offset)
            if start + length < total:
                return 202, {"state": "uploading", "offset": start + length, "size": total}
            assert checked is not None
            return self._complete(c, dev, up, checked[1], at)

    def _check_whole(self, dev: db.Device, bundle_id: str, sha: str, total: int, start: int,
                     name: str, seen: tuple[_Framing, str] | None = None) -> tuple[int | None, dict[str, Any]] | None:
        """The parts before this one (as committed) and this one's file checked as one bundle, reading
        only: (the upload it continues, or None for a bundle in one part; its manifest), or None when
        the parts before it are not (or no longer) all there. A bundle in one part was taken apart as
        it arrived (`seen`: its framing and the body's digest), so its file is not read again."""
        with db.reading(self.engine) as c:
            upload_id: int | None = None
            files: list[Path] = []
            if start > 0:
                up = db.upload(c, bundle_id, dev.device_id, sha)
                if up is None or up.received != start or up.size != total:
                    return None
                upload_id = up.id
                prior = db.part_files(c, up.id)
                if sum(n for _s, n, _f in prior) != start:
                    return None
                files = [self.store.path(f) for _s, _n, f in prior]
            if start == 0 and seen is not None:
                return None, _check_stored(c, dev, bundle_id, sha, total, seen[0], seen[1])
            files.append(self.store.path(name))
            framing = _Framing()
            try:
                _feed_files(framing, files)
            except FileNotFoundError:
                return None  # pruned meanwhile: the sender starts again
            m = _check_stored(c, dev, bundle_id, sha, total, framing)
        return upload_id, m

    def _drop(self, bundle_id: str, sender: str, sha: str, nonce: tuple[str, str, int, int]) -> None:
        """The bytes are wrong: the sender starts again."""
        files: list[str] = []
        with db.transaction(self.engine) as c:
            self._use_nonce(c, nonce)
            found = db.upload(c, bundle_id, sender, sha)
            if found is not None and db.bundle(c, bundle_id) is None:
                files = db.drop_upload(c, found.id)
        self.store.remove(files)

    def _again(self, existing: dict[str, Any], sha: str) -> tuple[int, dict[str, Any]]:
        if existing["sha256"] != sha:
            raise _refuse(409, "different_bytes", "同步包 {b} 已经以另一份内容存过（已存 {stored}，本次 {sent}）",
                          "bundle {b} is already stored with other bytes (stored {stored}, sent {sent})",
                          _b=existing["bundle_id"], stored=existing["sha256"], sent=sha)
        return 200, {"state": existing["state"], "receipt": json.loads(existing["receipt"])}

    def _complete(self, c: Connection, dev: db.Device, up: db.Upload, m: dict[str, Any],
                  at: str) -> tuple[int, dict[str, Any]]:
        first, last, full = int(m["seq"]["first"]), int(m["seq"]["last"]), bool(m["full"])
        sender, recipient = dev.device_id, str(m["recipient"]["device_id"])
        expected = _settle(c, sender, recipient)
        state = "received" if first <= expected else "held"
        values = {"bundle_id": up.bundle_id, "upload_id": up.id, "sender": sender, "recipient": recipient,
                  "kind": m["kind"], "full": full, "seq_first": first, "seq_last": last, "ack": int(m["ack"]),
                  "sha256": up.sha256, "size": up.size, "state": state, "received_at": at, "receipt": "{}"}
        if not db.insert_bundle(c, values):
            twin = db.bundle(c, up.bundle_id)
            if twin is not None:
                return self._again(twin, up.sha256)
            other = db.bundle_by_range(c, sender, recipient, first, last)
            raise _refuse(409, "range_taken", "序号 {first}–{last} 已由另一个同步包 {other} 存过",
                          "sequences {first}–{last} are already stored as another bundle {other}",
                          first=first, last=last, other=other["bundle_id"] if other else "")
        # The acknowledgement it carries says how far the sender holds the recipient's outbox.
        db.raise_mark(c, recipient, sender, int(m["ack"]))
        _settle(c, recipient, sender)
        expected = _settle(c, sender, recipient)
        row = db.bundle(c, up.bundle_id)
        assert row is not None
        receipt = self.receipt(row, expected)
        db.set_receipt(c, up.bundle_id, json.dumps(receipt, ensure_ascii=False))
        log.info("stored bundle %s from %s to %s seq %s-%s (%s)", up.bundle_id, sender, recipient, first, last,
                 row["state"])
        return 201, {"state": row["state"], "receipt": receipt}

    def receipt(self, row: dict[str, Any], expected: int) -> dict[str, Any]:
        return sig.sign_receipt(self.key, {
            "bundle_id": row["bundle_id"], "sha256": row["sha256"], "size": int(row["size"]),
            "sender": row["sender"], "recipient": row["recipient"],
            "seq": {"first": int(row["seq_first"]), "last": int(row["seq_last"])},
            "received_at": row["received_at"], "state": row["state"], "expected_next_seq": expected,
            "signed_at": self.now_iso()})

    def status(self, dev: db.Device, bundle_id: str, sha: str | None) -> dict[str, Any]:
        with db.transaction(self.engine) as c:
            row = db.bundle(c, bundle_id)
            if row is not None and dev.device_id in (row["sender"], row["recipient"]):
                expected = _settle(c, row["sender"], row["recipient"])
                row = db.bundle(c, bundle_id)
                assert row is not None
                return {"state": row["state"], "fetched": row["fetched_at"] is not None,
                        "receipt": self.receipt(row, expected)}
            up = db.upload(c, bundle_id, dev.device_id, sha) if sha else None
            if up is not None:
                return {"state": "uploading", "offset": up.received, "size": up.size}
            return {"state": "absent", "offset": 0}

    # ----------------------------------------------------------------------------- downloads

    def addressed(self, dev: db.Device, bundle_id: str) -> tuple[dict[str, Any], list[Path]]:
        with db.reading(self.engine) as c:
            row = db.bundle(c, bundle_id)
            if row is None or row["recipient"] != dev.device_id or row["state"] != "received":
                raise _refuse(404, "not_found", "没有发给本设备的同步包 {b}", "no bundle {b} addressed to this device",
                              _b=bundle_id)
            return row, [self.store.path(f) for _s, _n, f in db.part_files(c, int(row["upload_id"]))]

    def inbox(self, dev: db.Device, after: int, limit: int) -> dict[str, Any]:
        with db.reading(self.engine) as c:
            rows = db.inbox(c, dev.device_id, after, limit)
            held = db.held_count(c, dev.device_id)
        items = [{"cursor": r["id"], "bundle_id": r["bundle_id"], "sender": r["sender"], "kind": r["kind"],
                  "full": bool(r["full"]), "seq": {"first": r["seq_first"], "last": r["seq_last"]},
                  "sha256": r["sha256"], "size": r["size"], "received_at": r["received_at"]} for r in rows]
        return {"bundles": items, "next": items[-1]["cursor"] if items else after, "held": held}

    def fetched(self, dev: db.Device, bundle_id: str) -> None:
        with db.transaction(self.engine) as c:
            row = db.bundle(c, bundle_id)
            if row is None or row["recipient"] != dev.device_id:
                raise _refuse(404, "not_found", "没有发给本设备的同步包 {b}", "no bundle {b} addressed to this device",
                              _b=bundle_id)
            db.mark_fetched(c, bundle_id, self.now_iso())


def _replayed() -> Refusal:
    return _refuse(401, "replayed", "这个请求已经收到过（重放），已拒绝", "this request was seen before (a replay)")


class _BadBundle(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.text.en)
        self.refusal = refusal


def _bad(zh: str, en: str, **values: Any) -> _BadBundle:
    return _BadBundle(_refuse(422, "bad_bundle", zh, en, **values))


class _Framing:
    """A bundle's container taken apart as its bytes go by (fed from the arriving body, or from the
    files of an upload's parts): the manifest kept, the ciphertext digested, the signature tail kept,
    the whole digested unless the caller digests it already. Nothing is read twice."""

    def __init__(self, *, digest_whole: bool = True) -> None:
        self.whole = hashlib.sha256() if digest_whole else None
        self.csha = hashlib.sha256()
        self._buf = bytearray()  # the head and manifest while they come, then the tail
        self._stage = 0  # 0 head and manifest, 1 ciphertext, 2 tail
        self.bad: _BadBundle | None = None
        self.mbytes = b""
        self.clen = 0
        self._cleft = 0
        self.fed = 0

    def feed(self, piece: bytes | memoryview) -> None:
        if self.whole is not None:
            self.whole.update(piece)
        self.fed += len(piece)
        if self.bad is not None:
            return
        view = memoryview(piece)
        while view:
            if self._stage == 0:
                self._buf += view
                view = memoryview(b"")
                if len(self._buf) < fmt.HEAD:
                    return
                if bytes(self._buf[:len(fmt.MAGIC)]) != fmt.MAGIC:
                    self.bad = _bad("这不是 povdesk 同步包", "this is not a povdesk bundle")
                    return
                version, mlen = struct.unpack(">BI", self._buf[len(fmt.MAGIC):fmt.HEAD])
                if version != fmt.CONTAINER_VERSION or mlen > fmt.MAX_MANIFEST:
                    self.bad = _bad("同步包容器版本不受支持或已损坏", "the bundle container is unsupported or damaged")
                    return
                need = fmt.HEAD + mlen + 8
                if len(self._buf) < need:
                    return
                self.mbytes = bytes(self._buf[fmt.HEAD:fmt.HEAD + mlen])
                (self.clen,) = struct.unpack(">Q", self._buf[fmt.HEAD + mlen:need])
                self._cleft = self.clen
                view = memoryview(bytes(self._buf[need:]))
                self._buf = bytearray()
                self._stage = 1
            elif self._stage == 1:
                take = view[:self._cleft]
                self.csha.update(take)
                self._cleft -= len(take)
                view = view[len(take):]
                if self._cleft == 0:
                    self._stage = 2
            else:
                if len(self._buf) + len(view) > fmt.TAIL:
                    self.bad = _bad("同步包的长度与其内容不符", "the bundle's length does not match its framing")
                    return
                self._buf += view
                view = memoryview(b"")

    def checked(self, size: int, sha256: str, whole_hex: str | None = None) -> tuple[bytes, Any, bytes]:
        """(manifest bytes, ciphertext digest, signature tail) once every byte was fed, in the order the
        relay has always judged a bundle: the container, its length, then the declared digest."""
        if self.bad is not None:
            raise self.bad
        if self._stage == 0:
            if len(self._buf) < fmt.HEAD:
                raise _bad("这不是 povdesk 同步包", "this is not a povdesk bundle")
            raise _bad("同步包不完整", "the bundle is incomplete")
        if fmt.HEAD + len(self.mbytes) + 8 + self.clen + fmt.TAIL != size or self.fed != size:
            raise _bad("同步包的长度与其内容不符", "the bundle's length does not match its framing")
        if self._stage != 2 or len(self._buf) != fmt.TAIL:
            raise _bad("同步包的长度与其内容不符", "the bundle's length does not match its framing")
        got = whole_hex if whole_hex is not None else self.whole.hexdigest() if self.whole else ""
        if got != sha256:
            raise _bad("收到的内容与声明的摘要不符（{got}，声明 {sha}）：请重新上传",
                       "what arrived does not match the declared digest ({got}, declared {sha}): upload it again",
                       got=got, sha=sha256)
        return self.mbytes, self.csha, bytes(self._buf)


def _feed_files(framing: _Framing, files: Sequence[Path]) -> None:
    for f in files:
        with f.open("rb") as fh:
            while block := fh.read(MiB):
                framing.feed(block)


def _check_stored(c: Connection, dev: db.Device, bundle_id: str, sha256: str, size: int,
                  framing: _Framing, whole_hex: str | None = None) -> dict[str, Any]:
    """Every byte arrived (fed to `framing`): the whole file's digest, the container, the manifest's
    shape and routing, and the sender's signature (what the relay can check without the county's key)."""
    mbytes, csha, tail = framing.checked(size, sha256, whole_hex)
    try:
        m = json.loads(mbytes.decode("utf-8"))
        fmt.check_manifest(m, bundle_id)
    except (UnicodeDecodeError, ValueError):
        raise _bad("同步包清单已损坏", "the bundle manifest is damaged") from None
    except fmt.BundleRefused as exc:
        raise _BadBundle(Refusal(422, "bad_bundle", exc.text)) from None
    if m["bundle_id"] != bundle_id:
        raise _bad("同步包编号与地址不符", "the bundle id does not match the address it was sent to")
    if m["sender"]["device_id"] != dev.device_id or m["sender"]["fingerprint"] != dev.fingerprint:
        raise _bad("同步包不是本设备发出的", "the bundle was not made by the device sending it")
    if csha.hexdigest() != m["payload"]["ciphertext_sha256"]:
        raise _bad("同步包密文与清单中的摘要不符", "the bundle's ciphertext does not match its manifest")
    if not fmt.digests_signed(dev.sign_public, hashlib.sha256(mbytes).digest(), csha.digest(), tail[2:]):
        raise _bad("同步包签名无效", "the bundle's signature is invalid")
    recipient = db.device(c, str(m["recipient"]["device_id"]))
    if dev.is_county:
        ok = (m["kind"] == "return" and recipient is not None and recipient.county_id == dev.device_id
              and not recipient.is_county)
    else:
        ok = m["kind"] == "village" and recipient is not None and recipient.device_id == dev.county_id
    if not ok or recipient is None or m["recipient"]["fingerprint"] != recipient.fingerprint:
        raise _bad("同步包的收件方不是本县名单上的设备", "the bundle is addressed to no device of this county's list")
    return dict(m)


def _settle(c: Connection, sender: str, recipient: str) -> int:
    """The next sequence the recipient lacks from the sender, counting what the relay holds; held
    bundles that no longer follow a gap become received."""
    n = db.mark(c, sender, recipient)
    promote: list[str] = []
    for first, last, bundle_id, state in db.ranges(c, sender, recipient):
        if first > n + 1:
            break
        n = max(n, last)
        if state == "held":
            promote.append(bundle_id)
    db.set_states(c, promote, "received")
    return n + 1


# ---------------------------------------------------------------------------------------------
# Pruning


def prune(engine: Engine, clock: Clock, partial_days: float, delivered_days: float, *,
          store: Store | None = None) -> tuple[db.Pruned, db.Pruned]:
    """Drop abandoned uploads older than `partial_days` and the bytes of bundles fetched and
    acknowledged more than `delivered_days` ago; returns what each pass removed. The files go after
    the commit (`store`: the relay's folder, else the one its database names)."""
    def before(days: float) -> str:
        return (clock.now() - dt.timedelta(days=days)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    with db.transaction(engine) as c:
        partial = db.prune(c, before(partial_days), delivered=False)
        delivered = db.prune(c, before(delivered_days), abandoned=False)
    if store is None and (partial.files or delivered.files):
        store = open_store(engine, None)
    if store is not None:
        store.remove([*partial.files, *delivered.files])
    if partial.abandoned_uploads or delivered.delivered_bundles:
        log.info("pruned %s abandoned uploads, %s delivered bundles (%s bytes)", partial.abandoned_uploads,
                 delivered.delivered_bundles, partial.bytes + delivered.bytes)
    return partial, delivered


# ---------------------------------------------------------------------------------------------
# Device lists


@dataclass(frozen=True)
class Loaded:
    county_id: str
    county_fingerprint: str
    serial: int
    devices: int
    revoked: int
    new_county: bool


def load_device_list(engine: Engine, dl: sig.DeviceList, at: str, *, allow_new_county: bool) -> Loaded:
    """A county's list replaces its previous one: only the county's own key may sign it, and only a
    later serial counts. A county the relay has never seen is added only by the operator."""
    with db.transaction(engine) as c:
        known = db.county(c, dl.county_id)
        if known is None and not allow_new_county:
            raise _refuse(403, "unknown_county", "中转服务器还没有这个县：第一次的设备名单须在服务器上用 povdesk relay "
                          "devices load 载入", "the relay does not know this county: its first device list must be "
                          "loaded on the relay machine with povdesk relay devices load")
        if known is not None and bytes(known["sign_public"]) != dl.county_sign_public:
            raise _refuse(403, "other_key", "设备名单由另一把密钥签名（不是以前载入的县级密钥）",
                          "the device list is signed by another key than the county's loaded before")
        if known is not None and dl.serial <= int(known["serial"]):
            raise _refuse(409, "old_list", "设备名单比已载入的旧（编号 {serial}，已有 {have}）",
                          "the device list is not newer than the one loaded (serial {serial}, have {have})",
                          serial=dl.serial, have=int(known["serial"]))
        db.put_county(c, dl.county_id, dl.county_sign_public, dl.county_fingerprint, dl.county_region, dl.serial, at)
        db.put_device(c, db.Device(dl.county_id, dl.county_id, dl.county_sign_public, dl.county_fingerprint,
                                   dl.county_region, "county", "county", False), at)
        for d in dl.devices:
            other = db.device(c, d.device_id)
            if (other is not None and other.county_id != dl.county_id) or not d.region_code.startswith(dl.county_region):
                raise _refuse(409, "other_county", "设备 {d} 不属于这个县", "device {d} does not belong to this county",
                              _d=d.device_id)
            db.put_device(c, db.Device(d.device_id, dl.county_id, d.sign_public, d.fingerprint, d.region_code,
                                       d.level, d.name, d.revoked), at)
            db.raise_mark(c, d.device_id, dl.county_id, d.received_up_to)
            db.raise_mark(c, dl.county_id, d.device_id, d.sent_up_to)
            _settle(c, d.device_id, dl.county_id)
            _settle(c, dl.county_id, d.device_id)
        unlisted = db.revoke_unlisted(c, dl.county_id, [dl.county_id, *(d.device_id for d in dl.devices)], at)
    return Loaded(dl.county_id, dl.county_fingerprint, dl.serial, len(dl.devices),
                  sum(d.revoked for d in dl.devices) + unlisted, known is None)


# ---------------------------------------------------------------------------------------------
# The app


def create_app(database_url: str, key_path: Path, *, limits: Limits | None = None,
               clock: Clock | None = None, store_folder: Path | None = None) -> Starlette:
    """The relay as an ASGI app: its database (tables made if missing), its key (made if missing) and
    the folder of its bundle files (`store_folder` the first time; see default_store_folder)."""
    engine = db.make_engine(database_url)
    db.create_schema(engine)
    store = open_store(engine, store_folder or default_store_folder(database_url, key_path))
    assert store is not None
    move_blob_parts(engine, store)
    relay = Relay(engine, sig.load_or_create_key(key_path), limits or Limits(), clock or SYSTEM_CLOCK, store)
    relay.prune()
    with db.reading(engine) as c:
        swept = store.sweep(db.all_part_files(c))
    if swept:
        log.info("removed %s files no row names (an upload cut by a crash)", swept)

    async def guarded(request: Request, handler: Any) -> Response:
        try:
            return await handler(request)
        except Refusal as r:
            if r.status >= 500 or r.code in ("bad_signature", "replayed", "revoked", "unknown_device"):
                log.warning("refused %s %s: %s", request.method, request.url.path, r.code)
            return r.response()

    def bundle_id_of(request: Request) -> str:
        bundle_id = str(request.path_params["bundle_id"])
        if not _BUNDLE_ID.match(bundle_id):
            raise _refuse(400, "bad_id", "同步包编号不对", "malformed bundle id")
        return bundle_id

    async def about(request: Request) -> Response:
        return JSONResponse({"format": "povdesk-relay", "version": 1, "public_key": b64(relay.public),
                             "fingerprint": sig.relay_fingerprint(relay.public)})

    async def put_bundle(request: Request) -> Response:
        bundle_id = bundle_id_of(request)
        h = request.headers
        if "content-length" not in h or not h["content-length"].isdigit():
            raise _refuse(411, "length_required", "请求须带 Content-Length", "the request needs a Content-Length")
        length = int(h["content-length"])
        if length > relay.limits.max_request:
            raise _refuse(413, "too_large", "一次请求最多 {limit} 字节（本次 {n}）：大的同步包请分段上传",
                          "one request carries at most {limit} bytes (this one {n}): send large bundles in parts",
                          limit=relay.limits.max_request, n=length)
        sha, size = h.get(H_BUNDLE_SHA, ""), h.get(H_BUNDLE_SIZE, "")
        if not _HEX64.match(sha) or not size.isdigit():
            raise _refuse(400, "bad_headers", "缺少同步包的摘要或大小", "the bundle's digest or size is missing")
        total = int(size)
        if total > relay.limits.max_bundle:
            raise _refuse(413, "too_large", "同步包太大（{n} 字节，上限 {limit}）",
                          "the bundle is too large ({n} bytes; the limit is {limit})",
                          n=total, limit=relay.limits.max_bundle)
        crange = h.get("content-range")
        if crange is None:
            start, end = 0, length - 1
            if length != total:
                raise _refuse(400, "bad_range", "不分段上传时内容须是整个同步包", "without Content-Range the body must be "
                              "the whole bundle")
        else:
            mr = _RANGE.match(crange)
            if not mr or int(mr.group(3)) != total or int(mr.group(2)) - int(mr.group(1)) + 1 != length \
                    or int(mr.group(2)) >= total:
                raise _refuse(400, "bad_range", "Content-Range 不对", "malformed Content-Range")
            start, end = int(mr.group(1)), int(mr.group(2))
        del end
        if length == 0:
            raise _refuse(400, "bad_range", "请求内容为空", "the body is empty")
        body_sha = h.get(sig.H_BODY, "")
        dev = await relay.authenticate(request, body_sha, record_nonce=False)
        # A bundle in one request is taken apart as it arrives (its body digest is the bundle's).
        framing = _Framing(digest_whole=False) if start == 0 and length == total else None
        temp, fd = await relay.receive_file(request, length, body_sha, framing)
        seen = (framing, body_sha) if framing is not None else None
        status, body = await run_in_threadpool(relay.put_part, dev, bundle_id, sha, total, start, length, temp, fd,
                                               request.state.nonce, seen)
        return JSONResponse(body, status_code=status)

    async def bundle_status(request: Request) -> Response:
        bundle_id = bundle_id_of(request)
        dev = await relay.authenticate(request, sig.EMPTY_SHA256)
        sha = request.query_params.get("sha256")
        return JSONResponse(await run_in_threadpool(relay.status, dev, bundle_id, sha))

    async def get_bundle(request: Request) -> Response:
        bundle_id = bundle_id_of(request)
        dev = await relay.authenticate(request, sig.EMPTY_SHA256)
        row, files = await run_in_threadpool(relay.addressed, dev, bundle_id)
        handles = [await run_in_threadpool(f.open, "rb") for f in files]  # opened now: a prune cannot cut it

        async def body() -> AsyncIterator[bytes]:
            try:
                for fh in handles:
                    while block := await run_in_threadpool(fh.read, MiB):
                        yield block
            finally:
                for fh in handles:
                    fh.close()

        return StreamingResponse(body(), media_type="application/vnd.povdesk.bundle",
                                 headers={"Content-Length": str(row["size"]), H_BUNDLE_SHA: row["sha256"]})

    async def post_fetched(request: Request) -> Response:
        bundle_id = bundle_id_of(request)
        dev = await relay.authenticate(request, sig.EMPTY_SHA256)
        await run_in_threadpool(relay.fetched, dev, bundle_id)
        return JSONResponse({"ok": True})

    async def get_inbox(request: Request) -> Response:
        dev = await relay.authenticate(request, sig.EMPTY_SHA256)
        try:
            after = int(request.query_params.get("after", "0"))
            limit = max(1, min(500, int(request.query_params.get("limit", "100"))))
        except ValueError:
            raise _refuse(400, "bad_query", "查询参数不对", "malformed query") from None
        return JSONResponse(await run_in_threadpool(relay.inbox, dev, after, limit))

    async def put_devices(request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > sig.MAX_DEVICE_LIST:
            raise _refuse(413, "too_large", "设备名单太大或缺少长度", "the device list is too large or has no length")
        dev = await relay.authenticate(request, request.headers.get(sig.H_BODY, ""))
        data = await relay.read_body(request, int(length))
        if hashlib.sha256(data).hexdigest() != request.headers.get(sig.H_BODY):
            raise _refuse(400, "body_digest", "请求内容与签名的摘要不符", "the body does not match its signed digest")
        try:
            dl = sig.read_device_list(data)
        except BadInput as exc:
            raise Refusal(422, "bad_list", exc.text) from None
        if not dev.is_county or dl.county_id != dev.device_id:
            raise _refuse(403, "not_county", "只有县级设备能上传本县的设备名单",
                          "only the county's device may send its device list")
        loaded = await run_in_threadpool(lambda: load_device_list(relay.engine, dl, relay.now_iso(),
                                                                  allow_new_county=False))
        return JSONResponse({"serial": loaded.serial, "devices": loaded.devices, "revoked": loaded.revoked})

    def route(path: str, handler: Any, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            return await guarded(request, handler)
        return Route(path, endpoint, methods=methods)

    app = Starlette(routes=[
        route("/v1/relay", about, ["GET"]),
        route("/v1/bundles/{bundle_id}", put_bundle, ["PUT"]),
        route("/v1/bundles/{bundle_id}", get_bundle, ["GET"]),
        route("/v1/bundles/{bundle_id}/status", bundle_status, ["GET"]),
        route("/v1/bundles/{bundle_id}/fetched", post_fetched, ["POST"]),
        route("/v1/inbox", get_inbox, ["GET"]),
        route("/v1/devices", put_devices, ["PUT"]),
    ])
    app.state.relay = relay
    return app
