"""Project-wide checks: the installed wheel carries its data, the core is Qt-free, lint and types pass."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_core_and_cli_do_not_load_qt() -> None:
    code = (
        "import sys, povdesk.cli, povdesk.store, povdesk.core.rules, povdesk.core.procedures, "
        "povdesk.core.exchange, povdesk.core.demo, povdesk.ops.changes, povdesk.ops.households, "
        "povdesk.ops.procedures, povdesk.ops.printing, povdesk.ops.scan, povdesk.ops.importing\n"
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


def _layer(module: str) -> str | None:
    """The part of povdesk a module belongs to: its subpackage (povdesk.core, povdesk.cli...), itself
    for a top-level module (povdesk.clock), or povdesk for a name of povdesk/__init__.py."""
    parts = module.split(".")
    if parts[0] != "povdesk":
        return None
    if len(parts) > 1 and ((ROOT / "povdesk" / parts[1]).is_dir() or (ROOT / "povdesk" / f"{parts[1]}.py").is_file()):
        return f"povdesk.{parts[1]}"
    return "povdesk"


def _imports_between_layers() -> dict[tuple[str, str], list[str]]:
    """(from layer, to layer) -> where: every import statement under povdesk/, those inside functions
    and under TYPE_CHECKING included."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted((ROOT / "povdesk").rglob("*.py")):
        rel = path.relative_to(ROOT)
        name = ".".join(rel.with_suffix("").parts)
        package = name.removesuffix(".__init__") if path.name == "__init__.py" else name.rpartition(".")[0]
        source = _layer(name.removesuffix(".__init__"))
        assert source is not None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(rel))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from povdesk import cli` imports the module povdesk.cli, not a name of povdesk
                targets = [f"{base}.{alias.name}" if _layer(f"{base}.{alias.name}") != _layer(base) else base
                           for alias in node.names]
            for target in targets:
                layer = _layer(target)
                if layer is not None and layer != source:
                    edges[(source, layer)].append(f"{rel}:{node.lineno} imports {target}")
    return edges


def test_no_import_cycle_between_packages() -> None:
    edges = _imports_between_layers()
    # the walk must see the layering it checks (a parser that finds nothing would pass)
    assert {("povdesk.ui", "povdesk.core"), ("povdesk.store", "povdesk.core"), ("povdesk.cli", "povdesk.store"),
            ("povdesk.sync", "povdesk.store"), ("povdesk.reports", "povdesk.core"), ("povdesk.cli", "povdesk.ops"),
            ("povdesk.ui", "povdesk.ops"), ("povdesk.ops", "povdesk.store")} <= set(edges)
    reaches: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        reaches[a].add(b)
    changed = True
    while changed:  # transitive closure; a dozen layers
        changed = False
        for a in list(reaches):
            more = set().union(*(reaches[b] for b in reaches[a])) - reaches[a]
            if more:
                reaches[a] |= more
                changed = True
    in_a_cycle = {edge: where for edge, where in edges.items() if edge[0] in reaches[edge[1]]}
    assert in_a_cycle == {}


def test_the_cli_and_the_ui_do_not_import_each_other() -> None:
    """`povdesk app` starts the UI by module name (povdesk.cli.registry.APP_MODULE); the app makes its
    demo through povdesk.store.demo, not through the CLI."""
    edges = _imports_between_layers()
    assert edges.get(("povdesk.cli", "povdesk.ui"), []) == []
    assert edges.get(("povdesk.ui", "povdesk.cli"), []) == []


def test_the_operations_import_neither_the_ui_nor_the_cli() -> None:
    """povdesk.ops is what both the CLI and the app call: it may not lean on either."""
    edges = _imports_between_layers()
    assert edges.get(("povdesk.ops", "povdesk.ui"), []) == []
    assert edges.get(("povdesk.ops", "povdesk.cli"), []) == []


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
