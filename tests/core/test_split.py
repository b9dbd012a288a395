"""SplitWork: a forked helper from the front, this process from the back; every item done once,
in the right place, and whatever the helper did not do left for the caller."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import date

import pytest

from povdesk.core.demo import generate
from povdesk.core.model import Household
from povdesk.core.split import NOT_DONE, SplitWork

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the helper is a fork (Linux)")

HOUSEHOLDS = generate("522634", count=60, seed=8, today=date(2024, 6, 1))


def _work(hh: Household) -> tuple[str, int]:
    if hh.household_no.endswith("7"):
        raise ValueError("left for the caller")
    return hh.id, len(hh.members)


def _slowly(items: list[Household], delay: float) -> Iterator[Household | None]:
    for hh in items:
        time.sleep(delay)
        yield hh


@pytest.mark.parametrize("delay", [0.0, 0.01])
def test_every_item_is_done_once_in_its_place(delay: float) -> None:
    split = SplitWork.start(lambda: _slowly(HOUSEHOLDS, delay), _work)
    assert split is not None
    if delay:
        time.sleep(0.1)  # the helper has done a few; this process does the rest from the back
    results = split.finish(HOUSEHOLDS)
    for hh, got in zip(HOUSEHOLDS, results, strict=True):
        if hh.household_no.endswith("7"):
            assert got is NOT_DONE
        else:
            assert got == (hh.id, len(hh.members))
    assert split.stats["helper_did"] <= split.parent_from
    assert split.stats["parent_did"] == len(HOUSEHOLDS) - split.parent_from
    if delay:
        assert 0 < split.parent_from < len(HOUSEHOLDS) and split.verdict is False


def test_a_failing_helper_leaves_its_part_to_the_caller() -> None:
    def produce() -> Iterator[Household | None]:
        yield from HOUSEHOLDS[:5]
        raise OSError("the disk went away")

    split = SplitWork.start(produce, _work)
    assert split is not None
    time.sleep(0.2)
    results = split.finish(HOUSEHOLDS)
    assert split.verdict is None and split.stats["helper_failed"]
    assert all(r is NOT_DONE for r in results[:split.parent_from])


def test_a_malformed_item_stops_both() -> None:
    def produce() -> Iterator[Household | None]:
        yield from HOUSEHOLDS[:3]
        yield None

    split = SplitWork.start(produce, _work)
    assert split is not None
    time.sleep(0.2)
    assert split.malformed
    split.finish(HOUSEHOLDS)
    assert split.verdict is True and split.stats["parent_did"] == 0
