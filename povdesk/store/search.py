"""Search while typing: names (prefix and any substring), pinyin initials, ID numbers, household numbers.

FTS5 is not used: its trigram tokenizer finds nothing for 1-2 character patterns and unicode61
matches only prefixes of whole CJK runs, while most given names are two characters. Instead
every member has a few rows in `search_terms`, each searched as an index prefix range:

- kind NAME: the full name (prefix match: surname first);
- kind SUFFIX: every proper suffix of the name, so any substring is a prefix of some suffix
  ("小明" finds 王小明, "明" finds it too); a 3-character name costs 2 rows;
- kind INITIALS: pinyin initials with every reading of polyphonic characters (曾 → z/c,
  单 → d/s/c), so 曾小明 is found by "zxm" and "cxm";
- kind PINYIN: full pinyin of every surname reading with the given name's usual reading.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice, product
from pathlib import Path
from typing import Any

from povdesk.store.codec import prefix_range

# The household list's status filter value for voided households (core.model.VOIDED_FIELD): every
# other filter, and no filter, leaves them out, so lists, search, counts, the dashboard, reports and
# checks skip them (store.households._filters).
VOIDED = "voided"

NAME, SUFFIX, INITIALS, PINYIN = 1, 2, 3, 4
# The search plan's ways of matching a name (_household_plan) and the kind of term each looks up.
_TERM_KINDS = {"name": NAME, "name_substring": SUFFIX, "initials": INITIALS, "pinyin": PINYIN}
# A hit's member and household read from their narrow indexes (migration 5), not from their rows of
# JSON; the planner would take the rowid and the id's own index, which lead to the rows. Joined to
# the hits with CROSS JOIN, so the hits stay the outer loop (else the whole index may be scanned).
_MEMBER_HIT = "INDEXED BY idx_members_hit"
_HOUSEHOLD_HIT = "INDEXED BY idx_households_hit"
# Bump when the terms generated for a name change; a workspace with an older version has its
# search index rebuilt when opened for writing. pypinyin's version is part of it because its
# readings decide the INITIALS/PINYIN terms.
def _pypinyin_version() -> str:
    # From the name of its dist-info folder beside it: importlib.metadata (and the email package it
    # loads) cost a tenth of a second of the app's start before the login dialog shows.
    from importlib.util import find_spec

    spec = find_spec("pypinyin")
    if spec is not None and spec.origin:
        found = sorted(Path(spec.origin).parent.parent.glob("pypinyin-*.dist-info"))
        if len(found) == 1:
            return found[0].name.removeprefix("pypinyin-").removesuffix(".dist-info")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pypinyin")
    except PackageNotFoundError:  # a frozen build without the package metadata
        import pypinyin

        return str(pypinyin.__version__)


SEARCH_VERSION = f"1;pypinyin {_pypinyin_version()}"

_MAX_SUFFIXES = 20
_MAX_INITIALS = 8
_MAX_PINYIN = 4

_CJK = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
)
_ID_QUERY = re.compile(r"\d{1,17}[0-9X]?")


@dataclass(frozen=True)
class SearchHit:
    household_id: str
    household_no: str
    village_code: str
    member_id: str | None
    name: str
    id_number: str
    relation: str | None
    matched_on: str  # "name" | "id_number" | "household_no" | "initials"


@lru_cache(maxsize=50_000)
def readings(ch: str) -> tuple[str, ...]:
    """Toneless pinyin readings of one character, the usual one first ('' parts skipped)."""
    if ch.isascii():
        return (ch.lower(),) if ch.isalnum() else ()
    if not _CJK.match(ch):
        return ()
    # Imported here: loading pypinyin's dictionaries costs about 0.2 s, which opening a
    # workspace (the app's cold start) should not pay before the first Chinese search.
    import pypinyin

    found = pypinyin.pinyin(ch, style=pypinyin.Style.NORMAL, heteronym=True, errors="ignore")
    if not found:
        return ()
    return tuple(dict.fromkeys(r for r in found[0] if r.isascii() and r.isalpha()))


def sort_key(name: str) -> str:
    """Pinyin of the usual readings, so lists sort the way people expect (张 near zh, not by code point)."""
    parts = [r[0] if (r := readings(ch)) else ch for ch in name]
    return " ".join(parts)


@lru_cache(maxsize=100_000)
def name_terms(name: str) -> tuple[tuple[int, str], ...]:
    """The (kind, term) rows that make a member findable; deterministic for a given name.

    Cached: in a county many people share a name, and an import computes this 400,000 times.
    """
    name = name.strip()
    if not name:
        return ()
    terms: dict[tuple[int, str], None] = {(NAME, name): None}
    for i in range(1, min(len(name), _MAX_SUFFIXES + 1)):
        suffix = name[i:].lstrip(" ·•.")
        if suffix:
            terms[(SUFFIX, suffix)] = None
    per_char = [r for ch in name if (r := readings(ch))]
    if per_char:
        # Every reading of every character for initials (cheap: initials collapse most
        # alternatives), capped so a name of many polyphonic characters cannot explode.
        initials_per_char = [tuple(dict.fromkeys(r[0] for r in rs)) for rs in per_char]
        for combo in islice(product(*initials_per_char), _MAX_INITIALS):
            terms[(INITIALS, "".join(combo))] = None
        # Full pinyin: each surname reading with the usual reading of the rest.
        rest = "".join(rs[0] for rs in per_char[1:])
        for first in per_char[0][:_MAX_PINYIN]:
            terms[(PINYIN, first + rest)] = None
    return tuple(terms)


def classify(query: str) -> list[tuple[str, str]]:
    """The searches a query stands for, best first: (how, normalized text)."""
    q = query.strip()
    if not q:
        return []
    upper = q.upper()
    if _ID_QUERY.fullmatch(upper):
        plan = []
        if not upper.endswith("X") or len(upper) == 18:
            plan.append(("id_prefix", upper))
        if 4 <= len(upper) <= 6:
            plan.append(("id_suffix", upper))
        if upper.isdigit():
            plan.append(("household_no", upper))
        return plan
    if _CJK.search(q):
        if re.search(r"[A-Za-z]", q):
            # Half-typed with a pinyin IME ("张s"): the Chinese part as initials, then the letters.
            letters = "".join(r[0][0] if (r := readings(ch)) else "" for ch in q if not ch.isspace())
            return [("initials", letters)]
        return [("name", q), ("name_substring", q)]
    if re.fullmatch(r"[A-Za-z]+", q):
        return [("initials", q.lower()), ("pinyin", q.lower()), ("household_no", upper)]
    return [("household_no", q), ("household_no", upper)] if q != upper else [("household_no", q)]


def _village_filter(village_prefix: str | None, column: str) -> tuple[str, tuple[str, ...]]:
    if not village_prefix:
        return "", ()
    lo, hi = prefix_range(village_prefix)
    return f" AND {column} >= ? AND {column} < ?", (lo, hi)


def _term_rids(conn: sqlite3.Connection, kind: int, text: str, village_prefix: str | None,
               limit: int) -> list[int]:
    lo, hi = prefix_range(text)
    vsql, vargs = _village_filter(village_prefix, "village")
    rows = conn.execute(
        f"SELECT rid FROM search_terms WHERE kind = ? AND term >= ? AND term < ?{vsql} "
        "ORDER BY term, rid LIMIT ?",
        (kind, lo, hi, *vargs, limit),
    )
    return [r[0] for r in rows]


def _id_rids(conn: sqlite3.Connection, column: str, text: str, village_prefix: str | None,
             limit: int) -> list[int]:
    lo, hi = prefix_range(text)
    vsql, vargs = _village_filter(village_prefix, "village_code")
    rows = conn.execute(
        f"SELECT rid FROM members INDEXED BY idx_members_{column}_village_code "
        f"WHERE {column} >= ? AND {column} < ?{vsql} ORDER BY {column} LIMIT ?",
        (lo, hi, *vargs, limit),
    )
    return [r[0] for r in rows]


def _member_hits(conn: sqlite3.Connection, rids: Iterable[int], matched_on: str) -> list[SearchHit]:
    rid_list = list(rids)
    if not rid_list:
        return []
    rows = conn.execute(
        "SELECT m.rid, m.id, m.name, m.id_number, m.relation, h.id, h.household_no, h.village_code "
        f"FROM members m {_MEMBER_HIT} CROSS JOIN households h {_HOUSEHOLD_HIT} ON h.id = m.household_id "
        f"WHERE m.rid IN ({','.join('?' * len(rid_list))})",
        rid_list,
    ).fetchall()
    by_rid = {r[0]: r for r in rows}
    hits = []
    for rid in rid_list:
        r = by_rid.get(rid)
        if r is not None:  # a stale row can only point at a deleted member, never a wrong one
            hits.append(SearchHit(r[5], r[6], r[7], r[1], r[2], r[3], r[4], matched_on))
    return hits


def _household_hits(conn: sqlite3.Connection, text: str, village_prefix: str | None,
                    limit: int) -> list[SearchHit]:
    lo, hi = prefix_range(text)
    vsql, vargs = _village_filter(village_prefix, "village_code")
    households = conn.execute(
        "SELECT id, household_no, village_code FROM households INDEXED BY idx_households_household_no "
        f"WHERE household_no >= ? AND household_no < ?{vsql} ORDER BY household_no LIMIT ?",
        (lo, hi, *vargs, limit),
    ).fetchall()
    if not households:
        return []
    ids = [h[0] for h in households]
    heads: dict[str, tuple[str, str, str, str | None]] = {}
    # The head stands for the household; failing that, the first member.
    for hid, mid, name, id_number, relation in conn.execute(
        "SELECT household_id, id, name, id_number, relation FROM members "
        f"WHERE household_id IN ({','.join('?' * len(ids))}) "
        "ORDER BY household_id, relation IS NOT '01', position",
        ids,
    ):
        heads.setdefault(hid, (mid, name, id_number, relation))
    hits = []
    for hid, no, village in households:
        mid, name, id_number, relation = heads.get(hid, (None, "", "", None))
        hits.append(SearchHit(hid, no, village, mid, name, id_number, relation, "household_no"))
    return hits


def search(conn: sqlite3.Connection, query: str, limit: int, village_prefix: str | None) -> list[SearchHit]:
    hits: list[SearchHit] = []
    seen: set[tuple[str, str | None]] = set()
    for how, text in classify(query):
        if len(hits) >= limit or not text:
            break
        want = limit - len(hits)
        # Over-fetch a little: a member can match through several terms (王小小 has 小小 and 小).
        if how == "name":
            found = _member_hits(conn, _term_rids(conn, NAME, text, village_prefix, want), "name")
        elif how == "name_substring":
            found = _member_hits(conn, _term_rids(conn, SUFFIX, text, village_prefix, want * 2), "name")
        elif how == "initials":
            found = _member_hits(conn, _term_rids(conn, INITIALS, text, village_prefix, want * 2), "initials")
        elif how == "pinyin":
            found = _member_hits(conn, _term_rids(conn, PINYIN, text, village_prefix, want * 2), "initials")
        elif how == "id_prefix":
            found = _member_hits(conn, _id_rids(conn, "id_number", text, village_prefix, want), "id_number")
        elif how == "id_suffix":
            found = _member_hits(conn, _id_rids(conn, "id_reversed", text[::-1], village_prefix, want),
                                 "id_number")
        else:
            found = _household_hits(conn, text, village_prefix, want)
        for hit in found:
            key = (hit.household_id, hit.member_id)
            if key not in seen:
                seen.add(key)
                hits.append(hit)
    return hits[:limit]


def terms_rows(rid: int, name: str, village: str) -> list[tuple[int, str, int, str]]:
    return [(kind, term, rid, village) for kind, term in name_terms(name)]


def delete_terms(conn: sqlite3.Connection, members: Iterable[tuple[int, str]]) -> None:
    """Delete by exact key, recomputed from the stored name: no index on rid is needed."""
    conn.executemany(
        "DELETE FROM search_terms WHERE kind = ? AND term = ? AND rid = ?",
        [(kind, term, rid) for rid, name in members for kind, term in name_terms(name)],
    )


def rebuild(conn: sqlite3.Connection) -> int:
    """Recreate every search row (after SEARCH_VERSION changed); inside the caller's transaction."""
    conn.execute("DELETE FROM search_terms")
    count = 0
    cur = conn.execute("SELECT rid, name, village_code FROM members ORDER BY rid")
    while rows := cur.fetchmany(5000):
        batch = [t for rid, name, village in rows for t in terms_rows(rid, name, village)]
        conn.executemany("INSERT OR IGNORE INTO search_terms (kind, term, rid, village) VALUES (?,?,?,?)", batch)
        count += len(rows)
    return count


