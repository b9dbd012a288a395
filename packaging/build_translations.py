"""Update resources/i18n/povdesk_zh_CN.ts from the tr() strings in povdesk/ui and build the .qm.

    .venv/bin/python packaging/build_translations.py            # lupdate + fill + lrelease
    .venv/bin/python packaging/build_translations.py --check    # exit 1 if the .ts misses strings

Chinese translations live in resources/i18n/zh_CN.toml (English source -> Chinese), which is
easier to review than the .ts XML; this script copies them into the .ts before lrelease. The .ts
and the .qm are committed, so an installed povdesk needs no Qt tools.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "resources" / "i18n"
TS = I18N / "povdesk_zh_CN.ts"
QM = I18N / "povdesk_zh_CN.qm"
TABLE = I18N / "zh_CN.toml"


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        raise SystemExit(f"{name} not found: install PySide6 in this environment")
    return found


def lupdate(ts: Path) -> None:
    sources = sorted(str(p) for p in (ROOT / "povdesk" / "ui").glob("*.py"))
    subprocess.run([_tool("pyside6-lupdate"), "-silent", "-no-obsolete", "-locations", "none", *sources,
                    "-ts", str(ts)], check=True)


def fill(ts: Path, table: dict[str, str]) -> list[str]:
    """Copy translations from the table into the .ts; returns the sources with no translation."""
    tree = ET.parse(ts)
    missing = []
    for message in tree.iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        if translation is None:
            translation = ET.SubElement(message, "translation")
        if source in table:
            translation.text = table[source]
            translation.attrib.pop("type", None)
        else:
            translation.attrib["type"] = "unfinished"
            missing.append(source)
    tree.getroot().set("language", "zh_CN")
    tree.write(ts, encoding="utf-8", xml_declaration=True)
    return missing


def lrelease(ts: Path, qm: Path) -> None:
    subprocess.run([_tool("pyside6-lrelease"), "-silent", str(ts), "-qm", str(qm)], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report untranslated strings, change nothing")
    args = ap.parse_args()
    table = tomllib.loads(TABLE.read_text(encoding="utf-8")) if TABLE.exists() else {}
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            ts = Path(tmp) / TS.name
            if TS.exists():
                shutil.copy(TS, ts)
            lupdate(ts)
            missing = fill(ts, table)
        for m in missing:
            sys.stdout.write(f"untranslated: {m}\n")
        return 1 if missing else 0
    lupdate(TS)
    missing = fill(TS, table)
    lrelease(TS, QM)
    for m in missing:
        sys.stdout.write(f"untranslated: {m}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
