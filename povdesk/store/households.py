"""Household repository: load, save, append procedure events, bulk import, keyset lists, duplicates."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from povdesk.core.model import (
    HEAD_RELATION,
    STATUSES,
    Household,
    Member,
    ProcedureEvent,
    YearRecord,
    with_own_number,
)
from povdesk.core.procedures import initial_status, status_from
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.store import search
from povdesk.store.audit import AuditWriter
from povdesk.store.codec import canonical, dumps, encoder, loads, prefix_range
from povdesk.store.codec import encode_str as _encode_str
from povdesk.store.errors import VersionConflict
from povdesk.store.outbox import INSERT_SQL as OUTBOX_INSERT

# SQLite builds older than 3.32 allow 999 parameters; stay under that everywhere.
CHUNK = 900

_HH_COLUMNS = ("id, household_no, village_code, status, fields, helpers, form_version, rule_version, "
               "version, updated_at, updated_by")
_HH_INSERT = (
    "INSERT INTO households (id, household_no, village_code, status, head_name, head_sort, attribute, "
    "main_cause, member_count, fields, helpers, form_version, rule_version, version, updated_at, updated_by) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_HH_UPSERT = _HH_INSERT + (
    " ON CONFLICT(id) DO UPDATE SET household_no=excluded.household_no, village_code=excluded.village_code, "
    "status=excluded.status, head_name=excluded.head_name, head_sort=excluded.head_sort, "
    "attribute=excluded.attribute, main_cause=excluded.main_cause, member_count=excluded.member_count, "
    "fields=excluded.fields, helpers=excluded.helpers, form_version=excluded.form_version, "
    "rule_version=excluded.rule_version, version=excluded.version, updated_at=excluded.updated_at, "
    "updated_by=excluded.updated_by"
)
_MEMBER_INSERT = (
    "INSERT INTO members (rid, id, household_id, position, village_code, name, id_number, id_reversed, "
    "birth_date, sex, relation, fields) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)
_TERM_INSERT = "INSERT OR IGNORE INTO search_terms (kind, term, rid, village) VALUES (?,?,?,?)"
_YEAR_INSERT = "INSERT INTO years (household_id, year, income, measures) VALUES (?,?,?,?)"
_EVENT_INSERT = (
    "INSERT OR IGNORE INTO events (id, household_id, procedure, step, date, role, user, evidence, recorded_at) "
    "VALUES (?,?,?,?,?,?,?,?,?)"
)

ORDERS = {
    "household_no": ("household_no",),
    "head_name": ("head_sort", "household_no"),
    "village_code": ("village_code", "household_no"),
}


@dataclass(frozen=True)
class HouseholdRow:
    """One line of the household list; `cursor` is what to pass as `after` for the next page."""

    id: str
    household_no: str
    village_code: str
    head_name: str
    status: str
    attribute: str | None
    main_cause: str | None
    member_count: int
    cursor: tuple[Any, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    replaced: int
    numbers_assigned: int
    outbox_first: int  # outbox seq range written by this import (0, 0 if nothing)
    outbox_last: int


@dataclass(frozen=True)
class Stamp:
    """Who and when, and the workspace facts a write needs."""

    user: str
    now: str
    device_id: str
    device_prefix: str
    form_version: str
    rule_version: str


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


# ---------------------------------------------------------------------------------------------
# Reading


_HH_ROW = tuple[str, str, str, str, str, str, str, str, int, str, str]


def _rows_of(conn: sqlite3.Connection, ids: Sequence[str], *, events: bool
             ) -> tuple[dict[str, list[Any]], dict[str, list[Any]], dict[str, list[Any]]]:
    """The members', years' and (when `events`) events' rows of households `ids`, by household,
    each in the order the household keeps them; a few queries per CHUNK ids."""
    members: dict[str, list[Any]] = {}
    years: dict[str, list[Any]] = {}
    history: dict[str, list[Any]] = {}
    for chunk in _chunks(ids):
        marks = _marks(len(chunk))
        for row in conn.execute(f"SELECT household_id, id, fields FROM members WHERE household_id IN ({marks}) "
                                "ORDER BY household_id, position", chunk):
            members.setdefault(row[0], []).append(row)
        for row in conn.execute(f"SELECT household_id, year, income, measures FROM years "
                                f"WHERE household_id IN ({marks}) ORDER BY household_id, year", chunk):
            years.setdefault(row[0], []).append(row)
        if events:
            for row in conn.execute(
                "SELECT household_id, id, procedure, step, date, role, user, evidence, recorded_at FROM events "
                f"WHERE household_id IN ({marks}) ORDER BY household_id, rid", chunk
            ):
                history.setdefault(row[0], []).append(row)
    return members, years, history


_NO_ROWS: list[Any] = []


def _build(row: _HH_ROW, members: list[Any], years: list[Any], history: list[Any]) -> Household:
    """One household from its rows. The objects are filled directly rather than through their
    dataclass __init__ (as from_dict does): a county read for validation makes about three
    million of them."""
    hid, no, village, status, fields_json, helpers_json, form_v, rule_v, version, at, by = row
    new_member, new_year, new_event = Member.__new__, YearRecord.__new__, ProcedureEvent.__new__
    hh = Household.__new__(Household)
    mlist: list[Member] = []
    for _hid, mid, fields_json_m in members:
        m = new_member(Member)
        m.__dict__ = {"id": mid, "fields": loads(fields_json_m)}
        mlist.append(m)
    ydict: dict[int, YearRecord] = {}
    for _hid, year, income, measures in years:
        y = new_year(YearRecord)
        y.__dict__ = {"year": year, "income": loads(income), "measures": loads(measures)}
        ydict[year] = y
    elist: list[ProcedureEvent] = []
    for _hid, eid, procedure, step, date, role, user, evidence, recorded_at in history:
        e = new_event(ProcedureEvent)
        e.__dict__ = {"procedure": procedure, "step": step, "date": date, "role": role, "user": user,
                      "evidence": loads(evidence), "id": eid, "recorded_at": recorded_at}
        elist.append(e)
    hh.__dict__ = {"village_code": village, "household_no": no, "id": hid, "status": status,
                   "fields": loads(fields_json), "members": mlist, "years": ydict,
                   "helpers": loads(helpers_json), "events": elist, "form_version": form_v,
                   "rule_version": rule_v, "version": version, "updated_at": at, "updated_by": by}
    return hh


def load_many(conn: sqlite3.Connection, ids: Sequence[str], *, events: bool = True) -> dict[str, Household]:
    """Households by id with everything attached (their procedure history too unless `events` is
    false: the rules never read it, and it is a third of the rows), a few queries per CHUNK ids."""
    ids = list(ids)
    found: list[_HH_ROW] = []
    for chunk in _chunks(ids):
        found += conn.execute(f"SELECT {_HH_COLUMNS} FROM households WHERE id IN ({_marks(len(chunk))})", chunk)
    members, years, history = _rows_of(conn, [r[0] for r in found], events=events)
    return {r[0]: _build(r, members.get(r[0], _NO_ROWS), years.get(r[0], _NO_ROWS), history.get(r[0], _NO_ROWS))
            for r in found}


class _Batch(Sequence[Household]):
    """A batch of households held as their rows (text) and made into objects one at a time as
    they are read: a county streamed through the rules then keeps one household's objects
    alive rather than a batch's (about 30,000 containers the garbage collector would otherwise
    walk again and again)."""

    __slots__ = ("_rows", "_members", "_years", "_history")

    def __init__(self, rows: list[_HH_ROW], members: dict[str, list[Any]], years: dict[str, list[Any]],
                 history: dict[str, list[Any]]) -> None:
        self._rows, self._members, self._years, self._history = rows, members, years, history

    def __len__(self) -> int:
        return len(self._rows)

    def _make(self, row: _HH_ROW) -> Household:
        hid = row[0]
        return _build(row, self._members.get(hid, _NO_ROWS), self._years.get(hid, _NO_ROWS),
                      self._history.get(hid, _NO_ROWS))

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._make(r) for r in self._rows[i]]
        return self._make(self._rows[i])

    def __iter__(self) -> Iterator[Household]:
        for row in self._rows:
            yield self._make(row)


def iter_for_cross_checks(conn: sqlite3.Connection, skip: set[str]) -> Iterator[Household]:
    """Every household not in `skip`, holding only what the across-household rules read: its id,
    number, village, status and helpers, and its members' ID numbers and changes (left, died...).
    About five times faster than reading whole households, in one read snapshot."""
    return _cross_shells(conn, skip, members_where="", households_where="")


def iter_cross_candidates(conn: sqlite3.Connection, skip: set[str]) -> Iterator[Household]:
    """What iter_for_cross_checks gives, but only for the households an across-household rule can
    flag: those sharing an ID number with another household, those with helpers, and those with a
    member who is someone's helper; the rest cannot be in any finding. SQL picks them (the
    members' ID number index), so a county's members never all come into memory. The candidates
    are a superset of what the rules need (the ID number column is the trimmed, upper-case value),
    so the findings are those over every household. Households in `skip` are left out."""
    wanted = (
        "SELECT id_number FROM members WHERE id_number <> '' GROUP BY id_number "
        "HAVING count(DISTINCT household_id) > 1 "
        "UNION SELECT upper(trim(json_extract(j.value, '$.id_number'))) "
        "FROM households, json_each(households.helpers) AS j WHERE households.helpers <> '[]'"
    )
    return _cross_shells(conn, skip, members_where=f"WHERE id_number IN ({wanted}) ",
                         households_where="WHERE helpers <> '[]' OR id IN (SELECT household_id FROM members "
                                          f"WHERE id_number IN ({wanted})) ")


def _cross_shells(conn: sqlite3.Connection, skip: set[str], *, members_where: str,
                  households_where: str) -> Iterator[Household]:
    # A voided household is in no finding: its people are not someone else's duplicates.
    skip = skip | {r[0] for r in conn.execute("SELECT id FROM households WHERE voided = 1")}
    people: dict[str, list[Member]] = {}
    new_member = Member.__new__
    for hid, mid, number, change in conn.execute(
        "SELECT household_id, id, json_extract(fields, '$.id_number'), "
        "CASE WHEN instr(fields, '\"change\"') THEN json_extract(fields, '$.change') END "
        f"FROM members {members_where}ORDER BY household_id, position"
    ):
        if not number or hid in skip:
            continue
        m = new_member(Member)  # filled directly, as Member.from_dict does: a county has 400,000
        m.__dict__.update(id=mid, fields={"id_number": number} if change is None else
                          {"id_number": number, "change": change})
        people.setdefault(hid, []).append(m)
    new_household = Household.__new__
    for hid, no, village, status, helpers_json in conn.execute(
        f"SELECT id, household_no, village_code, status, helpers FROM households {households_where}"
        "ORDER BY household_no"
    ):
        if hid in skip:
            continue
        hh = new_household(Household)
        hh.__dict__.update(id=hid, household_no=no, village_code=village, status=status, fields={},
                           members=people.get(hid, []), years={}, helpers=loads(helpers_json), events=[],
                           form_version="", rule_version="", version=0, updated_at="", updated_by="")
        yield hh


def _event(row: Sequence[Any]) -> ProcedureEvent:
    eid, procedure, step, date, role, user, evidence, recorded_at = row
    return ProcedureEvent(procedure=procedure, step=step, date=date, role=role, user=user,
                          evidence=loads(evidence), id=eid, recorded_at=recorded_at)


def load_one(conn: sqlite3.Connection, household_id: str) -> Household | None:
    return load_many(conn, [household_id]).get(household_id)


VOIDED = search.VOIDED


def _filters(village_prefix: str | None, status: str | None = None, attribute: str | None = None,
             main_cause: str | None = None, *, column: str = "+voided") -> tuple[list[str], list[Any]]:
    """WHERE terms and their arguments. `column` names the voided column: "+voided" (the default)
    keeps the planner on the list's own indexes (ordered by household number); "voided" lets a
    count use idx_households_voided."""
    where = [f"{column} = {1 if status == VOIDED else 0}"]
    args: list[Any] = []
    if status == VOIDED:
        status = None
    if village_prefix:
        lo, hi = prefix_range(village_prefix)
        where.append("village_code >= ? AND village_code < ?")
        args += [lo, hi]
    for column, value in (("status", status), ("attribute", attribute), ("main_cause", main_cause)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    return where, args


def iter_batches(conn: sqlite3.Connection, village_prefix: str | None, batch: int, *,
                 events: bool = True) -> Iterator[Sequence[Household]]:
    """Keyset over household_no; each batch is read in its own short read transaction (its rows:
    the households are made from them as the batch is iterated)."""
    after = ""
    where, args = _filters(village_prefix)
    while True:
        conds = ["household_no > ?", *where]
        in_tx = conn.in_transaction
        if not in_tx:
            conn.execute("BEGIN")  # one snapshot per batch: households and their members agree
        try:
            rows: list[_HH_ROW] = conn.execute(
                f"SELECT {_HH_COLUMNS} FROM households WHERE {' AND '.join(conds)} "
                "ORDER BY household_no LIMIT ?", [after, *args, batch]
            ).fetchall()
            members, years, history = _rows_of(conn, [r[0] for r in rows], events=events)
        finally:
            if not in_tx:
                conn.execute("COMMIT")
        if not rows:
            return
        after = rows[-1][1]
        yield _Batch(rows, members, years, history)


def count(conn: sqlite3.Connection, village_prefix: str | None, status: str | None) -> int:
    where, args = _filters(village_prefix, status, column="voided")
    sql = "SELECT count(*) FROM households" + (f" WHERE {' AND '.join(where)}" if where else "")
    return int(conn.execute(sql, args).fetchone()[0])


def list_rows(conn: sqlite3.Connection, after: tuple[Any, ...] | None, limit: int, village_prefix: str | None,
              status: str | None, attribute: str | None, main_cause: str | None, order: str) -> list[HouseholdRow]:
    if order not in ORDERS:
        raise BadInput(tr("未知排序方式“{o}”", "unknown order '{o}'", o=order))
    keys = ORDERS[order]
    where, args = _filters(village_prefix, status, attribute, main_cause)
    if after is not None:
        if len(after) != len(keys):
            raise BadInput(tr("翻页位置与排序方式不符", "the page position does not match the order"))
        where.insert(0, f"({', '.join(keys)}) > ({_marks(len(keys))})")
        args[:0] = list(after)
    sql = (f"SELECT id, household_no, village_code, head_name, status, attribute, main_cause, member_count, "
           f"{', '.join(keys)} FROM households"
           + (f" WHERE {' AND '.join(where)}" if where else "")
           + f" ORDER BY {', '.join(keys)} LIMIT ?")
    return [HouseholdRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], cursor=tuple(r[8:]))
            for r in conn.execute(sql, [*args, limit])]


def ids(conn: sqlite3.Connection, village_prefix: str | None, status: str | None) -> list[str]:
    where, args = _filters(village_prefix, status)
    sql = "SELECT id FROM households" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY household_no"
    return [r[0] for r in conn.execute(sql, args)]


def with_person(conn: sqlite3.Connection, id_number: str) -> list[tuple[str, str, str, str]]:
    rows = conn.execute(
        "SELECT m.household_id, m.id, h.household_no, h.village_code FROM members m "
        "JOIN households h ON h.id = m.household_id WHERE m.id_number = ? AND +h.voided = 0 ORDER BY h.household_no",
        (id_number.strip().upper(),),
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def duplicate_id_numbers(conn: sqlite3.Connection, village_prefix: str | None) -> list[tuple[str, list[str]]]:
    """ID numbers found in more than one household; with a prefix, those touching it (the other
    household may be anywhere, which is exactly what a village needs to hear about)."""
    touch = ""
    args: list[Any] = []
    if village_prefix:
        lo, hi = prefix_range(village_prefix)
        touch = ("AND id_number IN (SELECT id_number FROM members WHERE village_code >= ? AND village_code < ? "
                 "AND id_number != '')")
        args = [lo, hi]
    rows = conn.execute(
        "SELECT id_number, group_concat(DISTINCT household_id) FROM members "
        f"WHERE id_number != '' {touch} GROUP BY id_number HAVING min(household_id) != max(household_id) "
        "ORDER BY id_number",
        args,
    )
    return [(idn, sorted(hids.split(","))) for idn, hids in rows]


# ---------------------------------------------------------------------------------------------
# Encoding


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _member_values(m: Member) -> tuple[str, str, str | None, str | None, str | None]:
    """(name, id_number, birth_date, sex, relation) as stored in columns for lists and search."""
    name = str(m.fields.get("name") or "").strip()
    id_number = str(m.fields.get("id_number") or "").strip().upper()
    return (name, id_number, _text(m.fields.get("birth_date")), _text(m.fields.get("sex")),
            _text(m.fields.get("relation")))


def _check(hh: Household) -> None:
    where = hh.household_no or hh.id
    if not isinstance(hh.village_code, str) or not hh.village_code.strip():
        raise BadInput(tr("户缺少所属村代码", "the household has no village code"), where=where)
    if hh.status not in STATUSES:
        raise BadInput(tr("未知的户状态“{s}”", "unknown household status '{s}'", s=hh.status), where=where)
    if not hh.id:
        raise BadInput(tr("户缺少编号（id）", "the household has no id"), where=where)
    seen: set[str] = set()
    for m in hh.members:
        if not m.id or m.id in seen:
            raise BadInput(tr("家庭成员编号（id）为空或重复：{id}", "a member id is empty or repeated: {id}",
                              id=m.id), where=where)
        seen.add(m.id)
    for year, record in hh.years.items():
        if year != record.year:
            raise BadInput(tr("年度记录 {a} 标成了 {b} 年", "the year record {a} is filed under {b}",
                              a=record.year, b=year), where=where)


def _head_name(hh: Household) -> str:
    return hh.head_name or next(
        (str(m.fields.get("name") or "") for m in hh.members if m.relation == HEAD_RELATION), ""
    )


def _hh_tuple(hh: Household, no: str, fields_json: str, helpers_json: str, version: int, form_v: str,
              rule_v: str, at: str, by: str, sort_keys: dict[str, str] | None = None) -> tuple[Any, ...]:
    """The households-table row; `sort_keys` caches search.sort_key by name (many heads share one)."""
    head = _head_name(hh).strip()
    if sort_keys is None:
        key = search.sort_key(head)
    else:
        key = sort_keys.get(head)  # type: ignore[assignment]
        if key is None:
            key = sort_keys[head] = search.sort_key(head)
    return (hh.id, no, hh.village_code, hh.status, head, key, _text(hh.fields.get("attribute")),
            _text(hh.fields.get("main_cause")), len(hh.members), fields_json, helpers_json, form_v, rule_v,
            version, at, by)


def _payload(hh: Household, no: str, version: int, form_v: str, rule_v: str, at: str, by: str,
             fields_json: str, member_jsons: Sequence[str], years_json: Sequence[str], helpers_json: str,
             events_json: Sequence[str]) -> str:
    """Household.to_dict() as JSON, assembled from parts already encoded for the tables (the
    bulk import would otherwise encode every member twice)."""
    head = dumps({"id": hh.id, "household_no": no, "village_code": hh.village_code, "status": hh.status,
                  "form_version": form_v, "rule_version": rule_v, "version": version, "updated_at": at,
                  "updated_by": by})
    members = ",".join(f'{{"id":{dumps(m.id)},"fields":{mj}}}' for m, mj in zip(hh.members, member_jsons, strict=True))
    return (f'{head[:-1]},"fields":{fields_json},"members":[{members}],"years":[{",".join(years_json)}],'
            f'"helpers":{helpers_json},"events":[{",".join(events_json)}]}}')


def _json_str(value: Any) -> str:
    """A JSON string literal, through the C encoder when it is a plain str (the common case)."""
    return _encode_str(value) if type(value) is str else dumps(value)


def _event_parts(hid: str, e: ProcedureEvent) -> tuple[tuple[Any, ...], str]:
    """The events-table row and the event's to_dict() JSON, encoding the evidence only once
    (a county has about ten events per household, so this is a hot path of the import)."""
    evidence = dumps(e.evidence, what=f"event {e.id}")
    row = (e.id, hid, e.procedure, e.step, e.date, e.role, e.user, evidence, e.recorded_at)
    js = _json_str
    text = (f'{{"id":{js(e.id)},"procedure":{js(e.procedure)},"step":{js(e.step)},"date":{js(e.date)},'
            f'"role":{js(e.role)},"user":{js(e.user)},"evidence":{evidence},"recorded_at":{js(e.recorded_at)}}}')
    return row, text


def _event_json(e: ProcedureEvent) -> str:
    return _event_parts("", e)[1]


# ---------------------------------------------------------------------------------------------
# Household numbers


def _number_taken(conn: sqlite3.Connection, no: str) -> bool:
    return conn.execute("SELECT 1 FROM households WHERE household_no = ?", (no,)).fetchone() is not None


def next_numbers(conn: sqlite3.Connection, village: str, prefix: str, count: int,
                 reserved: set[str] | None = None) -> list[str]:
    """`<village>-<device prefix>-<NNNN>`: the sequence is per village per device, so laptops
    working offline never hand out the same number; a number is never handed out twice."""
    row = conn.execute("SELECT last FROM household_counters WHERE village_code = ? AND device_prefix = ?",
                       (village, prefix)).fetchone()
    n = row[0] if row else 0
    out: list[str] = []
    while len(out) < count:
        n += 1
        no = f"{village}-{prefix}-{n:04d}"
        if not _number_taken(conn, no) and not (reserved and no in reserved):
            out.append(no)
    conn.execute(
        "INSERT INTO household_counters (village_code, device_prefix, last) VALUES (?,?,?) "
        "ON CONFLICT(village_code, device_prefix) DO UPDATE SET last = excluded.last",
        (village, prefix, n),
    )
    return out


# ---------------------------------------------------------------------------------------------
# Saving one household


def _diff_dict(prefix: str, old: dict[str, Any], new: dict[str, Any],
               out: list[tuple[str, str | None, str | None]]) -> None:
    for key in sorted(old.keys() | new.keys(), key=str):
        o, n = old.get(key), new.get(key)
        oc = None if o is None else canonical(o)
        nc = None if n is None else canonical(n)
        if oc != nc:
            out.append((f"{prefix}{key}", oc, nc))


def _stored_events(conn: sqlite3.Connection, household_id: str) -> list[ProcedureEvent]:
    return [
        _event(r) for r in conn.execute(
            "SELECT id, procedure, step, date, role, user, evidence, recorded_at FROM events "
            "WHERE household_id = ? ORDER BY rid", (household_id,)
        )
    ]


def _check_status(hh: Household, derived: str, where: str) -> None:
    """Refuse a household whose status is not the one its procedure steps lead to."""
    if hh.status != derived:
        raise BadInput(tr("户状态只能通过识别、脱贫等程序步骤改变：该户的程序记录得出“{d}”，而不是“{s}”",
                          "the household status changes only through procedure steps: its steps lead to "
                          "'{d}', not '{s}'", d=derived, s=hh.status), where=where)


def save(conn: sqlite3.Connection, hh: Household, stamp: Stamp, audit: AuditWriter) -> Household:
    """Save inside the caller's transaction; returns the household as stored (hh is not modified).
    A number that is not an official one (core.model.is_official_number) is kept as the village's
    own number, and the household keeps or gets an official one."""
    _check(hh)
    hh = with_own_number(hh)
    stored = conn.execute(
        "SELECT version, status, household_no, village_code, fields, helpers FROM households WHERE id = ?",
        (hh.id,),
    ).fetchone()
    where = hh.household_no or hh.id
    if stored is None and hh.version != 0:
        raise VersionConflict(tr("这户已不在工作区中（可能已被他人删除或替换），请重新打开",
                                 "this household is no longer in the workspace (removed or replaced by "
                                 "someone else); open it again"), where=where)
    if stored is not None and hh.version != stored[0]:
        raise VersionConflict(tr("自您打开以来，这户已被他人修改（版本 {a} → {b}）。请重新打开后再修改",
                                 "changed by someone else since you opened it (version {a} → {b}); open it "
                                 "again and redo your change", a=hh.version, b=stored[0]), where=where)
    # The status is the one its procedure steps lead to (save never writes steps): a caller's
    # status that says otherwise is refused, not written and not silently replaced.
    events = _stored_events(conn, hh.id) if stored is not None else []
    _check_status(hh, status_from(events, initial_status(hh.fields)), where)

    # Household number: keep the stored one if the caller left it empty; assign when new.
    no = hh.household_no.strip() or (stored[2] if stored else "")
    if no and (stored is None or no != stored[2]):
        other = conn.execute("SELECT id FROM households WHERE household_no = ? AND id != ?", (no, hh.id)).fetchone()
        if other:
            raise BadInput(tr("户编号 {no} 已被另一户使用", "household number {no} is already used by another "
                              "household", no=no), where=where)
    if not no:
        no = next_numbers(conn, hh.village_code, stamp.device_prefix, 1)[0]

    # Members that already belong to another household cannot silently move.
    member_ids = [m.id for m in hh.members]
    for chunk in _chunks(member_ids):
        clash = conn.execute(
            f"SELECT id FROM members WHERE id IN ({_marks(len(chunk))}) AND household_id != ? LIMIT 1",
            [*chunk, hh.id],
        ).fetchone()
        if clash:
            raise BadInput(tr("家庭成员 {id} 已登记在另一户中", "member {id} is registered in another household",
                              id=clash[0]), where=where)

    fields_json = dumps(hh.fields, what="fields")
    helpers_json = dumps(hh.helpers, what="helpers")
    member_jsons = [dumps(m.fields, what=f"member {m.id}") for m in hh.members]
    years_json = [dumps(hh.years[y].to_dict(), what=f"year {y}") for y in sorted(hh.years)]

    old_members = {
        r[1]: r for r in conn.execute(
            "SELECT rid, id, position, village_code, name, fields FROM members WHERE household_id = ?", (hh.id,)
        )
    }
    old_years = {
        r[0]: YearRecord(r[0], loads(r[1]), loads(r[2])) for r in conn.execute(
            "SELECT year, income, measures FROM years WHERE household_id = ?", (hh.id,)
        )
    }

    # --- what changed (one audit entry per changed field) ---
    changes: list[tuple[str, str | None, str | None]] = []
    whole: list[tuple[str, str, str | None, str | None]] = []  # (action, path, old, new)
    if stored is None:
        whole.append(("household.create", "", None, canonical(
            {"household_no": no, "village_code": hh.village_code, "status": hh.status, "fields": hh.fields,
             "helpers": hh.helpers, "years": [hh.years[y].to_dict() for y in sorted(hh.years)]})))
        for pos, m in enumerate(hh.members):
            whole.append(("household.member_add", f"members[{m.id}]", None,
                          canonical({"position": pos, **m.to_dict()})))
    else:
        if no != stored[2]:
            changes.append(("household_no", canonical(stored[2]), canonical(no)))
        if hh.village_code != stored[3]:
            changes.append(("village_code", canonical(stored[3]), canonical(hh.village_code)))
        _diff_dict("fields.", loads(stored[4]), hh.fields, changes)
        if canonical(loads(stored[5])) != canonical(hh.helpers):
            changes.append(("helpers", canonical(loads(stored[5])), canonical(hh.helpers)))
        new_ids = set(member_ids)
        for pos, m in enumerate(hh.members):
            old = old_members.get(m.id)
            if old is None:
                whole.append(("household.member_add", f"members[{m.id}]", None,
                              canonical({"position": pos, **m.to_dict()})))
                continue
            if old[2] != pos:
                changes.append((f"members[{m.id}].position", canonical(old[2]), canonical(pos)))
            _diff_dict(f"members[{m.id}].fields.", loads(old[5]), m.fields, changes)
        for mid, old in old_members.items():
            if mid not in new_ids:
                whole.append(("household.member_remove", f"members[{mid}]",
                              canonical({"position": old[2], "id": mid, "fields": loads(old[5])}), None))
        for year in sorted(old_years.keys() | hh.years.keys()):
            o, n = old_years.get(year), hh.years.get(year)
            if o is None or n is None:
                whole.append(("household.update", f"years[{year}]", None if o is None else canonical(o.to_dict()),
                              None if n is None else canonical(n.to_dict())))
                continue
            _diff_dict(f"years[{year}].income.", o.income, n.income, changes)
            if canonical(o.measures) != canonical(n.measures):
                changes.append((f"years[{year}].measures", canonical(o.measures), canonical(n.measures)))
        if not changes and not whole:
            # Nothing to save: no new version, nothing for sync to carry.
            current = load_one(conn, hh.id)
            assert current is not None
            return current

    version = (stored[0] if stored else 0) + 1
    head = _hh_tuple(hh, no, fields_json, helpers_json, version, stamp.form_version, stamp.rule_version,
                     stamp.now, stamp.user)
    conn.execute(_HH_UPSERT, head)

    # --- members: update in place where possible so search rows change only with the name ---
    stale_terms: list[tuple[int, str]] = []
    fresh_terms: list[tuple[int, str, int, str]] = []
    kept = set(member_ids)
    for mid, old in old_members.items():
        if mid not in kept:
            stale_terms.append((old[0], old[4]))
    if stale_terms:
        conn.executemany("DELETE FROM members WHERE rid = ?", [(rid,) for rid, _ in stale_terms])
    for pos, (m, mj) in enumerate(zip(hh.members, member_jsons, strict=True)):
        name, id_number, birth, sex, relation = _member_values(m)
        old = old_members.get(m.id)
        values = (pos, hh.village_code, name, id_number, id_number[::-1], birth, sex, relation, mj)
        if old is None:
            cur = conn.execute(_MEMBER_INSERT, (None, m.id, hh.id, *values))
            rid = cur.lastrowid
            assert rid is not None
            fresh_terms += search.terms_rows(rid, name, hh.village_code)
        else:
            rid = old[0]
            conn.execute(
                "UPDATE members SET position=?, village_code=?, name=?, id_number=?, id_reversed=?, birth_date=?, "
                "sex=?, relation=?, fields=? WHERE rid = ?", (*values, rid)
            )
            if old[4] != name or old[3] != hh.village_code:
                stale_terms.append((rid, old[4]))
                fresh_terms += search.terms_rows(rid, name, hh.village_code)
    search.delete_terms(conn, stale_terms)
    conn.executemany(_TERM_INSERT, fresh_terms)

    conn.execute("DELETE FROM years WHERE household_id = ?", (hh.id,))
    conn.executemany(_YEAR_INSERT, [
        (hh.id, y, dumps(hh.years[y].income), dumps(hh.years[y].measures)) for y in sorted(hh.years)
    ])

    for path, old_json, new_json in changes:
        audit.add_encoded("household.update", "household", hh.id, path, old_json, new_json)
    for action, path, old_json, new_json in whole:
        audit.add_encoded(action, "household", hh.id, path or None, old_json, new_json)

    payload = _payload(hh, no, version, stamp.form_version, stamp.rule_version, stamp.now, stamp.user,
                       fields_json, member_jsons, years_json, helpers_json, [_event_json(e) for e in events])
    conn.execute(OUTBOX_INSERT, (stamp.device_id, "household", hh.id, version, payload, stamp.now))
    return Household.from_dict(loads(payload))


# ---------------------------------------------------------------------------------------------
# Procedure events


def append_event(conn: sqlite3.Connection, hh: Household, event: ProcedureEvent, stamp: Stamp,
                 audit: AuditWriter, actor_role: str) -> ProcedureEvent:
    where = hh.household_no or hh.id
    stored = conn.execute("SELECT version, status FROM households WHERE id = ?", (hh.id,)).fetchone()
    if stored is None:
        raise BadInput(tr("工作区中没有这户", "this household is not in the workspace"), where=where)
    if hh.version != stored[0]:
        raise VersionConflict(tr("自您打开以来，这户已被他人修改（版本 {a} → {b}）。请重新打开后再办理",
                                 "changed by someone else since you opened it (version {a} → {b}); open it "
                                 "again and redo the step", a=hh.version, b=stored[0]), where=where)
    if conn.execute("SELECT 1 FROM events WHERE id = ?", (event.id,)).fetchone():
        raise BadInput(tr("该程序步骤已经登记过", "this procedure step has already been recorded"), where=where)
    recorded = ProcedureEvent(
        procedure=event.procedure, step=event.step, date=event.date, role=event.role or actor_role,
        user=event.user or stamp.user, evidence=dict(event.evidence), id=event.id,
        recorded_at=event.recorded_at or stamp.now,
    )
    # The new status is the one the stored steps and this one lead to; the caller's must agree
    # (procedures.perform_step moves it so), or nothing is written.
    status = status_from([*_stored_events(conn, hh.id), recorded], initial_status(hh.fields))
    _check_status(hh, status, where)
    conn.execute(_EVENT_INSERT.replace("OR IGNORE ", ""), _event_parts(hh.id, recorded)[0])
    version = stored[0] + 1
    conn.execute("UPDATE households SET status = ?, version = ?, updated_at = ?, updated_by = ? WHERE id = ?",
                 (status, version, stamp.now, stamp.user, hh.id))
    audit.add("household.event", "household", hh.id, f"events[{recorded.id}]", None, recorded.to_dict())
    if status != stored[1]:
        audit.add("household.status", "household", hh.id, "status", stored[1], status)
    current = load_one(conn, hh.id)
    assert current is not None
    conn.execute(OUTBOX_INSERT, (stamp.device_id, "household", hh.id, version,
                                 dumps(current.to_dict()), stamp.now))
    return recorded


# ---------------------------------------------------------------------------------------------
# Bulk import


def import_many(conn: sqlite3.Connection, households: list[Household], stamp: Stamp, audit: AuditWriter,
                source: str) -> ImportResult:
    """Insert or replace many households inside the caller's transaction (one BulkImport batch)."""
    bulk = BulkImport(conn, stamp, audit, source, reserved=lambda: {hh.household_no.strip() for hh in households})
    bulk.write(households)
    return bulk.finish()