# ---------------------------------------------------------------------------------------------
# Search results as household-list rows: the same filters, counted, paged by household number.

# A household number is searched anywhere in it ("0012" finds 522634100201-K3F7-0012) from this
# many characters on; shorter text would match most of the register, so it matches from the start.
HOUSEHOLD_NO_SUBSTRING_MIN = 3


def _household_plan(query: str) -> list[tuple[str, str]]:
    plan = classify(query)
    if any(how == "household_no" for how, _ in plan):
        return plan
    q = query.strip()
    # "K3F7-0012", "-0012": a piece of a household number that classify() reads as no number.
    if len(q) >= HOUSEHOLD_NO_SUBSTRING_MIN and re.fullmatch(r"[0-9A-Za-z-]+", q):
        plan.append(("household_no", q.upper()))
    return plan


def _instr(column: str, text: str) -> str:
    """SQL: the household number in `column` holds `text` (given upper-cased) anywhere; digits and
    dashes need no upper() of every number (a tenth of the scan)."""
    return f"instr({column}, ?) > 0" if text == text.lower() else f"instr(upper({column}), ?) > 0"


def _hit_selects(query: str, village_prefix: str | None) -> tuple[list[str], list[object]]:
    """SELECT household_id, member name for each way the query matches."""
    selects: list[str] = []
    args: list[object] = []
    for how, text in _household_plan(query):
        if not text:
            continue
        lo, hi = prefix_range(text)
        if how in _TERM_KINDS:
            vsql, vargs = _village_filter(village_prefix, "t.village")
            selects.append(f"SELECT m.household_id, m.name FROM search_terms t JOIN members m {_MEMBER_HIT} "
                           f"ON m.rid = t.rid WHERE t.kind = ? AND t.term >= ? AND t.term < ?{vsql}")
            args += [_TERM_KINDS[how], lo, hi, *vargs]
        elif how in ("id_prefix", "id_suffix"):
            column = "id_number" if how == "id_prefix" else "id_reversed"
            if how == "id_suffix":
                lo, hi = prefix_range(text[::-1])
            vsql, vargs = _village_filter(village_prefix, "village_code")
            selects.append(f"SELECT household_id, name FROM members INDEXED BY idx_members_{column}_village_code "
                           f"WHERE {column} >= ? AND {column} < ?{vsql}")
            args += [lo, hi, *vargs]
        else:
            vsql, vargs = _village_filter(village_prefix, "village_code")
            # The narrow index of the hits scanned (id, number and village in each entry), never
            # the table, which is the households' whole JSON: typing an ID number's first digits
            # matches every household number too ("5226…"), and each such hit read from the number's
            # own index would then read its row for the id.
            if len(text) >= HOUSEHOLD_NO_SUBSTRING_MIN:
                match, margs = _instr("household_no", text), [text.upper()]
            else:
                match, margs = "household_no >= ? AND household_no < ?", [lo, hi]
            selects.append(f"SELECT id, NULL FROM households {_HOUSEHOLD_HIT} WHERE {match}{vsql}")
            args += [*margs, *vargs]
    return selects, args


