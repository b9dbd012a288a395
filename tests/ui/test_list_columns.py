"""The household list at 1366x768: a status marked unfinished or voided is read whole, never cut short."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from povdesk.ops.listing import VOIDED
from povdesk.store import User, Workspace
from povdesk.ui.app import install_language
from povdesk.ui.main_window import STATUS_PADDING, MainWindow
from povdesk.ui.models import STATUS_COLUMN
from tests.ui.conftest import type_text


def test_the_status_column_holds_its_longest_marked_text(qtbot: QtBot, ws: Workspace, worker: User,
                                                         tmp_path: Path) -> None:
    app = QApplication.instance()
    install_language(app, "zh")  # type: ignore[arg-type]
    try:
        _check_status_column(qtbot, ws, worker, tmp_path)
    finally:
        install_language(app, "en")  # type: ignore[arg-type]  # other tests read the English source strings


def _check_status_column(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> None:
    w = MainWindow(ws, worker, data_dir=tmp_path, lang="zh")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=20000)
    assert w.width() <= 1366
    metrics = w.table.fontMetrics()
    width = w.table.columnWidth(STATUS_COLUMN)
    texts = w.model.status_texts()
    assert "未纳入 · 未完成" in texts and any(t.endswith(" · 已作废") for t in texts)
    for text in texts:
        assert metrics.horizontalAdvance(text) + STATUS_PADDING <= width, text
    # A household saved unfinished shows exactly that text in its row, with room for it.
    first = w.model.row(0).household_id
    w.model.mark_unfinished(first, True)
    shown = w.model.index(0, STATUS_COLUMN).data(Qt.ItemDataRole.DisplayRole)
    assert shown.endswith(" · 未完成") and metrics.horizontalAdvance(shown) + STATUS_PADDING <= width
    # and the voided filter's mark likewise
    w.status_filter.setCurrentIndex(w.status_filter.findData(VOIDED))
    assert w.model.status_text("not_identified", "voided") in texts


def test_a_long_exclusion_criterion_wraps_instead_of_running_off_the_edge(qtbot: QtBot, ws: Workspace,
                                                                        worker: User, tmp_path: Path) -> None:
    """At 1366x768 the editor's 不得纳入情形 list showed its criteria cut at the right edge behind a
    horizontal scroll bar; each now wraps within the list, and says itself whole in its tooltip."""
    from PySide6.QtWidgets import QListWidget

    w = MainWindow(ws, worker, data_dir=tmp_path, lang="zh")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.open_household(w.model.row(0).household_id)
    lst = w.editor.basic_form.widget("exclusions")
    assert isinstance(lst, QListWidget)
    w.editor.basic_form.focus_field("exclusions")
    qtbot.waitUntil(lambda: lst.isVisible())
    QApplication.processEvents()
    assert lst.wordWrap()
    assert lst.horizontalScrollBar().maximum() == 0 or not lst.horizontalScrollBar().isVisible()
    width = lst.viewport().width()
    metrics = lst.fontMetrics()
    longest = max((lst.item(i) for i in range(lst.count())), key=lambda it: metrics.horizontalAdvance(it.text()))
    assert metrics.horizontalAdvance(longest.text()) > width  # the case of the screenshot: longer than the list
    assert lst.visualItemRect(longest).height() > metrics.height() * 1.5  # so it takes two lines
    assert all(lst.item(i).toolTip() == lst.item(i).text() for i in range(lst.count()))
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=20000)


def test_a_head_with_the_member_a_search_found_is_read_whole(qtbot: QtBot, ws: Workspace, worker: User,
                                                             tmp_path: Path) -> None:
    """At 1366x768 a search's row read 侯国华（梁春… : the name column now holds a three-character head
    with a three-character member beside it, as the list shows them after a search."""
    from povdesk.ui.main_window import NAME_SAMPLE
    from povdesk.ui.models import NAME_COLUMN

    app = QApplication.instance()
    install_language(app, "zh")  # type: ignore[arg-type]
    try:
        w = MainWindow(ws, worker, data_dir=tmp_path, lang="zh")
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        text = w.model.name_text(*NAME_SAMPLE)
        assert text == "侯国华（梁春花）"
        assert w.table.fontMetrics().horizontalAdvance(text) + STATUS_PADDING <= w.table.columnWidth(NAME_COLUMN)
        # what a search shows in that column, the member found beside the head
        head, member = next((row, m.name) for row in (w.model.row(i) for i in range(w.model.rowCount()))
                            for m in ws.load_household(row.household_id).members if m.name != row.name)
        type_text(member, w.search)
        qtbot.waitUntil(lambda: any(w.model.index(i, NAME_COLUMN).data() == w.model.name_text(head.name, member)
                                    for i in range(w.model.rowCount())), timeout=10000)
        assert w.width() <= 1366
        if w.scan_job is not None:
            qtbot.waitUntil(lambda: w.scan_job is None, timeout=20000)
    finally:
        install_language(app, "en")  # type: ignore[arg-type]
