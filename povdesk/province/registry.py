"""The province's side: its keys, the counties it trusts, loading province bundles, the flags.

Loading a bundle checks everything that needs no write first (container, kind, addressee,
sender, signature, digest, decryption, header), then applies it in one transaction: the bundle's
row is claimed (its primary key: a bundle already applied is a no-op), the county's partitions
are made if this is its first bundle, the households, members, years and events are copied
(COPY) into temporary tables, and upserted so a newer version replaces an older one and never
the reverse (a county's first bundle, into empty partitions, is copied into them directly); the
cross-county duplicate flags of what was written are found again. A loader
killed at any point leaves the transaction uncommitted, which PostgreSQL rolls back whole.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.core.exchange import LineError, parse_line
from povdesk.core.idnumber import normalize
from povdesk.core.model import Household
from povdesk.errors import BadInput
from povdesk.i18n import Text, tr
from povdesk.province import db
from povdesk.province.export import KIND, LEVEL
from povdesk.sync import bundle as fmt
from povdesk.sync.keys import DeviceCard, read_key_file, write_key_file

BATCH = 2000


def _refuse(where: str, zh: str, en: str, **values: object) -> fmt.BundleRefused:
    return fmt.BundleRefused(tr(zh, en, **values), where=where)


def connect(url: str) -> Engine:
    """The engine, with a first connection made so a wrong URL or a server that is down is one
    line of bad input rather than a traceback later."""
    engine = db.make_engine(url)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        raise db.unreachable(exc.orig or exc, engine) from None
    return engine


def init(engine: Engine) -> None:
    db.create_schema(engine)


# ---------------------------------------------------------------------------------------------
# Keys


def _card(k: db.ProvinceKeys) -> DeviceCard:
    return DeviceCard(k.device_id, k.device_id, k.region_code, LEVEL, k.name, k.sign_public, k.box_public, k.created_at)


def ensure_keys(engine: Engine, region: str | None, name: str | None, clock: Clock = SYSTEM_CLOCK
                ) -> tuple[DeviceCard, bool]:
    """The province's key card; made (with `region`, two digits, and `name`) if there is none.
    Returns (card, made)."""
    with db.transaction(engine) as conn:
        db.require_schema(conn)
        have = db.get_keys(conn)
        if have is not None:
            if region and region != have.region_code:
                raise BadInput(tr("本数据库已是省 {p} 的，不能改为 {r}", "this database belongs to province {p}; it "
                                  "cannot become {r}", p=have.region_code, r=region))
            return _card(have), False
        if not region or len(region) != 2 or not region.isdigit():
            raise BadInput(tr("还没有省级密钥：请用 --region 给出 2 位省级代码（如 52）",
                              "there are no province keys yet: give the 2-digit province code with --region "
                              "(e.g. 52)"))
        raw = (Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        sk, bk = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
        made = db.ProvinceKeys(str(uuid.uuid4()), region, name or region, sk.private_bytes(*raw),
                               sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), bk.private_bytes(*raw),
                               bk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), clock.now_iso())
        db.put_keys(conn, made)
    with engine.connect() as conn:
        k = db.get_keys(conn)
    assert k is not None
    return _card(k), k.device_id == made.device_id


def write_province_key_file(engine: Engine, out: Path) -> DeviceCard:
    with engine.connect() as conn:
        db.require_schema(conn)
        k = db.get_keys(conn)
    if k is None:
        raise BadInput(tr("还没有省级密钥：请先运行 povdesk province keys --database URL --region NN",
                          "there are no province keys yet: run povdesk province keys --database URL --region NN"))
    card = _card(k)
    try:
        out.write_text(write_key_file(card, k.sign_private), encoding="utf-8")
    except OSError as exc:
        raise BadInput(tr("无法写入文件：{e}", "cannot write the file: {e}", e=exc.strerror), where=str(out)) from None
    return card


def enrol_county(engine: Engine, path: Path, clock: Clock = SYSTEM_CLOCK) -> DeviceCard:
    """Trust a county workspace's key file (`povdesk keys export` at the county)."""
    card = read_key_file(path)
    where = str(path)
    with db.transaction(engine) as conn:
        db.require_schema(conn)
        k = db.get_keys(conn)
        if k is None:
            raise BadInput(tr("还没有省级密钥：请先运行 povdesk province keys", "there are no province keys yet: run "
                              "povdesk province keys first"))
        if card.level != "county":
            raise BadInput(tr("这不是县级工作区的密钥（级别：{l}）", "this is not a county workspace's key (level: {l})",
                              l=card.level), where=where)
        if len(card.region_code) != 6 or not card.region_code.startswith(k.region_code):
            raise BadInput(tr("县 {c} 不在本省 {p}", "county {c} is not in this province {p}", c=card.region_code,
                              p=k.region_code), where=where)
        db.put_county(conn, db.County(card.region_code, card.device_id, card.sign_public, card.fingerprint,
                                      card.name, True, card.box_public), clock.now_iso())
    return card


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class Verified:
    raw: fmt.RawBundle
    county: db.County
    payload: bytes
    header: dict[str, Any]

    @property
    def bundle_id(self) -> str:
        return str(self.raw.manifest["bundle_id"])