# The few voided households, from their index (voided, village_code): a search's hits are told
# apart by id against it, instead of computing the virtual column of every hit from its fields
# (a whole JSON read per row: half the time of a broad search at county size).
_VOIDED_IDS = "(SELECT id FROM households INDEXED BY idx_households_voided WHERE voided = 1)"


def _row_filters(status: str | None, attribute: str | None, main_cause: str | None,
                 voided: str | None = None) -> tuple[str, list[object]]:
    """`voided`: the column to test (a count over households may use its index), else the hits'
    ids are looked up among the voided ones."""
    # Voided households are found only under the voided filter, as in the list (store.households).
    if voided is not None:
        sql = f" AND {voided} = {1 if status == VOIDED else 0}"
    else:
        sql = f" AND h.id {'IN' if status == VOIDED else 'NOT IN'} {_VOIDED_IDS}"
    args = list[object]()
    if status == VOIDED:
        status = None
    for column, value in (("status", status), ("attribute", attribute), ("main_cause", main_cause)):
        if value is not None:
            sql += f" AND h.{column} = ?"
            args.append(value)
    return sql, args


# The first page of a broad query ("l" or "226" in a county hit most of it) is read by walking the
# households in number order, each tested against the query, until the page is full, instead of
# gathering and sorting every hit (a second at county size before the first row could be painted).
# Which is cheaper follows from the hits, counted from the indexes alone: gathering costs about
# SORT_US per hit; the walk costs WALK_US per household it passes (MEMBER_WALK_US when the members'
# names must be tested) and passes about page * households / hits of them. Both ways timed on a
# county of 30,000 households for 16 queries (a letter, a surname, pinyin, ID digits): gathering
# 3.4 to 7 us a hit since a hit is read from the narrow indexes (it was about 20 from the rows), the
# walk 51 to 60 us a household passed when names are tested.
SORT_US, WALK_US, MEMBER_WALK_US = 5.0, 0.5, 55.0


