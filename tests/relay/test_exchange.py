"""The online exchange end to end: three villages upload, the county fetches and imports, returns come back."""

from __future__ import annotations

from povdesk.relay import exchange
from tests.relay.conftest import County, Relay


def test_three_villages_and_a_county_exchange_through_the_relay(relay: Relay, online: County) -> None:
    c = online
    for v in c.villages:
        report = exchange.upload(v.ws, v.user)
        assert report.error is None and report.uploaded == 1 and report.refused == 0
        (item,) = report.items
        assert item.state == "at_relay" and item.receipt is not None and item.receipt["state"] == "received"
    got = exchange.fetch(c.county.ws, c.county.user)
    assert len(got.fetched) == 3 and not got.refused
    # Every record of every village was judged at the county, as for a bundle on a USB stick (a demo
    # record whose steps the county's rules do not accept from a village device is listed, not lost).
    assert sorted(len(r.records) for r in got.reports) == [v.ws.count_households() for v in c.villages] == [12] * 3
    inserted = sum(r.summary().inserted for r in got.reports)
    assert inserted > 0 and c.county.ws.count_households() == inserted
    # Again: nothing new to fetch, nothing imported twice.
    again = exchange.fetch(c.county.ws, c.county.user)
    assert again.fetched == [] and c.county.ws.count_households() == inserted

    # The county sends its return bundles up; each village fetches its own and sees the acknowledgement.
    down = exchange.upload(c.county.ws, c.county.user)
    assert down.error is None and down.uploaded == 3
    for v in c.villages:
        back = exchange.fetch(v.ws, v.user)
        assert len(back.fetched) == 1 and not back.refused
        (item,) = exchange.outbox_items(v.ws)
        assert item.state == "received" and item.acknowledged
        assert item.label("en") == "received by the county"
    # The villages' next bundles carry their acknowledgements up: the county's return bundles then
    # read as received by the devices they went to.
    for v in c.villages:
        assert exchange.upload(v.ws, v.user).uploaded == 1
    exchange.fetch(c.county.ws, c.county.user)
    returned = exchange.outbox_items(c.county.ws)
    assert returned and all(i.state == "received" and i.label("en") == "received by the device" for i in returned)