@dataclass(frozen=True)
class LoadResult:
    path: Path
    bundle_id: str
    county: str
    households: int
    applied: int  # households written (new, or newer than the province's copy)
    already: bool = False
    partitions_made: int = 0


def verify(engine: Engine, path: Path) -> Verified:
    """Every check that needs no write; BundleRefused saying what is wrong."""
    raw = fmt.read(path)
    m, where = raw.manifest, raw.where
    if m["kind"] != KIND:
        raise _refuse(where, "这不是报送省里的数据包（类型“{k}”）", "this is not a province bundle (kind '{k}')", k=m["kind"])
    with engine.connect() as conn:
        db.require_schema(conn)
        k = db.get_keys(conn)
        if k is None:
            raise BadInput(tr("还没有省级密钥：请先运行 povdesk province keys", "there are no province keys yet: run "
                              "povdesk province keys first"))
        county = db.county_by_device(conn, m["sender"]["device_id"])
    mine = _card(k).fingerprint
    if m["recipient"]["device_id"] != k.device_id or m["recipient"]["fingerprint"] != mine:
        raise _refuse(where, "数据包不是报送本省的（收件方指纹 {f}，本省 {me}）",
                      "the bundle is addressed to another province (fingerprint {f}; this one is {me})",
                      f=m["recipient"]["fingerprint"], me=mine)
    s = m["sender"]
    if county is None or not county.active:
        raise _refuse(where, "数据包来自未登记的县 {r}（{n}，设备 {d}，指纹 {f}）；请先核对指纹并用 povdesk province enrol "
                      "登记", "the bundle comes from a county this province does not know: {r} ({n}, device {d}, "
                      "fingerprint {f}); compare the fingerprint and run povdesk province enrol first",
                      r=s["region_code"], n=s["name"], d=s["device_id"], f=s["fingerprint"])
    if s["fingerprint"] != county.fingerprint or s["region_code"] != county.county_code:
        raise _refuse(where, "数据包用另一把密钥签名或来自另一个县（指纹 {f}，登记的是 {e}）",
                      "the bundle was signed with another key or names another county (fingerprint {f}; the "
                      "enrolled one is {e})", f=s["fingerprint"], e=county.fingerprint)
    if not fmt.signature_ok(raw, county.sign_public):
        raise _refuse(where, "数据包签名无效：文件被改动过，或不是用已登记的密钥签名的",
                      "the bundle's signature is invalid: the file was altered, or it was not signed with the "
                      "enrolled key")
    if not fmt.ciphertext_ok(raw):
        raise _refuse(where, "数据包内容与清单中的摘要不符（文件被改动过）",
                      "the bundle's content does not match the digest in its manifest (the file was altered)")
    payload = fmt.open_payload(raw, k.box_private, k.box_public)
    end = payload.find(b"\n")
    try:
        header = orjson.loads(payload[:end if end >= 0 else len(payload)])
    except orjson.JSONDecodeError:
        header = None
    if (not isinstance(header, dict) or header.get("county") != county.county_code
            or header.get("households") != m["counts"].get("households")
            or not isinstance(header.get("audit_head"), dict)):
        raise _refuse(where, "数据包的首行与清单不符", "the bundle's header does not match its manifest")
    return Verified(raw, county, payload, header)


def _lines(v: Verified) -> Iterator[tuple[int, bytes]]:
    """The household lines after the header, one at a time (the payload is not split into a list:
    a county's payload is hundreds of megabytes)."""
    data = v.payload
    pos = data.find(b"\n") + 1  # 0: a header alone, with no household
    n = 1
    while 0 < pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            end = len(data)
        n += 1
        if end > pos:
            yield n, data[pos:end]
        pos = end + 1