def _dense_threshold(conn: sqlite3.Connection, query: str, limit: int) -> int:
    """The number of hits from which walking the households beats sorting the hits."""
    households = int(conn.execute("SELECT ifnull(max(rowid), 0) FROM households").fetchone()[0])
    members = any(how != "household_no" for how, _ in _household_plan(query))
    walk = MEMBER_WALK_US if members else WALK_US
    return max(limit, int((limit * households * walk / SORT_US) ** 0.5))


_HIT_COLUMNS = "h.id, h.household_no, h.village_code, h.head_name, h.status, h.attribute, h.main_cause, h.member_count"


def _terms_match(name: str, kind: int, lo: str, hi: str) -> int:
    """Whether a member of this name has a search term of this kind in [lo, hi) (what the index finds)."""
    return int(any(k == kind and lo <= t < hi for k, t in name_terms(name)))


def _hit_estimate(conn: sqlite3.Connection, query: str, village_prefix: str | None, cap: int) -> int:
    """How many hits the query has, up to `cap`, from the indexes only (no member or household row read)."""
    total = 0
    for how, text in _household_plan(query):
        if not text or total >= cap:
            continue
        lo, hi = prefix_range(text[::-1] if how == "id_suffix" else text)
        if how in _TERM_KINDS:
            vsql, vargs = _village_filter(village_prefix, "village")
            sql = f"SELECT 1 FROM search_terms WHERE kind = ? AND term >= ? AND term < ?{vsql}"
            args: list[object] = [_TERM_KINDS[how], lo, hi, *vargs]
        elif how in ("id_prefix", "id_suffix"):
            column = "id_number" if how == "id_prefix" else "id_reversed"
            vsql, vargs = _village_filter(village_prefix, "village_code")
            sql = (f"SELECT 1 FROM members INDEXED BY idx_members_{column}_village_code "
                   f"WHERE {column} >= ? AND {column} < ?{vsql}")
            args = [lo, hi, *vargs]
        elif len(text) >= HOUSEHOLD_NO_SUBSTRING_MIN:
            sql = f"SELECT 1 FROM households INDEXED BY idx_households_household_no WHERE {_instr('household_no', text)}"
            args = [text.upper()]
        else:
            sql = ("SELECT 1 FROM households INDEXED BY idx_households_household_no "
                   "WHERE household_no >= ? AND household_no < ?")
            args = [lo, hi]
        total += int(conn.execute(f"SELECT count(*) FROM ({sql} LIMIT ?)", [*args, cap - total]).fetchone()[0])
    return total