# Rows are written every this many households, so that a county's rows are never all in memory
# at once (they are about as big as the file they end up in).
_WRITE_EVERY = 2000


def _number_twice(no: str) -> BadInput:
    return BadInput(tr("导入数据中户编号 {no} 出现了两次", "household number {no} appears twice in the import", no=no),
                    where=no)


def _member_twice(member_id: str, hh: Household) -> BadInput:
    return BadInput(tr("导入数据中家庭成员 {id} 出现在两户中", "member {id} appears in two households in the import",
                       id=member_id), where=hh.household_no or hh.id)


class BulkImport:
    """Many households inserted or replaced, batch after batch, inside the caller's transaction.

    A replaced household keeps its procedure events (they are append-only) plus any new ones
    from the import. Versions never go backwards: a record keeps its own version when that is
    newer than the stored one, otherwise it gets the stored version + 1.

    Only what the checks across the whole import need stays between batches (the household ids
    seen; numbers and members parked), not households: a number or member id written by an earlier
    batch is found in the workspace itself. A household number or a member
    held here by a household the import has not reached yet is moved out of the way; `finish()`
    refuses the import when that household never came (the caller rolls the transaction back).
    `reserved()` is asked once, when a household without a number first needs one: the numbers
    the whole import claims, so that none is handed out before the household claiming it comes.
    """

    def __init__(self, conn: sqlite3.Connection, stamp: Stamp, audit: AuditWriter, source: str, *,
                 reserved: Callable[[], set[str]] | None = None, rewrite: bool = False) -> None:
        self.conn, self.stamp, self.audit, self.source = conn, stamp, audit, source
        self._rewrite = rewrite  # a household written by an earlier batch may come again (replaced)
        self._reserved_fn = reserved
        self._reserved: set[str] | None = None
        self._seen_ids: set[str] = set()
        self._parked_nos: dict[str, str] = {}  # household id -> its number, parked for another
        self._moved_members: dict[str, str] = {}  # member id -> the household here that held it
        self._sort_keys: dict[str, str] = {}
        self.rows = ImportRows()
        self.inserted = self.replaced = self.assigned = 0

    def write(self, households: Sequence[Household]) -> None:
        """Check one batch against the import so far and the workspace, then write it."""
        if not households:
            return
        households = [with_own_number(hh) for hh in households]
        conn = self.conn
        seen_ids = self._seen_ids
        batch_nos: dict[str, str] = {}
        batch_ids = set()
        batch_members: dict[str, str] = {}
        for hh in households:
            _check(hh)
            if hh.id in batch_ids or (hh.id in seen_ids and not self._rewrite):
                raise BadInput(tr("导入数据中同一户出现了两次", "the same household appears twice in the import"),
                               where=hh.household_no or hh.id)
            seen_ids.add(hh.id)
            batch_ids.add(hh.id)
            no = hh.household_no.strip()
            if no:
                if no in batch_nos:
                    raise _number_twice(no)
                batch_nos[no] = hh.id
            for m in hh.members:
                if m.id in batch_members:
                    raise _member_twice(m.id, hh)
                batch_members[m.id] = hh.id

        all_ids = [hh.id for hh in households]
        existing: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(all_ids):
            for hid, version, no in conn.execute(
                f"SELECT id, version, household_no FROM households WHERE id IN ({_marks(len(chunk))})", chunk
            ):
                existing[hid] = (version, self._parked_nos.pop(hid, no))

        # A number held here by a household outside this batch: the import may still bring that
        # household (then it is replaced); park its number meanwhile, and refuse at the end if not.
        park: list[str] = []
        for chunk in _chunks(list(batch_nos)):
            for no, hid in conn.execute(
                f"SELECT household_no, id FROM households WHERE household_no IN ({_marks(len(chunk))})", chunk
            ):
                if hid in seen_ids and hid not in batch_ids:  # written by an earlier batch of this import
                    raise _number_twice(no)
                if batch_nos[no] != hid:
                    park.append(hid)
                    if hid not in batch_ids:
                        self._parked_nos[hid] = no
        moved: list[tuple[int, str]] = []
        for chunk in _chunks(list(batch_members)):
            for rid, mid, hid, name in conn.execute(
                f"SELECT rid, id, household_id, name FROM members WHERE id IN ({_marks(len(chunk))})", chunk
            ):
                if hid not in batch_ids:
                    if hid in seen_ids:  # written by an earlier batch of this import
                        raise _member_twice(mid, next(h for h in households if h.id == batch_members[mid]))
                    self._moved_members[mid] = hid
                    moved.append((rid, name))
        if moved:
            search.delete_terms(conn, moved)
            conn.executemany("DELETE FROM members WHERE rid = ?", [(rid,) for rid, _ in moved])

        old_events: dict[str, list[str]] = {}
        old_event_ids: set[str] = set()
        if existing:
            ex_ids = list(existing)
            stale: list[tuple[int, str]] = []
            for chunk in _chunks(ex_ids):
                marks = _marks(len(chunk))
                stale += conn.execute(f"SELECT rid, name FROM members WHERE household_id IN ({marks})", chunk).fetchall()
                for row in conn.execute(
                    "SELECT household_id, id, procedure, step, date, role, user, evidence, recorded_at FROM events "
                    f"WHERE household_id IN ({marks}) ORDER BY household_id, rid", chunk
                ):
                    old_events.setdefault(row[0], []).append(_event_json(_event(row[1:])))
                    old_event_ids.add(row[1])
            search.delete_terms(conn, stale)
            for chunk in _chunks(ex_ids):
                marks = _marks(len(chunk))
                conn.execute(f"DELETE FROM members WHERE household_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM years WHERE household_id IN ({marks})", chunk)
        # Two households of the import may swap numbers: park the old numbers out of the way.
        conn.executemany("UPDATE households SET household_no = '~' || id WHERE id = ?", [(h,) for h in park])

        # Numbers for records that have none, per village, from this device's counters.
        need: dict[str, int] = {}
        for hh in households:
            if not hh.household_no.strip() and hh.id not in existing:
                need[hh.village_code] = need.get(hh.village_code, 0) + 1
        fresh: dict[str, Iterator[str]] = {}
        if need:
            if self._reserved is None:
                self._reserved = set(self._reserved_fn()) if self._reserved_fn is not None else set()
            reserved = self._reserved | batch_nos.keys()  # (numbers written so far are taken)
            fresh = {v: iter(next_numbers(conn, v, self.stamp.device_prefix, n, reserved=reserved))
                     for v, n in need.items()}
        self._encode(households, existing, fresh, old_events, old_event_ids)

    def _encode(self, households: Sequence[Household], existing: dict[str, tuple[int, str]],
                fresh: dict[str, Iterator[str]], old_events: dict[str, list[str]], old_event_ids: set[str]) -> None:
        conn, stamp, audit, source = self.conn, self.stamp, self.audit, self.source
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'members'").fetchone()
        rid = row[0] if row else 0
        rows = self.rows
        hh_rows, member_rows, term_rows = rows.households, rows.members, rows.terms
        year_rows, event_rows, outbox_rows = rows.years, rows.events, rows.outbox
        terms_of = search.name_terms
        enc, join, es = encoder, "".join, _encode_str
        device_id, now = stamp.device_id, stamp.now
        add_audit = audit.add_encoded
        source_json = es(source) if type(source) is str else None
        sort_keys = self._sort_keys
        upsert = bool(existing)
        for hh in households:
            prev = existing.get(hh.id)
            no = hh.household_no.strip()
            if not no:
                if prev:
                    no = prev[1]
                else:
                    no = next(fresh[hh.village_code])
                    self.assigned += 1
            if prev:
                version = hh.version if hh.version > prev[0] else prev[0] + 1
                self.replaced += 1
            else:
                version = max(hh.version, 1)
                self.inserted += 1
            form_v = hh.form_version or stamp.form_version
            rule_v = hh.rule_version or stamp.rule_version
            at = hh.updated_at or stamp.now
            by = hh.updated_by or stamp.user
            village = hh.village_code
            hid = hh.id
            members = hh.members
            # Encoded straight through the C encoder, with no labels built: when something cannot
            # be encoded, the household is gone through again the labelled way for the usual error.
            try:
                fields_json = join(enc(hh.fields, 0))
                helpers_json = join(enc(hh.helpers, 0))
                hh_rows.append(_hh_tuple(hh, no, fields_json, helpers_json, version, form_v, rule_v, at, by,
                                         sort_keys))
                member_parts = []
                for pos, m in enumerate(members):
                    rid += 1
                    mj = join(enc(m.fields, 0))
                    mid = m.id
                    member_parts.append(f'{{"id":{es(mid) if type(mid) is str else join(enc(mid, 0))},"fields":{mj}}}')
                    name, id_number, birth, sex, relation = _member_values(m)
                    member_rows.append((rid, mid, hid, pos, village, name, id_number, id_number[::-1], birth, sex,
                                        relation, mj))
                    term_rows += [(kind, term, rid, village) for kind, term in terms_of(name)]
                years_json = []
                years = hh.years
                for y in sorted(years):
                    rec = years[y]
                    income, measures = join(enc(rec.income, 0)), join(enc(rec.measures, 0))
                    year_rows.append((hid, y, income, measures))
                    years_json.append(f'{{"year":{int(y)},"income":{income},"measures":{measures}}}')
                events_json = list(old_events.get(hid, ())) if old_events else []
                for e in hh.events:
                    eid = e.id
                    if eid in old_event_ids:
                        continue
                    evidence = join(enc(e.evidence, 0))
                    procedure, step, day, role, user, recorded_at = (e.procedure, e.step, e.date, e.role, e.user,
                                                                     e.recorded_at)
                    event_rows.append((eid, hid, procedure, step, day, role, user, evidence, recorded_at))
                    if (type(eid) is str and type(procedure) is str and type(step) is str and type(day) is str
                            and type(role) is str and type(user) is str and type(recorded_at) is str):
                        events_json.append(
                            f'{{"id":{es(eid)},"procedure":{es(procedure)},"step":{es(step)},"date":{es(day)},'
                            f'"role":{es(role)},"user":{es(user)},"evidence":{evidence},"recorded_at":{es(recorded_at)}}}')
                    else:
                        events_json.append(_event_parts(hid, e)[1])
                head = join(enc({"id": hid, "household_no": no, "village_code": village, "status": hh.status,
                                 "form_version": form_v, "rule_version": rule_v, "version": version,
                                 "updated_at": at, "updated_by": by}, 0))
            except (TypeError, ValueError, RecursionError) as exc:
                _encode_labelled(hh, no, version, form_v, rule_v, at, by, old_event_ids)
                raise BadInput(tr("{what}含有无法保存的值：{err}", "{what} holds a value that cannot be stored: {err}",
                                  what="record", err=exc)) from exc
            payload = (f'{head[:-1]},"fields":{fields_json},"members":[{",".join(member_parts)}],'
                       f'"years":[{",".join(years_json)}],"helpers":{helpers_json},"events":[{",".join(events_json)}]}}')
            outbox_rows.append((device_id, "household", hid, version, payload, now))
            if prev is None:
                old_audit = None
            elif type(prev[0]) is int and type(prev[1]) is str:
                old_audit = f'{{"household_no":{es(prev[1])},"version":{int.__repr__(prev[0])}}}'
            else:
                old_audit = canonical({"version": prev[0], "household_no": prev[1]})
            if source_json is not None and type(version) is int and type(no) is str:
                new_audit = (f'{{"household_no":{es(no)},"members":{len(members)},"source":{source_json},'
                             f'"version":{int.__repr__(version)}}}')
            else:
                new_audit = canonical({"source": source, "version": version, "household_no": no,
                                       "members": len(members)})
            add_audit("household.import", "household", hid, None, old_audit, new_audit)
            if len(hh_rows) >= _WRITE_EVERY:
                rows.write(conn, upsert=upsert)
        rows.write(conn, upsert=upsert)
        audit.flush()

    def finish(self) -> ImportResult:
        """After the last batch: refuse what was moved aside for a household that never came."""
        for hid, no in self._parked_nos.items():
            if hid not in self._seen_ids:
                raise BadInput(tr("户编号 {no} 已被工作区中另一户使用", "household number {no} is already used by "
                                  "another household in the workspace", no=no), where=no)
        for mid, hid in self._moved_members.items():
            if hid not in self._seen_ids:
                raise BadInput(tr("家庭成员 {id} 已登记在工作区中另一户", "member {id} is registered in another "
                                  "household in the workspace", id=mid), where=mid)
        self.audit.flush()
        return ImportResult(self.inserted, self.replaced, self.assigned, self.rows.outbox_first,
                            self.rows.outbox_last)


