"""Search in the household list: real list rows (every column), the list's filters, a count, pages as
the list scrolls, and a household number found from any part of it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from povdesk.core.demo import DEMO_PASSWORD, DEMO_REGION, generate
from povdesk.store import Workspace
from povdesk.ui.app import install_language
from povdesk.ui.main_window import MainWindow
from povdesk.ui.models import PAGE
from tests.ui.conftest import CLOCK, TODAY, type_text

HOUSEHOLDS = 1000  # 杨 is a surname in about a third of them: more than a page of the list


@pytest.fixture(scope="module")
def big_village(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("search") / "village.db"
    ws = Workspace.create(path, region_code=DEMO_REGION, name="大村", level="village", admin_user="admin",
                          admin_password=DEMO_PASSWORD, clock=CLOCK, demo=True)
    try:
        admin = ws.authenticate("admin", DEMO_PASSWORD)
        ws.add_user(admin, "worker", DEMO_PASSWORD, "village_worker", "worker")
        ws.import_households(generate(DEMO_REGION, count=HOUSEHOLDS, seed=11, today=TODAY),
                             ws.authenticate("worker", DEMO_PASSWORD), source="demo")
    finally:
        ws.close()
    return path


@pytest.fixture
def window(qtbot, big_village: Path, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    path = tmp_path / "village.db"
    with sqlite3.connect(big_village) as src, sqlite3.connect(path) as dest:
        src.backup(dest)
    ws = Workspace.open(path, clock=CLOCK)
    app = QApplication.instance()
    install_language(app, "zh")  # type: ignore[arg-type]
    w = MainWindow(ws, ws.authenticate("worker", DEMO_PASSWORD), data_dir=tmp_path, lang="zh")
    qtbot.addWidget(w)
    w.show()
    yield w
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=60000)
    install_language(app, "en")  # type: ignore[arg-type]  # other tests read the English sources


def households_with(ws: Workspace, surname: str, **where: str) -> dict[str, object]:
    """The households with a member of this surname, worked out without the search."""
    return {hh.id: hh for hh in ws.iter_households()
            if any(m.name.startswith(surname) for m in hh.members)
            and all((hh.status if key == "status" else hh.fields.get(key)) == value for key, value in where.items())}


def search_for(qtbot, window: MainWindow, text: str) -> None:  # type: ignore[no-untyped-def]
    window.search.setFocus()
    window.search.clear()
    type_text(text, window.search)  # one key at a time, as typed
    qtbot.waitUntil(lambda: window.model.query == text, timeout=3000)


def shown_ids(window: MainWindow) -> list[str]:
    return [window.model.row(i).household_id for i in range(window.model.rowCount())]


def cell(window: MainWindow, row: int, column: int) -> str:
    return str(window.model.data(window.model.index(row, column)))


def test_a_surname_finds_every_household_counted_and_paged(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    expected = households_with(window.ws, "杨")
    assert len(expected) > PAGE  # more than one page, far more than 50
    search_for(qtbot, window, "杨")
    assert window.model.rowCount() == PAGE
    # The rows come at once; the count of a search filling more than a page follows from a pool
    # thread ("找到 200+ 户 … 正在计数……" meanwhile), so typing never waits for it.
    counted = (f"找到 {len(expected)} 户，共 {HOUSEHOLDS} 户，已显示 {PAGE} 户：向下滚动显示更多")
    assert window.count_label.text() in (counted, f"找到 {PAGE}+ 户，共 {HOUSEHOLDS} 户，正在计数……")
    qtbot.waitUntil(lambda: window.count_label.text() == counted, timeout=10000)
    # Every column of a list row, as without a search: status, attribute, main cause, people.
    for row in range(window.model.rowCount()):
        hh = expected[window.model.row(row).household_id]
        assert cell(window, row, 3) and cell(window, row, 4) and cell(window, row, 6) == str(len(hh.members))  # type: ignore[attr-defined]
        assert "杨" in cell(window, row, 1)
    # Scrolling to the end of the list fetches the next pages, as the list does.
    while window.model.canFetchMore():
        window.table.scrollToBottom()
        qtbot.wait(10)
    assert sorted(shown_ids(window)) == sorted(expected)
    assert len(set(shown_ids(window))) == len(expected)
    assert window.count_label.text() == f"找到 {len(expected)} 户，共 {HOUSEHOLDS} 户"
    numbers = [window.model.row(i).household_no for i in range(window.model.rowCount())]
    assert numbers == sorted(numbers)


def test_the_filters_apply_to_a_search(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    search_for(qtbot, window, "杨")
    status = window.model.row(0).status
    window.status_filter.setCurrentIndex(window.status_filter.findData(status))
    attribute = window.model.row(0).attribute
    window.attribute_filter.setCurrentIndex(window.attribute_filter.findData(attribute))
    expected = households_with(window.ws, "杨", status=status, attribute=attribute)
    while window.model.canFetchMore():
        window.model.fetchMore()
    assert sorted(shown_ids(window)) == sorted(expected)
    assert window.count_label.text() == f"找到 {len(expected)} 户，共 {HOUSEHOLDS} 户"
    # Clearing the search keeps the filters: the list is the filtered list again.
    window.search.clear()
    qtbot.waitUntil(lambda: window.model.query == "", timeout=3000)
    assert all(window.model.row(i).status == status and window.model.row(i).attribute == attribute
               for i in range(window.model.rowCount()))


def test_a_household_number_is_found_from_any_part(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    target = window.ws.list_households(None, 500)[-1]  # e.g. 522634100201-DEMO-0500
    village, device, sequence = target.household_no.split("-")
    for piece in (sequence, f"{device}-{sequence}", f"{device.lower()}-{sequence}", target.household_no):
        search_for(qtbot, window, piece)
        assert target.id in shown_ids(window), piece
        assert all(piece.upper() in window.model.row(i).household_no.upper() or window.model.row(i).found_member
                   for i in range(window.model.rowCount()))
    search_for(qtbot, window, target.household_no)
    assert shown_ids(window) == [target.id]
    assert window.count_label.text() == f"找到 1 户，共 {HOUSEHOLDS} 户"


def test_the_person_found_shows_beside_the_head(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    hh = next(h for h in window.ws.iter_households() if h.head and len(h.members) > 2)
    member = next(m for m in hh.members if m is not hh.head and m.name != hh.head.name)
    search_for(qtbot, window, member.id_number)
    row = shown_ids(window).index(hh.id)
    assert cell(window, row, 1) == f"{hh.head.name}（{member.name}）"
    window.table.selectRow(row)
    qtbot.waitUntil(lambda: window.editor.household is not None and window.editor.household.id == hh.id,
                    timeout=3000)
    assert window.table.model().data(window.table.model().index(row, 0), Qt.ItemDataRole.UserRole) == hh.id


def test_a_count_made_for_an_older_search_is_dropped(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    search_for(qtbot, window, "杨")
    generation, query, _filters = window.model.count_request()
    assert query == "杨"
    search_for(qtbot, window, "杨杨")  # typed on before the count came back
    assert not window.model.set_found(generation, 12345)
    assert "12345" not in window.count_label.text()


def listed(qtbot, window: MainWindow, text: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every row the list shows for a search, page after page: (household number, person found)."""
    search_for(qtbot, window, text)
    first = [window.model.row(i).household_no for i in range(window.model.rowCount())]
    while window.model.canFetchMore():
        window.model.fetchMore()
    rows = [(window.model.row(i).household_no, window.model.row(i).found_member) for i in range(window.model.rowCount())]
    assert [no for no, _found in rows[:len(first)]] == first
    return rows