def _dense_rows(conn: sqlite3.Connection, query: str, village_prefix: str | None, fsql: str, fargs: list[object],
                limit: int) -> list[tuple[Any, ...]]:
    """search_rows by walking the households in number order, each tested against the query (its
    members' names through the same terms the index holds), stopping when the page is full."""
    conn.create_function("povdesk_terms_match", 4, _terms_match, deterministic=True)
    member: list[str] = []
    margs: list[object] = []
    own: list[str] = []
    oargs: list[object] = []
    for how, text in _household_plan(query):
        if not text:
            continue
        lo, hi = prefix_range(text[::-1] if how == "id_suffix" else text)
        if how in _TERM_KINDS:
            member.append("povdesk_terms_match(m.name, ?, ?, ?)")
            margs += [_TERM_KINDS[how], lo, hi]
        elif how in ("id_prefix", "id_suffix"):
            column = "id_number" if how == "id_prefix" else "id_reversed"
            member.append(f"(m.{column} >= ? AND m.{column} < ?)")
            margs += [lo, hi]
        elif len(text) >= HOUSEHOLD_NO_SUBSTRING_MIN:
            own.append(_instr("h.household_no", text))
            oargs.append(text.upper())
        else:
            own.append("(h.household_no >= ? AND h.household_no < ?)")
            oargs += [lo, hi]
    if member:
        found = (f"(SELECT min(m.name) FROM members m WHERE m.household_id = h.id AND ({' OR '.join(member)}))")
        own.append(f"EXISTS (SELECT 1 FROM members m WHERE m.household_id = h.id AND ({' OR '.join(member)}))")
        found_args, own_args = margs, [*oargs, *margs]
    else:
        found, found_args, own_args = "NULL", [], oargs
    vsql, vargs = _village_filter(village_prefix, "h.village_code")
    # Without a village the number's index gives the order; within one, its own index (a few
    # thousand households at most) and a sort.
    indexed = "" if village_prefix else " INDEXED BY idx_households_household_no"
    sql = (f"SELECT {_HIT_COLUMNS}, {found} FROM households h{indexed} "
           f"WHERE ({' OR '.join(own)}){vsql}{fsql} ORDER BY h.household_no LIMIT ?")
    return [tuple(r) for r in conn.execute(sql, [*found_args, *own_args, *vargs, *fargs, limit])]


