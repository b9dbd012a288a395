"""One scripted start of the real desktop app, for packaging/check_frozen.sh (frozen) or by hand (venv).

    QT_QPA_PLATFORM=offscreen POVDESK_SMOKE_REPORT=report.json POVDESK_PASSWORD=demo1234 \\
        dist/povdesk/povdesk-app --demo --data-dir DIR

Runs povdesk.ui.app.main() unchanged and, from a timer, does what a user would: logs in to the
demo with POVDESK_USER (default worker) / POVDESK_PASSWORD through the login dialog's OK button,
waits for the main window and its background check, opens the dashboard (QtCharts), waits
POVDESK_SMOKE_SECONDS (default 1), measures the resident memory, closes the window and quits.
Any other dialog (an error, the first-run dialog) or POVDESK_SMOKE_TIMEOUT (default 90 s) fails
the run. The JSON report records what was seen; the exit code is 0 only when everything passed.

Only packaging/launch_app.py imports this, and only when POVDESK_SMOKE_REPORT is set.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def rss_kb() -> int | None:
    """Resident memory of this process in KiB (Linux: VmRSS; Windows: the working set)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    if sys.platform == "win32":
        import ctypes
        from ctypes import wintypes

        class Counters(ctypes.Structure):
            _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD)] + [
                (name, ctypes.c_size_t) for name in (
                    "PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage", "QuotaPagedPoolUsage",
                    "QuotaPeakNonPagedPoolUsage", "QuotaNonPagedPoolUsage", "PagefileUsage", "PeakPagefileUsage")]

        counters = Counters()
        counters.cb = ctypes.sizeof(counters)
        process = ctypes.windll.kernel32.GetCurrentProcess()  # type: ignore[attr-defined]
        if ctypes.windll.psapi.GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb):  # type: ignore[attr-defined]
            return int(counters.WorkingSetSize // 1024)
    return None


def run(argv: list[str]) -> int:
    from PySide6.QtCharts import QChartView
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, QTimer
    from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

    from povdesk.paths import resources_dir
    from povdesk.ui import app as app_module
    from povdesk.ui.main_window import MainWindow

    report_path = Path(os.environ["POVDESK_SMOKE_REPORT"])
    report_path.unlink(missing_ok=True)
    user = os.environ.get("POVDESK_USER", "worker")
    password = os.environ.get("POVDESK_PASSWORD", "")
    hold = float(os.environ.get("POVDESK_SMOKE_SECONDS", "1"))
    timeout = float(os.environ.get("POVDESK_SMOKE_TIMEOUT", "90"))

    # app.main() reuses an existing QApplication, so the timer can be armed before it runs.
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    started = time.monotonic()
    report: dict[str, Any] = {
        "ok": False, "problems": [], "frozen": bool(getattr(sys, "frozen", False)),
        "bundle_root": getattr(sys, "_MEIPASS", None), "resources_dir": str(resources_dir()),
        "rss_kb_start": rss_kb(),
    }
    state: dict[str, Any] = {"phase": "login", "since": started, "window": None}

    def seconds() -> float:
        return round(time.monotonic() - started, 2)

    def finish() -> None:
        timer.stop()
        report["ok"] = not report["problems"]
        report["seconds"] = seconds()
        report_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        window = state["window"]
        if window is not None:
            window.close()  # the app's own closeEvent: stops its timers and closes the workspace
        qapp.exit(0 if report["ok"] else 1)

    def fail(problem: str) -> None:
        report["problems"].append(problem)
        finish()

    def describe(widget: Any) -> str:
        text = widget.text() if isinstance(widget, QMessageBox) else ""
        return f"{type(widget).__name__} '{widget.windowTitle()}' {text}".strip()

    def step() -> None:
        now = time.monotonic()
        phase = state["phase"]
        if now - started > timeout:
            fail(f"timed out after {timeout:.0f} s waiting for: {phase}")
            return
        modal = qapp.activeModalWidget()
        if phase == "login":
            if modal is None:
                return
            if not isinstance(modal, app_module.LoginDialog):
                fail(f"unexpected dialog before login: {describe(modal)}")
                return
            report["login_dialog_title"] = modal.windowTitle()
            report["rss_kb_login"] = rss_kb()
            report["login_at_s"] = seconds()
            modal.name.setText(user)
            modal.password.setText(password)
            buttons = modal.findChild(QDialogButtonBox)
            buttons.button(QDialogButtonBox.StandardButton.Ok).click()
            if modal.isVisible():
                fail(f"login refused: {modal.error.text()}")
                return
            state["phase"] = "main window"
            return
        if modal is not None:
            fail(f"unexpected dialog: {describe(modal)}")
            return
        if phase == "main window":
            windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            if not windows:
                return
            window = state["window"] = windows[0]
            report.update({
                "window_at_s": seconds(),
                "window_title": window.windowTitle(),
                "household_count_label": window.count_label.text(),
                "dashboard_action": window.dashboard_action.text(),
                "language": qapp.property("povdesk_lang"),
                "translators": len(app_module._translators),
                "qt_cancel": QCoreApplication.translate("QPlatformTheme", "Cancel"),
                "qt_translations_path": QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath),
                "font": qapp.font().family(),
                "rss_kb_window": rss_kb(),
            })
            if report["language"] == "zh":
                if report["dashboard_action"] == "Dashboard":
                    report["problems"].append("povdesk_zh_CN.qm not applied (menu still in English)")
                if report["qt_cancel"] == "Cancel":
                    report["problems"].append("Qt's qtbase_zh_CN.qm not applied (Cancel not translated)")
            if "Noto" not in report["font"]:
                report["problems"].append(f"bundled font not the application font: {report['font']}")
            from povdesk.ui.help import guide_markdown, guide_root

            report["guide_chars"] = len(guide_markdown())
            report["guide_file"] = str(guide_root() or "")
            if report["guide_chars"] == 0:
                report["problems"].append("Help › User guide has no guide to show (README.md not shipped)")
            state["phase"] = "background check"
            return
        window = state["window"]
        if phase == "background check":
            if window.scan is None:
                return
            report["check_at_s"] = seconds()
            report["households_with_errors"] = len(window.scan.with_errors)
            report["households_with_warnings"] = len(window.scan.with_warnings)
            window.dashboard_action.setChecked(True)
            state.update(phase="dashboard", since=now)
            return
        if phase == "dashboard" and now - state["since"] >= hold:
            charts = window.dashboard.findChildren(QChartView)
            report["dashboard_charts"] = len(charts)
            report["dashboard_visible"] = window.dashboard.isVisible()
            if not charts or not window.dashboard.isVisible():
                report["problems"].append("the dashboard shows no charts")
            report["rss_kb_dashboard"] = rss_kb()
            finish()

    def guarded_step() -> None:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - reported, and the run fails
            fail(f"{type(exc).__name__}: {exc}")

    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(guarded_step)
    timer.start()

    code = app_module.main(argv)
    if not report_path.exists():  # the app ended before the smoke could finish (e.g. it gave up)
        report["problems"].append(f"the app ended first (exit code {code}) in phase {state['phase']}")
        report["seconds"] = seconds()
        report_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        return 1
    return 0 if report["ok"] and code == 0 else 1