def _json(obj: Any) -> str:
    return orjson.dumps(obj).decode("utf-8")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _rows(hh: Household, county: str, bundle_id: str, at: str) -> tuple[list[Any], list[list[Any]], list[list[Any]],
                                                                       list[list[Any]]]:
    f = hh.fields
    head = [county, hh.id, hh.household_no, hh.village_code, hh.status, _text(f.get("attribute")),
            _text(f.get("main_cause")), len(hh.members), hh.version, hh.updated_at, hh.updated_by, hh.form_version,
            hh.rule_version, _json(f), _json(hh.helpers), bundle_id, at, issues(hh)]
    ms = [[county, hh.id, m.id, i, m.name, normalize(m.id_number), _text(m.fields.get("sex")),
           _text(m.fields.get("birth_date")), m.relation, _json(m.fields)] for i, m in enumerate(hh.members)]
    ys = [[county, hh.id, y.year, _json(y.income), _json(y.measures)] for y in hh.years.values()]
    es = [[county, hh.id, e.id, i, e.procedure, e.step, e.date, e.role, e.user, _json(e.evidence), e.recorded_at]
          for i, e in enumerate(hh.events)]
    return head, ms, ys, es


COPY_TABLES = ("households", "members", "years", "events")


@dataclass(frozen=True)
class Encoded:
    """A batch of household lines, parsed, checked and rendered as COPY text per table; or the first
    problem found (a message, as a dict that crosses a process boundary, and where)."""

    households: list[tuple[str, str]]  # (id, household number)
    members: int
    events: int
    blobs: tuple[bytes, ...]
    problem: dict[str, str] | None = None
    where: str = ""


def _copy_value(v: Any) -> str:
    if v is None:
        return "\\N"
    if type(v) is str:
        if "\\" in v or "\t" in v or "\n" in v or "\r" in v:
            return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return v
    return str(v)


def _copy_line(row: list[Any]) -> str:
    return "\t".join(map(_copy_value, row))


def encode_batch(lines: list[tuple[int, bytes]], name: str, where: str, county: str, bundle_id: str,
                 at: str) -> Encoded:
    """Parse and check household lines (structure, the village inside the county) and render their
    rows for COPY; in a worker process or in this one."""
    out: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
    ids: list[tuple[str, str]] = []
    members = events = 0
    for n, line in lines:
        try:
            hh = parse_line(line, f"{name}:{n}")
        except LineError as exc:
            return Encoded([], 0, 0, (), exc.text.as_dict(), exc.where or where)
        if not hh.village_code.startswith(county):
            return Encoded([], 0, 0, (), tr("数据包中的户 {h} 属于村 {v}，不在县 {c}",
                                            "household {h} of the bundle belongs to village {v}, not to county {c}",
                                            h=hh.household_no, v=hh.village_code, c=county).as_dict(), where)
        ids.append((hh.id, hh.household_no))
        head, ms, ys, es = _rows(hh, county, bundle_id, at)
        out[0].append(_copy_line(head))
        out[1].extend(map(_copy_line, ms))
        out[2].extend(map(_copy_line, ys))
        out[3].extend(map(_copy_line, es))
        members += len(ms)
        events += len(es)
    blobs = tuple(("\n".join(rows) + "\n").encode("utf-8") if rows else b"" for rows in out)
    return Encoded(ids, members, events, blobs)


def _batches(v: Verified, size: int) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for item in _lines(v):
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def issues(hh: Household) -> int:
    """The household's data-quality problems as db.ISSUES bits: no attribute, no main cause, a
    member without an ID number, an 18-digit ID number whose birth date or sex is not the recorded
    one, not exactly one head (relation 01)."""
    bits = db.ISSUES
    out = 0
    if not _text(hh.fields.get("attribute")):
        out |= bits["no_attribute"]
    if not _text(hh.fields.get("main_cause")):
        out |= bits["no_main_cause"]
    heads = 0
    for m in hh.members:
        number = normalize(m.id_number)
        if not number:
            out |= bits["member_without_id"]
        elif len(number) == 18:
            birth = _text(m.fields.get("birth_date"))
            sex = _text(m.fields.get("sex"))
            if ((birth and birth.replace("-", "") != number[6:14])
                    or (sex in ("1", "2") and number[16].isdigit() and (int(number[16]) % 2 == 1) != (sex == "1"))):
                out |= bits["id_mismatch"]
        if m.relation == "01":
            heads += 1
    if heads != 1:
        out |= bits["not_one_head"]
    return out


