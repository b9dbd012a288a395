"""Take the README's screenshots of the app on a demo village into docs/screenshots/.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python docs/take_screenshots.py
    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/take_screenshots.py      # no X server at all

Both render the same widgets; each picture is the window's own contents (no window manager).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def settle(app: QApplication, ms: int = 400) -> None:
    """Let the window paint and timers run; a local loop, since app.quit() would close the windows."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    from povdesk.core.demo import DEMO_PASSWORD
    from povdesk.store import Workspace
    from povdesk.ui.app import create_demo_workspace, install_language
    from povdesk.ui.fonts import load_app_font
    from povdesk.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    install_language(app, "zh")
    load_app_font(app)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.db"
        create_demo_workspace(path, households=300, seed=1)
        ws = Workspace.open(path)
        user = ws.authenticate("township", DEMO_PASSWORD)
        window = MainWindow(ws, user, data_dir=Path(tmp), lang="zh")
        window.resize(1366, 740)  # the usual village laptop, less the taskbar
        window.show()
        settle(app, 1500)  # the background check of every household finishes
        window.search.setText("杨")  # the list with a search
        settle(app, 600)
        window.grab().save(str(OUT / "main-window.png"))
        window.search.clear()
        settle(app, 300)

        # the editor on a household with a planted mistake, its finding marked
        from povdesk.core.rules import RuleContext, validate_household

        ctx = RuleContext(today=ws.clock.today())

        scan = window.scan
        target = next(hh.id for hh in ws.iter_households() if validate_household(hh, ctx))
        window.open_household(target)
        settle(app, 800)
        window.grab().save(str(OUT / "editor-finding.png"))

        # the procedure panel of a household part-way through identification
        due = next((ids for key, ids in sorted((scan.due if scan else {}).items()) if ids), None)
        if due:
            window.open_household(sorted(due)[0])
            settle(app, 400)
        editor = window.editor
        tabs = getattr(editor, "tabs", None)
        if tabs is not None:
            tabs.setCurrentIndex(tabs.count() - 1)
        settle(app, 400)
        window.grab().save(str(OUT / "procedure.png"))

        window.dashboard_action.setChecked(True)
        settle(app, 800)
        # Scrolled down to the monitoring (防止返贫监测) line and charts, under the funnels.
        bar = window.dashboard.page_area.verticalScrollBar()
        bar.setValue(bar.maximum())
        settle(app, 400)
        window.grab().save(str(OUT / "dashboard.png"))
        window.dashboard_action.setChecked(False)

        from povdesk.ui.print_centre import open_print_centre
        from povdesk.ui.sync_centre import open_sync_centre

        printing = open_print_centre(window, "publicity", "village")
        if printing is not None:
            printing.preview_button.click()
            settle(app, 4000)  # rendered in the background, then shown
            printing.grab().save(str(OUT / "print-centre.png"))
            printing.close()
        centre = open_sync_centre(window)
        centre.tabs.setCurrentIndex(1)
        settle(app, 600)
        centre.grab().save(str(OUT / "sync-centre.png"))
        centre.close()
        window.close()
    for p in sorted(OUT.glob("*.png")):
        sys.stdout.write(f"{p.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
