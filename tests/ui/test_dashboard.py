"""The dashboard on a 1366x768 laptop: every bar named and counted, every cause listed, and the same
layout for a county, a township with households and one without."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCharts import QChartView
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication, QGraphicsTextItem
from pytestqt.qtbot import QtBot

from povdesk.core.codes import code_list
from povdesk.core.demo import DEMO_PASSWORD, DEMO_REGION, generate
from povdesk.core.model import STATUS_LABELS, STATUSES
from povdesk.core.procedures import load_procedures
from povdesk.store import Workspace
from povdesk.ui.app import install_language
from povdesk.ui.main_window import MainWindow
from tests.ui.conftest import CLOCK, TODAY, activate


@pytest.fixture
def county(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "county.db", region_code="522634", name="雷山县", level="county",
                          admin_user="admin", admin_password=DEMO_PASSWORD, clock=CLOCK, demo=True)
    admin = ws.authenticate("admin", DEMO_PASSWORD)
    ws.add_user(admin, "county", DEMO_PASSWORD, "county_coordinator", "county")
    ws.import_households(generate(DEMO_REGION, count=120, seed=5, today=TODAY), ws.authenticate("county", DEMO_PASSWORD),
                         source="demo")
    return ws


def texts(view: QChartView) -> list[QGraphicsTextItem]:
    return [item for item in view.chart().scene().items()
            if isinstance(item, QGraphicsTextItem) and item.isVisible() and item.toPlainText()]


def named(view: QChartView) -> set[str]:
    return {item.toPlainText() for item in texts(view)}


def assert_no_overlap(view: QChartView) -> None:
    boxes = [(item.toPlainText(), item.sceneBoundingRect()) for item in texts(view)]
    for i, (a, ra) in enumerate(boxes):
        for b, rb in boxes[i + 1:]:
            assert not ra.adjusted(1, 1, -1, -1).intersects(rb.adjusted(1, 1, -1, -1)), (a, b)


def places(window: MainWindow) -> list[QRect]:
    QApplication.processEvents()
    return [view.geometry() for view in window.dashboard.views]


def test_every_bar_is_named_and_the_layout_stays(qtbot: QtBot, county: Workspace, tmp_path: Path) -> None:
    app = QApplication.instance()
    install_language(app, "zh")  # type: ignore[arg-type]
    try:
        window = MainWindow(county, county.authenticate("county", DEMO_PASSWORD), data_dir=tmp_path, lang="zh")
        qtbot.addWidget(window)
        activate(qtbot, window)
        window.showMaximized()
        qtbot.waitUntil(lambda: window.scan is not None and window.scan_job is None, timeout=30000)
        window.dashboard_action.setChecked(True)  # Ctrl+D
        dashboard = window.dashboard
        summary = dashboard.summary
        assert summary is not None and summary.households == 120
        status, attribute, identification, exit_, causes, kinds, risks = dashboard.views

        # Every category is named on its axis, nothing drawn over anything else, and every bar
        # with households carries its count.
        expected_names = [
            (status, {STATUS_LABELS[s][0] for s in STATUSES}),
            (attribute, {c.label("zh") for c in code_list("hh_attribute").codes}),
            (identification, {step.zh for step in load_procedures()["identification"].steps}),
            (exit_, {step.zh for step in load_procedures()["exit"].steps}),
            (causes, {c.label("zh") for c in code_list("poverty_cause").codes}),
            (kinds, {c.label("zh") for c in code_list("monitoring_type").codes}),
            (risks, {c.label("zh") for c in code_list("monitoring_risk").codes}),
        ]
        for view, names in expected_names:
            assert names <= named(view), names - named(view)
            assert_no_overlap(view)
        for st in STATUSES:
            if summary.by_status.get(st):
                assert str(summary.by_status[st]) in named(status)
        assert {str(n) for code, n in summary.by_main_cause.items() if code and n} <= named(causes)
        # Monitoring: the objects are those with a monitoring type, counted by type on the chart.
        objects = [h for h in county.iter_households() if h.fields.get("monitoring_type")]
        monitoring = dashboard.monitoring
        assert monitoring is not None and monitoring.objects == len(objects) > 0
        for code in {h.fields["monitoring_type"] for h in objects}:
            n = sum(1 for h in objects if h.fields["monitoring_type"] == code)
            assert monitoring.by_type[code] == n and str(n) in named(kinds)
        line = dashboard.monitoring_label.text()
        assert line.startswith(f"防止返贫监测：监测对象 {len(objects)} 户（监测中 ")
        assert f"正在识别 {monitoring.by_state.get('identifying', 0)} 户" in line
        assert "风险已消除" in line and "超过时限未审定" in line

        county_places = places(window)
        root = window.tree.topLevelItem(0)
        assert root is not None
        towns = {root.child(i).data(0, Qt.ItemDataRole.UserRole): root.child(i) for i in range(root.childCount())}
        empty = next(code for code in towns if code != DEMO_REGION[:9])
        for code in (DEMO_REGION[:9], empty):  # the township with the demo village, then one with none
            township = towns[code]
            window.tree.setCurrentItem(township)
            assert dashboard.heading.text().startswith(township.text(0))
            assert places(window) == county_places
            for view, names in expected_names:
                assert names <= named(view)
        assert dashboard.summary is not None and dashboard.summary.households == 0
        assert dashboard.quality_label.text() == "数据质量：0 户有错误，0 户仅有警告"
    finally:
        install_language(app, "en")  # type: ignore[arg-type]
