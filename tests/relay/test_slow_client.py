"""Clients that cost the relay: a device sending too fast is answered 429 with Retry-After (the client
waits that long and tries again; the laptop shows the refusal and sends the bundle in its next round),
other devices are not slowed by it, and stalled connections hold up no other upload."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from povdesk.relay import client as rc
from povdesk.relay import exchange
from povdesk.store import Workspace
from tests.factories import valid_household
from tests.relay.conftest import CLOCK, PW, ROOT, County, Relay, connect_all, load_devices

RATE = 6  # requests a minute per device: a burst of 6, then one every 10 s


@pytest.fixture
def limited(database_url: str, tmp_path: Path, county: County) -> Iterator[County]:
    """The county and its villages on a relay started with --rate-limit 6."""
    relay = Relay(database_url, tmp_path / "relay-key.pem", tmp_path / "relay.log",
                  extra=["--rate-limit", str(RATE)]).start()
    try:
        load_devices(relay, county)
        connect_all(relay, county)
        yield county
    finally:
        relay.stop()


def exhaust(cl: rc.RelayClient) -> rc.RelayRefused:
    """Signed requests as fast as they go until the relay answers 429; that refusal. The bucket then
    holds less than one request, refilled at one per 10 s."""
    for _ in range(5 * RATE):
        try:
            cl.inbox()
        except rc.RelayRefused as exc:
            return exc
    raise AssertionError("the relay never limited the device")


def test_a_device_sending_too_fast_gets_429_with_retry_after_and_others_do_not(limited: County) -> None:
    v, other = limited.villages[0], limited.villages[1]
    with exchange.client_for(v.ws, retries=0) as cl:
        refused = exhaust(cl)
    assert refused.status == 429 and refused.code == "rate_limited"
    wait = refused.body["retry_after"]
    assert isinstance(wait, int) and 1 <= wait <= 60 // RATE + 1
    assert f"try again in {wait} s" in refused.text.en and refused.text.en.startswith("relay: ")
    assert f"{wait} 秒后再试" in refused.text.zh
    # The buckets are per device: another village is served at once.
    with exchange.client_for(other.ws, retries=0) as cl:
        assert cl.inbox()["bundles"] == []
    # A client that may retry waits what Retry-After says, then gets through (the bucket has refilled
    # by then). Should a token come back between the two requests, the first is served at once: try
    # again, so that the wait is seen.
    waited: list[float] = []
    for _ in range(3):
        with exchange.client_for(v.ws, retries=0) as cl:
            exhaust(cl)
        with exchange.client_for(v.ws, retries=2, backoff=0.01) as cl:
            t0 = time.monotonic()
            assert cl.inbox()["bundles"] == []
            waited.append(time.monotonic() - t0)
        if waited[-1] >= 0.9:
            break
    assert max(waited) >= 0.9


def test_a_rate_limited_upload_is_shown_refused_with_the_reason_and_sent_in_the_next_round(limited: County) -> None:
    v = limited.villages[0]
    for _ in range(3):
        (queued,) = exchange.queue_new(v.ws, v.user)
        with exchange.client_for(v.ws, retries=0) as cl:
            refused = exhaust(cl)
            report = exchange.upload(v.ws, v.user, export=False, client=cl)
        if report.refused:
            break
        # A token came back between the two requests and the bundle went: a new one, and again.
        v.ws.save_household(valid_household(), v.user)
        time.sleep(refused.body["retry_after"])
    assert report.error is None and report.uploaded == 0 and report.refused == 1
    item = next(i for i in report.items if i.bundle_id == queued.bundle_id)
    assert item.state == "refused" and item.reason is not None and Path(item.file).is_file()
    assert "too many requests; try again in" in str(item.reason)
    time.sleep(refused.body["retry_after"] + 0.2)
    again = exchange.upload(v.ws, v.user, export=False)
    assert again.error is None and again.uploaded == 1
    item = next(i for i in again.items if i.bundle_id == queued.bundle_id)
    assert item.state == "at_relay" and item.reason is None and item.receipt is not None


# ---------------------------------------------------------------------------------------------
# Slow and stalled clients


def stall(relay: Relay, ws: Workspace, bundle_id: str, sent: int, size: int = 65536) -> socket.socket:
    """A PUT signed by an enrolled device whose headers arrive whole, then only `sent` bytes of its body."""
    body = os.urandom(size)
    target = f"/v1/bundles/{bundle_id}"
    with exchange.client_for(ws) as cl:
        signed = cl.signed_headers("PUT", target, body)
    lines = [f"PUT {target} HTTP/1.1", f"Host: 127.0.0.1:{relay.port}", f"Content-Length: {size}",
             f"x-povdesk-bundle-sha256: {hashlib.sha256(body).hexdigest()}", f"x-povdesk-bundle-size: {size}",
             *(f"{k}: {val}" for k, val in signed.items())]
    s = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[:sent])
    return s


def half_headers(relay: Relay) -> socket.socket:
    """A connection that sends the start of a request line and headers, and never finishes them."""
    s = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
    s.sendall(f"PUT /v1/bundles/slow HTTP/1.1\r\nHost: 127.0.0.1:{relay.port}\r\nContent-Le".encode())
    return s


def answer(s: socket.socket, timeout: float) -> str:
    s.settimeout(timeout)
    got = b""
    while not got.rstrip().endswith(b"}"):
        piece = s.recv(65536)
        if not piece:
            break
        got += piece
    return got.decode("utf-8", "replace")


def test_stalled_connections_hold_up_no_other_upload(relay: Relay, online: County) -> None:
    c = online
    stalled = [stall(relay, v.ws, f"stalled-{n}-{i}", sent=(0, 1000, 30000)[i % 3])
               for i in range(6) for n, v in enumerate(c.villages)]
    stalled += [half_headers(relay) for _ in range(6)]
    try:
        time.sleep(0.5)  # every stalled request is in: authenticated, waiting for its body
        done: dict[str, float] = {}

        def upload(n: int) -> None:
            ws = Workspace.open(c.villages[n].ws.path, clock=CLOCK)  # one connection per thread
            try:
                t0 = time.monotonic()
                report = exchange.upload(ws, ws.authenticate("worker", PW))
                if report.error is None and report.uploaded == 1:
                    done[ws.region_code] = time.monotonic() - t0
            finally:
                ws.close()

        threads = [threading.Thread(target=upload, args=(n,)) for n in range(len(c.villages))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        # Each village, the ones with stalled requests open included, got its receipt without waiting
        # for them (they wait up to 60 s for their bodies).
        assert sorted(done) == sorted(v.ws.region_code for v in c.villages)
        assert max(done.values()) < 10
        got = exchange.fetch(c.county.ws, c.county.user)
        assert len(got.fetched) == 3 and not got.refused
    finally:
        for s in stalled:
            s.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_client_stalled_mid_body_is_answered_408_and_dropped_after_60_s(relay: Relay, online: County) -> None:
    v = online.villages[0]
    t0 = time.monotonic()
    s = stall(relay, v.ws, "stalled-body", sent=1000)
    try:
        got = answer(s, 90)
    finally:
        s.close()
    waited = time.monotonic() - t0
    assert got.startswith("HTTP/1.1 408"), got[:200]
    body = json.loads(got.split("\r\n\r\n", 1)[1])
    assert body["error"] == "timeout" and "too slowly" in body["message"]["en"]
    assert 55 <= waited < 85
    # Nothing of it was kept: the id is unknown to the relay.
    with exchange.client_for(v.ws, retries=0) as cl:
        assert cl.status("stalled-body")["state"] == "absent"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_relay_status_lists_a_rate_limited_bundle_as_refused_with_the_relays_reason(limited: County) -> None:
    v = limited.villages[0]
    exchange.queue_new(v.ws, v.user)
    with exchange.client_for(v.ws, retries=0) as cl:
        exhaust(cl)
        report = exchange.upload(v.ws, v.user, export=False, client=cl)
    if not report.refused:
        pytest.skip("a token came back between the two requests")
    env = dict(os.environ, POVDESK_LANG="en", POVDESK_USER="worker", POVDESK_PASSWORD=PW)
    cli = subprocess.run([sys.executable, "-m", "povdesk", "relay", "status", str(v.ws.path)], capture_output=True,
                         text=True, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert "refused: relay: too many requests; try again in" in cli.stdout
