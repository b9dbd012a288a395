"""Dashboard for the selected village, township or county: status, attribute, causes, funnels, data quality."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QShowEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from povdesk.core.codes import code_list
from povdesk.core.model import STATUS_LABELS, STATUSES
from povdesk.core.procedures import load_procedures
from povdesk.ops.changes import OpChanges
from povdesk.store.summary import Summary, summarize
from povdesk.ui.changes import ChangeBus


def _chart(title: str) -> QChart:
    chart = QChart()
    chart.setTitle(title)
    chart.legend().setVisible(False)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    return chart


def _view(chart: QChart) -> QChartView:
    view = QChartView(chart)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(220)
    return view


def _bar_view(title: str, series_name: str, rows: list[tuple[str, int]]) -> QChartView:
    """Horizontal bars: category labels on the left stay readable however long they are."""
    chart = _chart(title)
    bars = QBarSet(series_name)
    for _label, value in rows:
        bars.append(value)
    series = QHorizontalBarSeries()
    series.append(bars)
    series.setLabelsVisible(True)
    chart.addSeries(series)
    axis = QBarCategoryAxis()
    axis.append([label for label, _value in rows])
    axis.setTruncateLabels(False)
    chart.addAxis(axis, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(axis)
    values = QValueAxis()
    values.setLabelFormat("%d")
    chart.addAxis(values, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(values)
    return _view(chart)


class Dashboard(QWidget):
    """Rebuilt from SQL counts each time the selection changes (cheap: a few GROUP BY queries), and
    when an operation changed what it counts: at once while shown, else when shown again."""

    def __init__(self, ws: Any, lang: str = "zh", parent: QWidget | None = None, *,
                 changes: ChangeBus | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.lang = lang
        self.summary: Summary | None = None
        self.quality: tuple[frozenset[str], frozenset[str]] | None = None
        self._region: tuple[str | None, str] | None = None
        self._stale = False
        self.changes = changes if changes is not None else ChangeBus(self)
        self.changes.changed.connect(self._workspace_changed)
        # The charts scroll on a short screen rather than push the window past its bottom edge.
        body = QWidget()
        self.grid = QGridLayout(body)
        self.page_area = QScrollArea()
        self.page_area.setWidgetResizable(True)
        self.page_area.setFrameShape(QFrame.Shape.NoFrame)
        self.page_area.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.page_area)
        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 15pt; font-weight: bold")
        self.grid.addWidget(self.heading, 0, 0, 1, 2)
        self.quality_label = QLabel()
        self.grid.addWidget(self.quality_label, 1, 0, 1, 2)
        self.views: list[QChartView] = []

    def _label(self, pair: tuple[str, str]) -> str:
        return pair[1] if self.lang == "en" else pair[0]

    def _workspace_changed(self, changes: OpChanges) -> None:
        if not changes.counts or self._region is None:
            return
        if self.isVisible():
            self.show_region(*self._region)
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        if self._stale and self._region is not None:
            self.show_region(*self._region)
        super().showEvent(event)

    def show_region(self, village_prefix: str | None, title: str) -> None:
        self._region, self._stale = (village_prefix, title), False
        self.summary = summarize(self.ws, village_prefix)
        s = self.summary
        self.heading.setText(self.tr("{title}: {households} households, {people} people").format(
            title=title, households=s.households, people=s.people))
        self._show_quality()
        for v in self.views:
            self.grid.removeWidget(v)
            v.deleteLater()
        self.views = [self._status_chart(s), self._cause_chart(s), self._funnel_chart(s, "identification"),
                      self._funnel_chart(s, "exit"), self._attribute_chart(s)]
        for i, view in enumerate(self.views):
            self.grid.addWidget(view, 2 + i // 2, i % 2)

    def set_quality(self, with_errors: AbstractSet[str] | None, with_warnings: AbstractSet[str] = frozenset()) -> None:
        """The last check's households with errors and with warnings only (None: no check yet);
        the line counts those of the region shown."""
        self.quality = None if with_errors is None else (frozenset(with_errors), frozenset(with_warnings))
        self._show_quality()

    def _show_quality(self) -> None:
        if self.quality is None:
            self.quality_label.setText(self.tr("Data quality: run Check all (F5) to count problems."))
            return
        errors, warnings = self.quality
        prefix = self._region[0] if self._region is not None else None
        if prefix:  # a township or village: only its own households count
            here = set(self.ws.household_ids(prefix))
            errors, warnings = errors & here, warnings & here
        self.quality_label.setText(self.tr(
            "Data quality: {errors} households with errors, {warnings} with warnings only").format(
                errors=len(errors), warnings=len(warnings)))

    def _status_chart(self, s: Summary) -> QChartView:
        return _bar_view(self.tr("Households by status"), self.tr("Households"),
                         [(self._label(STATUS_LABELS[st]), s.by_status.get(st, 0)) for st in STATUSES])

    def _cause_chart(self, s: Summary) -> QChartView:
        chart = _chart(self.tr("Main causes of poverty"))
        chart.legend().setVisible(True)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)
        series = QPieSeries()
        series.setPieSize(0.9)
        causes = code_list("poverty_cause")
        for code, n in sorted(s.by_main_cause.items(), key=lambda kv: -kv[1]):
            if code and n:
                series.append(f"{causes.label(code, self.lang)} {n}", n)
        chart.addSeries(series)
        return _view(chart)

    def _attribute_chart(self, s: Summary) -> QChartView:
        chart = _chart(self.tr("Households by attribute"))
        chart.legend().setVisible(True)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)
        series = QPieSeries()
        attrs = code_list("hh_attribute")
        for code, n in sorted(s.by_attribute.items()):
            if code and n:
                series.append(f"{attrs.label(code, self.lang)} {n}", n)
        chart.addSeries(series)
        return _view(chart)

    def _funnel_chart(self, s: Summary, procedure: str) -> QChartView:
        spec = load_procedures()[procedure]
        title = spec.en if self.lang == "en" else spec.zh
        counts = s.funnel.get(procedure, {})
        return _bar_view(self.tr("{procedure}: households that reached each step").format(procedure=title), title,
                         [(step.en if self.lang == "en" else step.zh, counts.get(step.key, 0))
                          for step in reversed(spec.steps)])
