"""Upload progress: a bundle sent in parts reports the bytes the relay has committed, part by part, up
to 100 %, and shows as "uploading n %" while it runs; a cut upload resumes from what was committed."""

from __future__ import annotations

from pathlib import Path

import pytest

from povdesk.relay import client as rc
from povdesk.relay import exchange
from tests.relay.conftest import County, Relay
from tests.relay.test_robustness import CuttingProxy

CHUNK = 2048


def test_progress_climbs_part_by_part_to_100_and_shows_as_uploading(relay: Relay, online: County) -> None:
    v = online.villages[0]
    (queued,) = exchange.queue_new(v.ws, v.user)
    assert queued.state == "queued" and queued.sent_bytes == 0 and queued.label("en") == "queued"
    parts = -(-queued.size // CHUNK)
    assert parts >= 4, "the bundle must go in several parts"
    reports: list[tuple[str, int, int]] = []
    labels: list[str] = []

    def progress(bundle_id: str, done: int, total: int) -> None:
        reports.append((bundle_id, done, total))
        (now,) = exchange.outbox_items(v.ws)  # what `relay status` and the sync centre read meanwhile
        labels.append(now.label("en"))

    with exchange.client_for(v.ws, chunk=CHUNK, retries=0) as cl:
        report = exchange.upload(v.ws, v.user, export=False, client=cl, progress=progress)
    assert report.error is None and report.uploaded == 1
    assert {r[0] for r in reports} == {queued.bundle_id} and {r[2] for r in reports} == {queued.size}
    done = [r[1] for r in reports]
    # One report per part, each at the offset the relay committed, strictly rising, the last at the end.
    assert done == [min(queued.size, CHUNK * (n + 1)) for n in range(parts)]
    percent = [100 * d // queued.size for d in done]
    assert all(0 < p < 100 for p in percent[:-1]) and percent[-1] == 100
    assert percent == sorted(percent) and len(set(percent)) == len(percent)
    assert labels[:-1] == [f"uploading {p}%" for p in percent[:-1]]
    (item,) = report.items
    assert item.state == "at_relay" and item.sent_bytes == item.size and item.receipt is not None


def test_a_cut_upload_resumes_and_its_progress_goes_on_from_the_committed_bytes(relay: Relay,
                                                                                online: County) -> None:
    v = online.villages[1]
    (queued,) = exchange.queue_new(v.ws, v.user)
    size = queued.size
    assert size > 4 * CHUNK
    first: list[int] = []
    link = exchange.link(v.ws)
    assert link is not None
    proxy = CuttingProxy(relay.port, 3 * CHUNK + 1500)  # the connection drops inside the second part's body
    try:
        cut = rc.RelayClient(proxy.url, v.ws.device_id, v.ws.device_keys()["sign"][0], link.relay_public, retries=0,
                             chunk=CHUNK, clock=v.ws.clock)
        with cut:
            report = exchange.upload(v.ws, v.user, export=False, client=cut,
                                     progress=lambda _b, d, _t: first.append(d))
    finally:
        proxy.close()
    assert report.error is not None and "cannot reach the relay" in report.error.en
    (item,) = report.items
    assert item.state == "queued" and item.sent_bytes == 0  # shown as queued again: nothing is lost
    assert first and first[-1] < size
    with exchange.client_for(v.ws, chunk=CHUNK, retries=0) as cl:
        committed = cl.status(queued.bundle_id, rc.file_digest(Path(queued.file))[0])
        # What was reported is committed (a part the relay committed as the line dropped may be beyond it).
        assert committed["state"] == "uploading" and first[-1] <= committed["offset"] < size
        second: list[int] = []
        again = exchange.upload(v.ws, v.user, export=False, client=cl, progress=lambda _b, d, _t: second.append(d))
    assert again.error is None and again.uploaded == 1
    # The resumed upload starts from the committed offset, not from 0, and still ends at 100 %.
    assert second[0] == min(size, committed["offset"] + CHUNK) and second[-1] == size
    assert second == sorted(second) and len(set(second)) == len(second)
    (item,) = again.items
    assert item.state == "at_relay"
    got = exchange.fetch(online.county.ws, online.county.user, prune_files=False)
    assert not got.refused and [p.read_bytes() for p in got.fetched] == [Path(queued.file).read_bytes()]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_small_bundle_goes_in_one_request_and_reports_100_once(relay: Relay, online: County) -> None:
    v = online.villages[2]
    reports: list[tuple[int, int]] = []
    report = exchange.upload(v.ws, v.user, progress=lambda _b, d, t: reports.append((d, t)))
    (item,) = report.items
    assert item.size <= rc.CHUNK and reports == [(item.size, item.size)] and item.state == "at_relay"
