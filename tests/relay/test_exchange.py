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
    assert c.county.ws.count_households() == sum(v.ws.count_households() for v in c.villages) == 36
    # Again: nothing new to fetch, nothing imported twice.
    again = exchange.fetch(c.county.ws, c.county.user)
    assert again.fetched == [] and c.county.ws.count_households() == 36

    # The county sends its return bundles up; each village fetches its own and sees the acknowledgement.
    down = exchange.upload(c.county.ws, c.county.user)
    assert down.error is None and down.uploaded == 3
    for v in c.villages:
        back = exchange.fetch(v.ws, v.user)
        assert len(back.fetched) == 1 and not back.refused
        (item,) = exchange.outbox_items(v.ws)
        assert item.state == "received" and item.acknowledged
