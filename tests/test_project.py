"""Project-wide checks: the installed wheel carries its data, the core is Qt-free, lint and types pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_core_and_cli_do_not_load_qt() -> None:
    code = (
        "import sys, povdesk.cli, povdesk.store, povdesk.core.rules, povdesk.core.procedures, "
        "povdesk.core.exchange, povdesk.core.demo\n"
        "povdesk.cli.build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_only_the_ui_package_imports_pyside6() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "povdesk").rglob("*.py")
        if "PySide6" in p.read_text(encoding="utf-8") and "ui" not in p.relative_to(ROOT / "povdesk").parts[:1]
    ]
    assert offenders == []


def test_only_the_store_writes_sql() -> None:
    keywords = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "CREATE TABLE")
    offenders = []
    for p in (ROOT / "povdesk").rglob("*.py"):
        rel = p.relative_to(ROOT / "povdesk")
        if rel.parts[0] == "store":
            continue
        text = p.read_text(encoding="utf-8")
        if any(k in text for k in keywords):
            offenders.append(str(rel))
    assert offenders == []


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the tracked tree")
def test_wheel_carries_forms_and_resources(tmp_path: Path) -> None:
    """pip install . (not editable) must find forms/ and resources/ inside the package."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True)
    (wheel,) = tmp_path.glob("povdesk-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(site)
    assert "povdesk/forms/household.toml" in names
    assert "povdesk/resources/codes.toml" in names
    assert "povdesk/resources/schema/household.schema.json" in names
    code = (
        "import povdesk, povdesk.paths as p\n"
        "from povdesk.core.forms import household_form\n"
        "from povdesk.core.regions import is_known_county\n"
        f"assert povdesk.__file__.startswith({str(site)!r}), povdesk.__file__\n"
        f"assert str(p.forms_dir()).startswith({str(site)!r}), p.forms_dir()\n"
        "assert household_form().by_key['main_cause'].codes == 'poverty_cause'\n"
        "assert is_known_county('522634')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env=env)


def test_ruff_is_clean() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "povdesk", "tests", "bench"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