def test_a_broad_search_lists_what_gathering_every_hit_lists(qtbot, window: MainWindow, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A query that hits most of the list ("y", "杨", "DEMO", "226") has its first page read by walking
    the households in number order until the page is full; it lists the same rows, pages and
    persons found as gathering and sorting every hit, typed digit by digit."""
    from povdesk.store import search

    queries = ("杨", "杨小", "y", "yx", "DEMO", "demo-0", "226", "2", "5226", "0")
    monkeypatch.setattr(search, "SORT_US", 1e-9)  # every query with a page of hits walks
    walked = {q: listed(qtbot, window, q) for q in queries}
    monkeypatch.setattr(search, "SORT_US", 1e9)  # every query gathers its hits
    gathered = {q: listed(qtbot, window, q) for q in queries}
    assert walked == gathered
    assert len(walked["DEMO"]) == HOUSEHOLDS and len(walked["y"]) > PAGE and len(walked["杨"]) > PAGE
    assert any(found for _no, found in walked["杨"])


def test_a_count_typed_on_from_is_stopped_and_the_last_one_shown(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """Typing y, then x: the count of "y" still running is interrupted, the counter ends with the
    count of "yx"; a count interrupted before it starts stops at once."""
    import threading

    from PySide6.QtCore import QRunnable, QThreadPool

    from povdesk.ops.listing import Interrupt, ListFilters, count_found

    window.search.setFocus()
    window.search.clear()
    pool, release = QThreadPool.globalInstance(), threading.Event()
    for _ in range(pool.maxThreadCount()):  # the pool's threads kept busy: the count of "y" waits
        pool.start(QRunnable.create(lambda: release.wait(30)))
    try:
        type_text("y", window.search)
        qtbot.waitUntil(lambda: window.model.query == "y", timeout=3000)
        first = window._count_interrupt
        assert window.count_label.text().endswith("正在计数……")
        type_text("x", window.search)
        qtbot.waitUntil(lambda: window.model.query == "yx", timeout=3000)
        assert first.is_set
    finally:
        release.set()
    expected = count_found(window.ws, "yx", ListFilters())
    qtbot.waitUntil(lambda: window.model.found_if_known() == expected, timeout=10000)
    assert str(expected) in window.count_label.text()
    stopped = Interrupt()
    stopped()
    with pytest.raises(InterruptedError):
        count_found(window.ws, "y", ListFilters(), interrupt=stopped)
