"""A province loads its own procedures without code changes: a made-up Guizhou file asks a 7-day
monitoring publicity (the national minimum is 5), renames a step and adds an optional evidence field;
the workspace keeps it (audited), every step and every import worker judges by it, files that would
break the histories already recorded are refused with the file and the problem named."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from povdesk.core import procedures as proc
from povdesk.core.importing import decide_lines
from povdesk.paths import resource
from povdesk.store import Workspace
from tests.cli.test_monitoring_flow import USERS, ordinary_household, step_args
from tests.cli.test_thresholds_import import run
from tests.factories import TODAY

GENERAL = "monitoring_identification_general"
BUNDLED = resource("procedures.toml").read_text(encoding="utf-8")
SECTION = f"[procedures.{GENERAL}]"


def guizhou(text: str = BUNDLED) -> str:
    """The bundled file with the general monitoring identification changed in three ways."""
    head, rest = text.split(SECTION, 1)
    rest = rest.replace("publicity_days = 5", "publicity_days = 7", 1)
    rest = rest.replace('zh = "发现线索（农户申报、干部排查、部门预警）"', 'zh = "发现线索（含网格员排查）"', 1)
    risks = '  { key = "risks", kind = "multi_code", codes = "monitoring_risk"'
    rest = rest.replace(risks, '  { key = "grid_member", kind = "text", zh = "网格员", en = "Grid member" },\n' + risks, 1)
    return head + SECTION + rest


@pytest.fixture(autouse=True)
def _bundled_after() -> Iterator[None]:
    yield
    proc.use_procedures(None)  # this process's next workspace starts from the bundled procedures


def test_a_made_up_province_procedures_file_is_in_force_and_refused_when_it_would_break_histories(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("POVDESK_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "village.db"
    assert run(monkeypatch, capsys, "admin", "demo", str(db), "--households", "10", "--seed", "3")[0] == 0
    lines = tmp_path / "new.jsonl"
    lines.write_text(json.dumps(ordinary_household().to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
    assert run(monkeypatch, capsys, "worker", "import-json", str(db), str(lines))[0] == 0
    ws = Workspace.open(db, readonly=True)
    (hh,) = [h for h in ws.iter_households() if h.fields.get("household_kind") == "2" and not h.events]
    ws.close()

    # Files that would break what is recorded: each refused, the file and the problem named, nothing kept.
    broken = {
        "renamed-step.toml": (guizhou().replace('key = "township_review"', 'key = "town_review"', 1),
                              "must stay"),
        "required-field.toml": (guizhou().replace('zh = "网格员", en = "Grid member"',
                                                  'zh = "网格员", en = "Grid member", required = true'),
                                "must be optional"),
        "no-exit.toml": (BUNDLED.replace("[procedures.exit]", "[procedures.leaving]", 1).replace(
            "[[procedures.exit.steps]]", "[[procedures.leaving.steps]]"), "(exit) is missing"),
        "broken.toml": ("[procedures\n", "not a valid TOML file"),
        "bad-kind.toml": (guizhou().replace('kind = "publicity"', 'kind = "poster"', 1), "procedures file is wrong"),
    }
    for name, (text, words) in broken.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        code, said = run(monkeypatch, capsys, "admin", "procedures", "import", str(db), str(path))
        assert code == 2 and name in said and words in said and "Traceback" not in said, (name, said)
        assert len(said.strip().splitlines()) == 1, said
    code, said = run(monkeypatch, capsys, "worker", "procedures", "import", str(db), str(tmp_path / "broken.toml"))
    assert code != 0
    code, said = run(monkeypatch, capsys, "worker", "procedures", "show", str(db), "--json")
    assert json.loads(said)["source"] == "bundled"

    # The province's file: exported, edited, imported; what changes is said.
    start = tmp_path / "start.toml"
    assert run(monkeypatch, capsys, "admin", "procedures", "export", str(db), str(start))[0] == 0
    assert start.read_text(encoding="utf-8") == BUNDLED
    own = tmp_path / "guizhou.toml"
    own.write_text(guizhou(start.read_text(encoding="utf-8")), encoding="utf-8")
    code, said = run(monkeypatch, capsys, "admin", "procedures", "import", str(db), str(own))
    assert code == 0, said
    assert "publicity at least 5 days -> 7" in said and "Grid member" in said and f"{GENERAL}.discovery" in said
    shown = json.loads(run(monkeypatch, capsys, "worker", "procedures", "show", str(db), "--json")[1])
    assert shown["source"] == "workspace"
    general = next(p for p in shown["procedures"] if p["key"] == GENERAL)
    assert general["publicity_days"] == 7 and "grid_member" in general["steps"][0]["evidence"]
    ws = Workspace.open(db, readonly=True)
    assert [e.action for e in ws.audit_entries() if e.action.startswith("procedures.")] == ["procedures.import"]
    ws.close()

    # Steps follow it: the new field is kept, the new name shown, a 5-day publicity is now too short.
    no = hh.household_no
    spec = proc.load_procedures()[GENERAL]
    day = dt.date(2026, 1, 5)
    for st in spec.steps[:spec.step("publicity").index]:  # type: ignore[union-attr]
        extra = ["--set", "grid_member=张三"] if st.key == "discovery" else []
        code, said = run(monkeypatch, capsys, USERS["village_worker"], "step", str(db), no, GENERAL, st.key,
                         *step_args(GENERAL, st.key, day), *extra)
        assert code == 0, said
        day += dt.timedelta(days=1)
    five = [a.replace(f"start_date={(day - dt.timedelta(days=2)).isoformat()}", f"start_date={day.isoformat()}")
            for a in step_args(GENERAL, "publicity", day + dt.timedelta(days=4))]
    assert f"start_date={day.isoformat()}" in five
    code, said = run(monkeypatch, capsys, "worker", "step", str(db), no, GENERAL, "publicity", *five)
    assert code != 0 and "at least 7 days" in said, said
    code, said = run(monkeypatch, capsys, "worker", "step", str(db), no, GENERAL, "publicity",
                     *step_args(GENERAL, "publicity", day + dt.timedelta(days=6)))
    assert code == 0, said
    code, said = run(monkeypatch, capsys, "worker", "history", str(db), no)
    assert "Case found" in said or "发现线索（含网格员排查）" in said
    ws = Workspace.open(db, readonly=True)
    recorded = ws.load_household(hh.id)
    ws.close()
    assert recorded.events[0].evidence["grid_member"] == "张三"

    # A worker process of the import pipeline judges by the same file when handed it: a 6-day
    # publicity is too short there.
    short = recorded.to_dict()
    short["events"][-1]["evidence"]["start_date"] = (day + dt.timedelta(days=1)).isoformat()
    line = json.dumps(short, ensure_ascii=False).encode()
    kept = proc.procedures_text_in_force()
    assert kept is not None
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        own_rules = pool.submit(decide_lines, [line], TODAY, None, None, kept).result()
        bundled = pool.submit(decide_lines, [line], TODAY, None, None, None).result()
    assert own_rules[0] is not None and any("at least 7 days" in p["en"] for p in own_rules[0][0])
    # (judged by the bundled file, the 6 days pass and the province's own field is unknown)
    assert bundled[0] is not None and not any("at least" in p["en"] for p in bundled[0][0])
    assert any("grid_member" in p["en"] for p in bundled[0][0])

    # Reopened, the workspace's procedures are in force again; reset goes back to the bundled ones.
    proc.use_procedures(None)
    ws = Workspace.open(db, readonly=True)
    assert proc.publicity_days(GENERAL) == 7
    ws.close()
    assert run(monkeypatch, capsys, "admin", "procedures", "reset", str(db))[0] == 0
    assert proc.publicity_days(GENERAL) == 5
    assert json.loads(run(monkeypatch, capsys, "worker", "procedures", "show", str(db), "--json")[1])["source"] == "bundled"
