"""Search while typing: name substrings, surnames, ID prefixes and suffixes, numbers, pinyin initials."""

from __future__ import annotations

import re

import pytest

from povdesk.store import User, Workspace
from povdesk.store.search import name_terms

from .factories import OTHER_VILLAGE, VILLAGE, household


@pytest.fixture
def people(ws: Workspace, worker: User) -> Workspace:
    ws.import_households([
        household(VILLAGE, "张三", "李小明", ids=("430105199001011234", "43010520100202567X")),
        household(VILLAGE, "曾国强", "王小红", ids=("430105198503034321",)),
        household(OTHER_VILLAGE, "单田芳", "张小明", ids=("430105197012125678", "430105200001019999")),
        household(OTHER_VILLAGE, "阿卜杜·热合曼"),
    ], worker, source="t")
    return ws


def names(hits: list) -> list[str]:
    return [h.name for h in hits]


def test_two_character_substring(people: Workspace) -> None:
    hits = people.search("小明")
    assert sorted(names(hits)) == ["张小明", "李小明"]
    assert {h.matched_on for h in hits} == {"name"}


def test_one_character_surname_first(people: Workspace) -> None:
    hits = people.search("张")
    assert names(hits)[:2] == ["张三", "张小明"]  # surname (prefix) matches before substrings
    assert "小" not in names(hits)
    assert sorted(names(people.search("小"))) == ["张小明", "李小明", "王小红"]
    assert names(people.search("热合曼")) == ["阿卜杜·热合曼"]


def test_id_number_prefix_and_last_digits(people: Workspace) -> None:
    assert names(people.search("4301052010")) == ["李小明"]
    assert people.search("4301052010")[0].matched_on == "id_number"
    assert names(people.search("1234")) == ["张三"]  # the last four digits
    assert names(people.search("67x")) == []  # too short for the end of an ID
    assert names(people.search("567X")) == ["李小明"]
    assert names(people.search("430105198503034321")) == ["曾国强"]
    hit = people.search("430105198503034321")[0]
    assert hit.relation == "01" and hit.household_no.startswith(VILLAGE)


def test_household_number(people: Workspace) -> None:
    no = people.list_households(None, 1, village_prefix=OTHER_VILLAGE)[0].household_no
    hits = people.search(no)
    assert hits[0].household_no == no and hits[0].matched_on == "household_no"
    assert hits[0].relation == "01"  # the head stands for the household
    prefix_hits = people.search(no[:15].lower())
    assert {h.household_no for h in prefix_hits} >= {no}


def test_pinyin_initials_and_polyphonic_surnames(people: Workspace) -> None:
    assert names(people.search("zs")) == ["张三"]
    assert people.search("zs")[0].matched_on == "initials"
    # 曾 is read zeng as a surname but ceng elsewhere; 单 is shan as a surname, dan elsewhere.
    assert names(people.search("zgq")) == ["曾国强"]
    assert names(people.search("cgq")) == ["曾国强"]
    assert names(people.search("stf")) == ["单田芳"]
    assert names(people.search("dtf")) == ["单田芳"]
    assert sorted(names(people.search("zxm"))) == ["张小明"]
    assert names(people.search("zhangsan")) == ["张三"]
    assert names(people.search("ZengG")) == ["曾国强"]
    assert names(people.search("张s")) == ["张三"]  # half-typed with a pinyin input method


def test_village_filter(people: Workspace) -> None:
    assert names(people.search("小明", village_prefix=OTHER_VILLAGE)) == ["张小明"]
    assert names(people.search("张", village_prefix=VILLAGE)) == ["张三"]
    assert names(people.search("1234", village_prefix=OTHER_VILLAGE)) == []
    assert {h.village_code for h in people.search("4301", village_prefix=VILLAGE)} == {VILLAGE}
    assert people.search("zs", village_prefix="999") == []


def test_limit_and_empty(people: Workspace) -> None:
    assert people.search("   ") == []
    assert len(people.search("4301", limit=2)) == 2
    assert people.search("没有这个人") == []


def test_name_terms() -> None:
    terms = set(name_terms("曾小明"))
    assert {(1, "曾小明"), (2, "小明"), (2, "明"), (3, "zxm"), (3, "cxm"), (4, "zengxiaoming"),
            (4, "cengxiaoming")} <= terms
    assert name_terms("  ") == ()


def test_index_rebuilt_when_its_version_changes(people: Workspace) -> None:
    """A newer povdesk (or pypinyin) may generate other terms: the index is rebuilt on open."""
    path = people.path
    people._conn.execute("DELETE FROM search_terms")
    people._conn.execute("UPDATE meta SET value = 'old' WHERE key = 'search_version'")
    assert people.search("小明") == []
    people.close()
    with Workspace.open(path) as again:
        assert sorted(names(again.search("小明"))) == ["张小明", "李小明"]
        assert names(again.search("cgq")) == ["曾国强"]


