"""Dashboard for the selected village, township or county: status, attribute, causes, funnels, data quality,
and 防止返贫动态监测 (monitoring objects by type and risk, where they stand, overdue identifications)."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from PySide6.QtCharts import (
    QAbstractBarSeries,
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QShowEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from povdesk.core.codes import code_list
from povdesk.core.model import STATUS_LABELS, STATUSES
from povdesk.core.monitoring import MONITORING_STATES, STATE_LABELS
from povdesk.core.procedures import load_procedures
from povdesk.ops.changes import OpChanges
from povdesk.store.summary import MonitoringSummary, Summary, monitoring_summary, summarize
from povdesk.ui.changes import ChangeBus

BAR_HEIGHT = 30  # px per category: Qt hides the axis labels that do not fit, so every bar gets room
CHART_FRAME = 110  # title, value axis and margins


def _chart(title: str) -> QChart:
    chart = QChart()
    chart.setTitle(title)
    chart.legend().setVisible(False)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    return chart


def _view(chart: QChart, height: int = 220) -> QChartView:
    view = QChartView(chart)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(height)
    view.setMinimumWidth(CHART_MIN_WIDTH)
    # Equal columns whatever the counts: an empty township keeps the county's layout.
    view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    view.setFixedHeight(height)
    return view


CHART_MIN_WIDTH = 300


def _bar_view(title: str, series_name: str, rows: list[tuple[str, int]]) -> QChartView:
    """Horizontal bars, one per category (the first on top), each named on the left and its count
    at its end; the chart is as tall as its categories need, so no name is left out."""
    rows = rows[::-1]  # Qt draws the first category at the bottom
    chart = _chart(title)
    bars = QBarSet(series_name)
    for _label, value in rows:
        bars.append(value)
    bars.setLabelColor(QColor("#202020"))
    series = QHorizontalBarSeries()
    series.append(bars)
    series.setLabelsVisible(True)
    series.setLabelsPosition(QAbstractBarSeries.LabelsPosition.LabelsOutsideEnd)
    series.setLabelsFormat("@value")
    chart.addSeries(series)
    axis = QBarCategoryAxis()
    axis.append([label for label, _value in rows])
    axis.setTruncateLabels(False)
    chart.addAxis(axis, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(axis)
    values = QValueAxis()
    values.setLabelFormat("%d")
    top = max((v for _l, v in rows), default=0)
    values.setRange(0, max(4, top * 1.15))  # room for the count at the end of the longest bar
    values.applyNiceNumbers()
    chart.addAxis(values, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(values)
    return _view(chart, CHART_FRAME + BAR_HEIGHT * len(rows))


class Dashboard(QWidget):
    """Rebuilt from SQL counts each time the selection changes (cheap: a few GROUP BY queries), and
    when an operation changed what it counts: at once while shown, else when shown again."""

    def __init__(self, ws: Any, lang: str = "zh", parent: QWidget | None = None, *,
                 changes: ChangeBus | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.lang = lang
        self.summary: Summary | None = None
        self.monitoring: MonitoringSummary | None = None
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
        self.monitoring_label = QLabel()
        self.monitoring_label.setWordWrap(True)
        self.monitoring_label.setStyleSheet("font-weight: bold")
        self.views: list[QChartView] = []
        self.grid.setColumnStretch(0, 1)
        self.grid.setColumnStretch(1, 1)

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
        # Two charts a row at the same height, the causes (the longest list) across the whole width:
        # the same places for every region, whatever its counts.
        pairs = [(self._status_chart(s), self._attribute_chart(s)),
                 (self._funnel_chart(s, "identification"), self._funnel_chart(s, "exit"))]
        for row, (left, right) in enumerate(pairs):
            height = max(left.height(), right.height())
            for column, view in enumerate((left, right)):
                view.setFixedHeight(height)
                self.grid.addWidget(view, 2 + row, column)
        causes = self._cause_chart(s)
        self.grid.addWidget(causes, 2 + len(pairs), 0, 1, 2)
        self.views = [view for pair in pairs for view in pair] + [causes]
        # Monitoring (防止返贫动态监测): where the objects stand, then their types and risks.
        self.monitoring = m = monitoring_summary(self.ws, village_prefix, self.ws.clock.today())
        self.monitoring_label.setText(self._monitoring_text(m))
        self.grid.addWidget(self.monitoring_label, 3 + len(pairs), 0, 1, 2)
        kinds = [(c.label(self.lang), m.by_type.get(c.code, 0)) for c in code_list("monitoring_type").codes]
        risks = sorted(((c.label(self.lang), m.by_risk.get(c.code, 0)) for c in code_list("monitoring_risk").codes),
                       key=lambda r: -r[1])
        left = _bar_view(self.tr("Monitoring objects by type"), self.tr("Households"), kinds)
        right = _bar_view(self.tr("Monitoring objects by risk"), self.tr("Households"), risks)
        height = max(left.height(), right.height())
        for column, view in enumerate((left, right)):
            view.setFixedHeight(height)
            self.grid.addWidget(view, 4 + len(pairs), column)
        self.views += [left, right]

    def _monitoring_text(self, m: MonitoringSummary) -> str:
        # Where the objects stand; the households being identified are not objects yet.
        states = "，".join(f"{self._label(STATE_LABELS[st])} {m.by_state.get(st, 0)}"
                          for st in MONITORING_STATES if st not in ("none", "identifying"))
        if self.lang == "en":
            states = states.replace("，", ", ")
        return self.tr("Monitoring: {objects} monitoring objects ({states}); {identifying} households being "
                       "identified; {overdue} identifications past their time limit").format(
            objects=m.objects, states=states, identifying=m.by_state.get("identifying", 0), overdue=len(m.overdue))

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
        """Every main cause of the code list with its count, most frequent first (the pie's legend
        dropped slices); the same rows for every region, so the layout does not move."""
        causes = code_list("poverty_cause").codes
        rows = sorted(((c.label(self.lang), s.by_main_cause.get(c.code, 0)) for c in causes), key=lambda r: -r[1])
        return _bar_view(self.tr("Main causes of poverty"), self.tr("Households"), rows)

    def _attribute_chart(self, s: Summary) -> QChartView:
        attrs = code_list("hh_attribute")
        return _bar_view(self.tr("Households by attribute"), self.tr("Households"),
                         [(c.label(self.lang), s.by_attribute.get(c.code, 0)) for c in attrs.codes])

    def _funnel_chart(self, s: Summary, procedure: str) -> QChartView:
        spec = load_procedures()[procedure]
        title = spec.en if self.lang == "en" else spec.zh
        counts = s.funnel.get(procedure, {})
        return _bar_view(self.tr("{procedure}: households that reached each step").format(procedure=title), title,
                         [(step.en if self.lang == "en" else step.zh, counts.get(step.key, 0))
                          for step in spec.steps])
