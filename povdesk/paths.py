"""Where povdesk finds its bundled forms/resources and keeps user data and logs."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

APP_NAME = "povdesk"


@cache
def _bundle_root() -> Path:
    """Directory holding forms/ and resources/.

    Installed wheel: inside the package. Source checkout or editable install: the repository
    root. Frozen (PyInstaller): sys._MEIPASS.
    """
    frozen = getattr(sys, "_MEIPASS", None)
    candidates = [Path(frozen)] if frozen else []
    here = Path(__file__).resolve().parent
    candidates += [here, here.parent]
    for root in candidates:
        if (root / "forms").is_dir() and (root / "resources").is_dir():
            return root
    raise RuntimeError(f"povdesk data files (forms/, resources/) not found near {here}")


def forms_dir() -> Path:
    return _bundle_root() / "forms"


def resources_dir() -> Path:
    return _bundle_root() / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def portable_data_dir() -> Path | None:
    """A frozen copy with a `povdesk-data` folder beside it keeps everything there (USB stick)."""
    if getattr(sys, "frozen", False):
        candidate = Path(sys.executable).resolve().parent / "povdesk-data"
        if candidate.is_dir():
            return candidate
    return None


def user_data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Data directory: an explicit override, POVDESK_DATA_DIR, a portable copy's folder, else per user."""
    chosen = override or os.environ.get("POVDESK_DATA_DIR") or portable_data_dir()
    if chosen:
        return Path(chosen)
    from platformdirs import user_data_dir as _udd

    return Path(_udd(APP_NAME, appauthor=False))


def user_log_dir(override: str | os.PathLike[str] | None = None) -> Path:
    chosen = override or os.environ.get("POVDESK_DATA_DIR") or portable_data_dir()
    if chosen:
        return Path(chosen) / "logs"
    from platformdirs import user_log_dir as _uld

    return Path(_uld(APP_NAME, appauthor=False))