def test_a_list_search_reads_no_household_row_it_does_not_list(people: Workspace, worker: User) -> None:
    """The list's search (search_rows, search_count) under every plan: names, initials, ID digits, a
    household number anywhere in it. No step scans the households table (each row is a household's
    whole JSON: a county's search took seconds so), and voided households are told apart by their
    index, not by reading every hit's fields; a voided household is still found only under the
    voided filter."""
    from povdesk.ops.households import void_household
    from povdesk.store import search

    hh = next(h for h in people.iter_households() if h.members and h.members[0].name == "张三")
    void_household(people, worker, hh, "entered twice")
    conn = people._conn
    for query in ("张", "张小", "zx", "4301", "5678", hh.household_no[-6:], hh.household_no[:4]):
        for status in (None, search.VOIDED):
            selects, args = search._hit_selects(query, None)
            fsql, fargs = search._row_filters(status, None, None)
            sql = (f"WITH hits(hid, found) AS ({' UNION ALL '.join(selects)}) SELECT h.id FROM hits "
                   f"JOIN households h ON h.id = hits.hid WHERE 1{fsql} GROUP BY h.id")
            plan = [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", [*args, *fargs])]
            assert not any(step.startswith("SCAN") and "households" in step and "INDEX" not in step
                           for step in plan), (query, plan)
    listed = [r[1] for r in search.search_rows(conn, "张")]
    assert hh.household_no not in listed
    assert [r[1] for r in search.search_rows(conn, "张", status=search.VOIDED)] == [hh.household_no]
    assert search.search_count(conn, "张", status=search.VOIDED) == 1
    assert search.search_count(conn, "张") == len(listed)


def test_a_hit_is_read_from_the_narrow_indexes_not_the_rows(people: Workspace) -> None:
    """Every statement the quick search and the list's search run, as run (traced with its values):
    a member found by its rid and a household found by its id come from idx_members_hit and
    idx_households_hit, never through the rowid or the id's own index to the rows of JSON (on an
    encrypted workspace each such page is decrypted: a first search read hundreds)."""
    from povdesk.ops.listing import ListFilters, count_found, find_households

    conn = people._conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        for query in ("张", "小明", "zx", "zhangxiao", "4301", "5678", "430105199001011234"):
            assert people.search(query) is not None
            find_households(people, query, ListFilters())
            count_found(people, query, ListFilters())
    finally:
        conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    joined = [s for s in selects if "JOIN members m" in s or "JOIN households h" in s]
    assert len(joined) >= 10, selects
    for sql in joined:
        plan = [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        assert not any(step.startswith(("SEARCH m USING INTEGER PRIMARY KEY", "SEARCH h USING INDEX sqlite_autoindex"))
                       for step in plan), (sql, plan)
        assert any("COVERING INDEX idx_members_hit" in s or "COVERING INDEX idx_households_hit" in s for s in plan)
    # No step of any of them reads a member's or a household's row: each reads an index that holds
    # what it needs, save a page at most: the voided households' ids, the quick search's page of
    # households found by number and their heads, and the last rowid (the county's size).
    few = ("idx_households_voided", "idx_households_household_no", "idx_members_household_id_position")
    rows_read = {(sql, step) for sql in selects for step in (r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
                 if re.match(r"(SEARCH|SCAN) (members|households|m|h)\b", step) and "COVERING INDEX" not in step
                 and not any(index in step for index in few) and "max(rowid)" not in sql}
    assert not rows_read, rows_read


def test_an_older_workspace_gets_the_narrow_indexes_when_opened(people: Workspace) -> None:
    """A workspace made before migration 5 (no hit indexes, the ID indexes of two columns) has them
    after its next open for writing, and finds the same people."""
    from povdesk.store.migrations import MIGRATION_SET

    before = sorted(names(people.search("5678"))), sorted(names(people.search("小明")))
    conn = people._conn
    conn.execute("DROP INDEX idx_members_hit")
    conn.execute("DROP INDEX idx_households_hit")
    for column in ("id_number", "id_reversed"):
        conn.execute(f"DROP INDEX idx_members_{column}_village_code")
        conn.execute(f"CREATE INDEX idx_members_{column}_village_code ON members ({column}, village_code)")
    conn.execute("DELETE FROM _sqlite_migrations WHERE migration_set = ? AND name LIKE '0005_%'", (MIGRATION_SET,))
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    path = people.path
    people.close()
    with Workspace.open(path) as again:
        c = again._conn
        for column in ("id_number", "id_reversed"):
            cols = [r[2] for r in c.execute(f"PRAGMA index_info(idx_members_{column}_village_code)")]
            assert cols == [column, "village_code", "household_id", "name"]
        assert {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")} >= {
            "idx_members_hit", "idx_households_hit"}
        assert (sorted(names(again.search("5678"))), sorted(names(again.search("小明")))) == before
