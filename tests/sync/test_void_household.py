"""A household voided at the village reaches the county voided in a bundle; the county's restoring it goes down."""

from __future__ import annotations

from povdesk.core.model import RESTORED_FIELD, void_mark
from povdesk.ops.households import restore_household, void_household
from povdesk.store.households import VOIDED
from povdesk.sync import service
from tests.sync.conftest import Pair


def test_void_travels_up_and_the_county_restores_it(pair: Pair) -> None:
    up = pair.dir / "up.pvb"
    service.export_bundle(pair.village, pair.worker, up)
    service.import_bundles(pair.county, pair.coordinator, [up])
    total = pair.county.count_households()
    hh = next(pair.village.iter_households())
    void_household(pair.village, pair.worker, hh, "重复登记")

    up2 = pair.dir / "up2.pvb"
    service.export_bundle(pair.village, pair.worker, up2)
    service.import_bundles(pair.county, pair.coordinator, [up2])
    at_county = pair.county.load_household(hh.id)
    mark = void_mark(at_county)
    assert mark is not None and mark["reason"] == "重复登记" and mark["user"] == "worker"
    assert pair.county.count_households() == total - 1
    assert [r.id for r in pair.county.list_households(status=VOIDED)] == [hh.id]

    restore_household(pair.county, pair.coordinator, at_county, "核实后确有此户")
    down = pair.dir / "down.pvb"
    service.export_bundle(pair.county, pair.coordinator, down, to=pair.village.device_id)
    service.import_bundles(pair.village, pair.worker, [down])
    back = pair.village.load_household(hh.id)
    assert void_mark(back) is None and back.fields[RESTORED_FIELD]["reason"] == "核实后确有此户"
    assert pair.village.count_households() == total and pair.county.count_households() == total