def search_rows(conn: sqlite3.Connection, query: str, *, village_prefix: str | None = None,
                status: str | None = None, attribute: str | None = None, main_cause: str | None = None,
                after: str | None = None, limit: int = 200) -> list[tuple[Any, ...]]:
    """One page of the households the query finds, in household-number order, under the list's
    filters: (id, household_no, village_code, head_name, status, attribute, main_cause, member_count,
    the name of a member found, or None when the household number matched)."""
    selects, args = _hit_selects(query, village_prefix)
    if not selects:
        return []
    fsql, fargs = _row_filters(status, attribute, main_cause)
    dense = _dense_threshold(conn, query, limit)
    if _hit_estimate(conn, query, village_prefix, dense) >= dense:
        if after is not None:
            fsql += " AND h.household_no > ?"
            fargs.append(after)
        return _dense_rows(conn, query, village_prefix, fsql, fargs, limit)
    page = ""
    if after is not None:
        page = " AND h.household_no > ?"
        fargs.append(after)
    sql = (f"WITH hits(hid, found) AS ({' UNION ALL '.join(selects)}) "
           f"SELECT {_HIT_COLUMNS}, min(hits.found) FROM hits CROSS JOIN households h {_HOUSEHOLD_HIT} ON h.id = hits.hid "
           f"WHERE 1{fsql}{page} GROUP BY h.id ORDER BY h.household_no LIMIT ?")
    return [tuple(r) for r in conn.execute(sql, [*args, *fargs, limit])]


def search_count(conn: sqlite3.Connection, query: str, *, village_prefix: str | None = None,
                 status: str | None = None, attribute: str | None = None, main_cause: str | None = None) -> int:
    """How many households search_rows would list over all its pages; with no query, how many the
    household list holds under these filters."""
    if not query.strip():
        fsql, fargs = _row_filters(status, attribute, main_cause, "h.voided")  # a count may use its index
        vsql, vargs = _village_filter(village_prefix, "h.village_code")
        return int(conn.execute(f"SELECT count(*) FROM households h WHERE 1{vsql}{fsql}",
                                [*vargs, *fargs]).fetchone()[0])
    fsql, fargs = _row_filters(status, attribute, main_cause)
    selects, args = _hit_selects(query, village_prefix)
    if not selects:
        return 0
    sql = (f"WITH hits(hid, found) AS ({' UNION ALL '.join(selects)}) "
           f"SELECT count(DISTINCT h.id) FROM hits CROSS JOIN households h {_HOUSEHOLD_HIT} ON h.id = hits.hid WHERE 1{fsql}")
    return int(conn.execute(sql, [*args, *fargs]).fetchone()[0])


class Interrupt:
    """Stops a search or count running on another thread's connection (sqlite3's interrupt(), no
    callback into the interpreter while it runs): the list's count of a search typed on from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.is_set = False

    def __call__(self) -> None:
        with self._lock:
            self.is_set = True
            if self._conn is not None:
                self._conn.interrupt()

    @contextmanager
    def watching(self, conn: sqlite3.Connection) -> Iterator[None]:
        """While the block runs on `conn`, interrupting stops it with InterruptedError."""
        with self._lock:
            if self.is_set:
                raise InterruptedError("the search was typed on")
            self._conn = conn
        try:
            yield
        except sqlite3.OperationalError:
            if self.is_set:
                raise InterruptedError("the search was typed on") from None
            raise
        finally:
            with self._lock:
                self._conn = None
