"""Rendering print jobs through povdesk.ops.printing: real PDFs from a real workspace, Cancel, nothing matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from povdesk.errors import BadInput, Cancelled
from povdesk.ops.printing import PrintRequest, render
from povdesk.store import Workspace
from tests.ops.conftest import TODAY

VILLAGE = "522634100201"


def _quiet(_done: int, _total: int) -> None:
    pass


def test_the_card_of_one_household(village: Workspace, tmp_path: Path) -> None:
    hh = next(village.iter_households())
    out = tmp_path / "card.pdf"
    done = render(village, PrintRequest("cards", household_ids=(hh.id,)), out, _quiet, lambda: False)
    assert done.path == out and done.households == 1 and done.pages >= 1
    assert out.read_bytes().startswith(b"%PDF")


def test_unknown_numbers_and_empty_regions_are_said(village: Workspace, tmp_path: Path) -> None:
    with pytest.raises(BadInput) as unknown:
        render(village, PrintRequest("cards", household_nos=("NO-SUCH",)), tmp_path / "c.pdf", _quiet, lambda: False)
    assert unknown.value.text.en == "no household with these numbers: NO-SUCH"
    with pytest.raises(BadInput) as empty:
        render(village, PrintRequest("cards", prefix="522634100299"), tmp_path / "c.pdf", _quiet, lambda: False)
    assert empty.value.text.en == "no household matches"


def test_a_cancelled_render_stops_quietly(village: Workspace, tmp_path: Path) -> None:
    with pytest.raises(Cancelled):
        render(village, PrintRequest("cards", prefix=VILLAGE), tmp_path / "c.pdf", _quiet, lambda: True)
    request = PrintRequest("publicity", prefix=VILLAGE, step="identification.first_publicity", start=TODAY, end=TODAY)
    with pytest.raises(Cancelled):
        render(village, request, tmp_path / "p.pdf", _quiet, lambda: True)
