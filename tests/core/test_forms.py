"""The form specs parse, reference real code lists, carry both languages and reject bad files."""

from __future__ import annotations

import dataclasses

import pytest

from povdesk.core.codes import code_list, code_lists
from povdesk.core.forms import KINDS, FormSpecError, household_form, member_form, parse_form


def test_forms_load_with_every_kind_used() -> None:
    kinds = {f.kind for form in (household_form(), member_form()) for s in form.sections for f in s.fields}
    assert kinds == KINDS


@pytest.mark.parametrize("form", [household_form(), member_form()], ids=["household", "member"])
def test_every_field_is_bilingual_and_code_lists_exist(form) -> None:  # type: ignore[no-untyped-def]
    for section in form.sections:
        assert section.zh and section.en
        for f in section.fields:
            assert f.zh and f.en, f.key
            if f.kind in ("code", "multi_code"):
                assert f.codes in code_lists()


def test_per_year_and_repeating_sections() -> None:
    form = household_form()
    assert form.section("income").per_year and not form.section("income").repeating
    assert form.section("measures").per_year and form.section("measures").repeating
    assert form.section("helpers").repeating
    assert "wage_income" not in form.by_key  # per-year fields are not plain household fields
    assert form.field("wage_income", "income").kind == "money"


def test_specs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        household_form().by_key["address"].required = False  # type: ignore[misc]


def test_visibility_condition() -> None:
    f = household_form().by_key["relocation_mode"]
    assert not f.visible({"relocated": False}) and f.visible({"relocated": True})


def test_code_lists_have_labels_and_attributes() -> None:
    rel = code_list("relation")
    assert rel.label("03") == "之子" and rel.label("03", "en") == "Son"
    assert rel.attr("03", "sex") == "1" and rel.attr("12", "gen") == 1
    assert code_list("poverty_cause").find("因病").code == "01"  # type: ignore[union-attr]
    assert len(code_list("ethnicity").codes) == 58


def _form(**field: object) -> dict:
    base = {"key": "x", "kind": "text", "zh": "甲", "en": "A"}
    base.update(field)
    return {"form": {"key": "t", "version": "1", "zh": "表", "en": "Form"},
            "sections": [{"key": "s", "zh": "节", "en": "Section", "fields": [base]}]}


@pytest.mark.parametrize("bad, message", [
    ({"kind": "colour"}, "unknown kind"),
    ({"kind": "code", "codes": "nope"}, "unknown code list"),
    ({"colour": "red"}, "unknown keys"),
    ({"visible_if": {"field": "y", "equals": 1}}, "unknown y"),
    ({"visible_if": {"field": "x"}}, "exactly one"),
])
def test_malformed_forms_are_refused(bad: dict, message: str) -> None:
    with pytest.raises(FormSpecError, match=message):
        parse_form(_form(**bad), "test.toml")


def test_missing_key_is_named() -> None:
    data = _form()
    del data["sections"][0]["fields"][0]["zh"]
    with pytest.raises(FormSpecError, match="missing key 'zh'"):
        parse_form(data, "test.toml")