def _encode_labelled(hh: Household, no: str, version: int, form_v: str, rule_v: str, at: str, by: str,
                     old_event_ids: set[str]) -> None:
    """The encodings of one imported household in import order, labelled: raises the BadInput
    that names what cannot be stored (the import's fast path found that something cannot)."""
    fields_json = dumps(hh.fields, what="fields")
    helpers_json = dumps(hh.helpers, what="helpers")
    _hh_tuple(hh, no, fields_json, helpers_json, version, form_v, rule_v, at, by)
    member_jsons = []
    for m in hh.members:
        member_jsons.append(dumps(m.fields, what=f"member {m.id}"))
        for _term in search.name_terms(_member_values(m)[0]):
            pass
    for y in sorted(hh.years):
        rec = hh.years[y]
        dumps(rec.income, what=f"year {y}")
        dumps(rec.measures, what=f"year {y}")
        int(y)
    for e in hh.events:
        if e.id not in old_event_ids:
            _event_parts(hh.id, e)
    _payload(hh, no, version, form_v, rule_v, at, by, fields_json, member_jsons, [], helpers_json, [])


@dataclass
class ImportRows:
    """The rows of a bulk import built since the last write(); the outbox range written so far."""

    households: list[tuple[Any, ...]] = field(default_factory=list)
    members: list[tuple[Any, ...]] = field(default_factory=list)
    terms: list[tuple[int, str, int, str]] = field(default_factory=list)
    years: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    outbox: list[tuple[Any, ...]] = field(default_factory=list)
    outbox_first: int = 0
    outbox_last: int = 0

    def write(self, conn: sqlite3.Connection, *, upsert: bool) -> None:
        """Write the rows built so far and let them go (the lists are emptied in place)."""
        if not self.households:
            return
        conn.executemany(_HH_UPSERT if upsert else _HH_INSERT, self.households)
        conn.executemany(_MEMBER_INSERT, self.members)
        # Not sorted first: measured on a county, sorting in Python cost as much as it saved.
        conn.executemany(_TERM_INSERT, self.terms)
        conn.executemany(_YEAR_INSERT, self.years)
        conn.executemany(_EVENT_INSERT, self.events)
        if self.outbox:
            first = conn.execute("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)"
                                 ).fetchone()[0]
            conn.executemany(OUTBOX_INSERT, self.outbox)
            self.outbox_first = self.outbox_first or first + 1
            self.outbox_last = first + len(self.outbox)
        for rows in (self.households, self.members, self.terms, self.years, self.events, self.outbox):
            del rows[:]