def load_bundle(engine: Engine, path: Path, clock: Clock = SYSTEM_CLOCK, batch: int = BATCH,
                executor: Executor | None = None) -> LoadResult:
    """Verify, then apply in one transaction; with an executor (povdesk.ops.importing.decision_pool),
    a worker process parses the next batch while this one copies the current one."""
    v = verify(engine, path)
    m, where = v.raw.manifest, v.raw.where
    county = v.county.county_code
    at = clock.now_iso()
    try:
        with db.transaction(engine) as conn:
            db.lock_for_load(conn)
            claimed = db.claim_bundle(conn, {
                "bundle_id": v.bundle_id, "county_code": county, "sender": v.county.device_id,
                "ciphertext_sha256": m["payload"]["ciphertext_sha256"], "full": m["full"],
                "seq_first": m["seq"]["first"], "seq_last": m["seq"]["last"], "households": m["counts"]["households"],
                "applied": 0, "audit_seq": int(v.header["audit_head"].get("seq") or 0),
                "audit_hash": str(v.header["audit_head"].get("hash") or ""), "created_at": m["created_at"],
                "loaded_at": at})
            if not claimed:
                prev = db.bundle_loaded(conn, v.bundle_id) or {}
                return LoadResult(path, v.bundle_id, county, int(prev.get("households", 0)), 0, already=True)
            made = db.ensure_partitions(conn, county)
            # A county's first bundle goes straight into its empty partitions (nothing to compare
            # versions with); later ones through temporary tables and the upsert.
            direct = db.county_empty(conn, county)
            targets = db.direct_targets() if direct else db.create_staging(conn).tables
            seen: set[str] = set()
            n_hh = n_members = n_events = 0

            def write(enc: Encoded) -> None:
                nonlocal n_hh, n_members, n_events
                if enc.problem is not None:
                    raise fmt.BundleRefused(Text(enc.problem["zh"], enc.problem["en"]), where=enc.where)
                for hid, no in enc.households:
                    if hid in seen:
                        raise _refuse(where, "数据包中户 {h} 出现了两次", "household {h} is in the bundle twice", h=no)
                    seen.add(hid)
                n_hh += len(enc.households)
                n_members += enc.members
                n_events += enc.events
                for key, blob in zip(COPY_TABLES, enc.blobs, strict=True):
                    if blob:
                        db.copy_text(conn, targets[key], blob)

            # Parsing and rendering the rows of the next batch (in a worker process, when given
            # one) overlaps with the database taking in the current one.
            queue: deque[Future[Encoded] | Encoded] = deque()
            for lines in _batches(v, batch):
                if executor is not None:
                    queue.append(executor.submit(encode_batch, lines, path.name, where, county, v.bundle_id, at))
                else:
                    queue.append(encode_batch(lines, path.name, where, county, v.bundle_id, at))
                while len(queue) > (1 if executor is not None else 0):
                    head = queue.popleft()
                    write(head.result() if isinstance(head, Future) else head)
            while queue:
                head = queue.popleft()
                write(head.result() if isinstance(head, Future) else head)
            c = m["counts"]
            if (n_hh, n_members, n_events) != (c.get("households"), c.get("members"), c.get("events")):
                raise _refuse(where, "数据包中的户、成员和程序记录数与清单不符",
                              "the bundle's households, members and events do not match the counts in its manifest")
            applied = n_hh if direct else db.apply_staged(conn, db.Staging(targets), county, v.bundle_id)
            db.set_applied(conn, v.bundle_id, applied)
            db.refresh_flags(conn, county, v.bundle_id, at)
    except (DBAPIError, psycopg.Error) as exc:
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        raise BadInput(tr("省级数据库出错，本数据包未载入：{e}", "the province database failed; the bundle was not "
                          "loaded: {e}", e=str(orig or exc).strip().splitlines()[0]), where=where) from None
    return LoadResult(path, v.bundle_id, county, n_hh, applied, partitions_made=len(made))


def flags(engine: Engine, county: str | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        db.require_schema(conn)
        return db.flag_rows(conn, db.check_county(county) if county else None)
