"""Shared fixtures: a demo workspace made by the real CLI, commands run in-process, PDFs read back."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from povdesk.cli import main
from povdesk.core.demo import DEMO_PASSWORD
from tests.factories import TODAY

WORKER = {"POVDESK_USER": "worker", "POVDESK_PASSWORD": DEMO_PASSWORD}
VILLAGE = "522634100201"

Run = Callable[..., tuple[int, str, str]]


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"needs {', '.join(missing)} (poppler-utils / zbar-tools; .ci/run installs them)")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POVDESK_LANG", "en")
    monkeypatch.setenv("POVDESK_DATA_DIR", str(tmp_path / "data"))
    for key in ("POVDESK_USER", "POVDESK_PASSWORD"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    def _run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        for k, v in (env if env is not None else WORKER).items():
            monkeypatch.setenv(k, v)
        code = main(["--today", TODAY.isoformat(), *(str(a) for a in argv)])
        out, err = capsys.readouterr()
        return code, out, err
    return _run


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    env = dict(os.environ, POVDESK_LANG="en", POVDESK_DATA_DIR=str(path.parent / "data"))
    result = subprocess.run([sys.executable, "-m", "povdesk", "--today", TODAY.isoformat(), "demo", str(path), "--plain", "--households", "60",
                             "--seed", "3", "--region", VILLAGE], capture_output=True, text=True, env=env,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace, free to change."""
    dest = tmp_path / "ws.db"
    with sqlite3.connect(demo_db) as a, sqlite3.connect(dest) as b:
        a.backup(b)
    return dest


def pdftext(path: Path) -> str:
    need("pdftotext")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdffonts(path: Path) -> list[str]:
    need("pdffonts")
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[2:]


def pdfpages(path: Path) -> int:
    need("pdfinfo")
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def outline(path: Path) -> list[tuple[int, str]]:
    """(page, title) of each top-level bookmark, read back by poppler's pdftohtml."""
    import re
    need("pdftohtml")
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-stdout", "-q", str(path)], capture_output=True,
                         text=True, check=True).stdout
    part = xml.split("<outline>", 1)[1].split("</outline>", 1)[0] if "<outline>" in xml else ""
    return [(int(p), t) for p, t in re.findall(r'<item page="(\d+)">([^<]*)</item>', part)]


def qr_codes(path: Path, page: int, tmp: Path) -> list[str]:
    need("pdftoppm", "zbarimg")
    prefix = tmp / f"qr{page}"
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", str(page), "-l", str(page), "-singlefile",
                    str(path), str(prefix)], check=True)
    out = subprocess.run(["zbarimg", "-q", "--raw", str(prefix) + ".png"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line]
