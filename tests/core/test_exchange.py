"""JSON Lines: households survive the round trip, match the published schema, bad lines are named."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from povdesk.core.exchange import LineError, parse_line, read_jsonl, write_jsonl
from povdesk.core.model import ProcedureEvent
from povdesk.errors import BadInput
from povdesk.paths import resource
from tests.factories import valid_household

SCHEMA = json.loads(resource("schema", "household.schema.json").read_text(encoding="utf-8"))


def _household_with_event():  # type: ignore[no-untyped-def]
    hh = valid_household()
    hh.events.append(ProcedureEvent("identification", "application", "2016-03-01", "village_worker", "worker",
                                    {"notes": "本人申请"}))
    return hh


def test_round_trip_and_schema(tmp_path: Path) -> None:
    hh = _household_with_event()
    buf = io.StringIO()
    assert write_jsonl([hh, valid_household()], buf) == 2
    path = tmp_path / "x.jsonl"
    path.write_text(buf.getvalue(), encoding="utf-8")
    back = [h for _, h in read_jsonl(path)]
    assert back[0].to_dict() == hh.to_dict()
    for line in buf.getvalue().splitlines():
        jsonschema.validate(json.loads(line), SCHEMA)
    assert "杨光明" in buf.getvalue()  # Chinese written as text, not \u escapes


@pytest.mark.parametrize("mutate, where, words", [
    (lambda d: d.pop("members"), "x.jsonl:3", "missing 'members'"),
    (lambda d: d.update(village_code="5226"), "x.jsonl:3: village_code", "12-digit"),
    (lambda d: d.update(status="happy"), "x.jsonl:3: status", "unknown status"),
    (lambda d: d.update(colour="red"), "x.jsonl:3", "unknown keys"),
    (lambda d: d["members"][1].update(id="7"), "x.jsonl:3: members[1]", "UUID"),
    (lambda d: d["members"][0]["fields"].update(name={"a": 1}), "members[0].fields.name", "wrong type"),
    (lambda d: d["events"][0].update(date="2016/03/01"), "events[0].date", "YYYY-MM-DD"),
    (lambda d: d["events"][0].update(role="mayor"), "events[0].role", "unknown role"),
    (lambda d: d["years"][0].update(year=1066), "years[0]", "between 2000 and 2100"),
])
def test_malformed_lines_are_named(tmp_path: Path, mutate, where: str, words: str) -> None:  # type: ignore[no-untyped-def]
    good = _household_with_event().to_dict()
    bad = _household_with_event().to_dict()
    mutate(bad)
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in (good, good, bad)) + "\n", encoding="utf-8")
    with pytest.raises(LineError) as info:
        list(read_jsonl(path))
    assert where in info.value.message("en") and words in info.value.message("en")
    assert info.value.message("zh") != info.value.message("en")


def test_broken_json_names_line_and_column() -> None:
    with pytest.raises(LineError) as info:
        parse_line("{x", "f.jsonl:9")
    assert info.value.message("en").startswith("f.jsonl:9: not valid JSON (column 2")


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "gbk.jsonl"
    path.write_bytes("{\"名\": 1}".encode("gbk"))
    with pytest.raises(BadInput) as info:
        list(read_jsonl(path))
    assert "UTF-8" in info.value.message("en") and "gbk.jsonl" in info.value.message("zh")
    with pytest.raises(BadInput) as info:
        list(read_jsonl(tmp_path / "missing.jsonl"))
    assert "cannot open" in info.value.message("en")
