"""The packaging check: build the frozen app with PyInstaller and make it do the main jobs headless.

Runs packaging/check_frozen.sh (about a minute: build, archive, CLI steps, the app offscreen) when
POVDESK_PACKAGING_CHECK=1, or in CI (CI=true) when PyInstaller is installed ('.[test,build]').
POVDESK_PACKAGING_CHECK=0 turns it off everywhere. Linux only. The build goes to a temporary
directory, never to the checkout's dist/.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "check_frozen.sh"


def _plan() -> tuple[bool, str]:
    """(run, reason): whether to run the check here and, if not, why not."""
    wanted = os.environ.get("POVDESK_PACKAGING_CHECK", "")
    in_ci = os.environ.get("CI", "").lower() == "true"
    have_pyinstaller = importlib.util.find_spec("PyInstaller") is not None
    if not sys.platform.startswith("linux"):
        return False, "the packaging check runs on Linux (Windows: packaging/build_windows.ps1 by hand)"
    if shutil.which("bash") is None or shutil.which("tar") is None:
        return False, "the packaging check needs bash and tar"
    if wanted == "0":
        return False, "POVDESK_PACKAGING_CHECK=0"
    if wanted == "1":
        return True, ""
    if in_ci and have_pyinstaller:
        return True, ""
    if in_ci:
        return False, "CI without PyInstaller: install '.[test,build]' to run the packaging check"
    return False, "slow (about a minute): set POVDESK_PACKAGING_CHECK=1 to build and check the frozen app"


RUN, REASON = _plan()


@pytest.mark.skipif(not RUN, reason=REASON)
def test_frozen_app_does_the_main_jobs(tmp_path: Path) -> None:
    args = ["bash", str(SCRIPT), "--dist", str(tmp_path / "dist"), "--work", str(tmp_path / "work")]
    if importlib.util.find_spec("PyInstaller") is not None:
        args += ["--python", sys.executable]  # this venv already has everything; no build venv
    env = dict(os.environ, TMPDIR=str(tmp_path))
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=900,
                            stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "all steps passed" in result.stdout
    print(result.stdout[result.stdout.find("== figures"):])
