"""The relay's protocol against a real server: idempotent PUTs, 409s, signatures, limits, addressing, gaps."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from pathlib import Path

import httpx
import pytest

from povdesk.relay import client as rc
from povdesk.relay import exchange
from povdesk.relay import signing as sig
from povdesk.store import Workspace
from povdesk.sync import service
from tests.factories import valid_household
from tests.relay.conftest import CLOCK, PW, County, Relay, load_devices


def export(site_ws: Workspace, actor: object, path: Path, *, full: bool = False) -> tuple[Path, str]:
    res = service.export_bundle(site_ws, actor, path, full=full)  # type: ignore[arg-type]
    return path, str(res.manifest["bundle_id"])


def client(ws: Workspace, **options: object) -> rc.RelayClient:
    return exchange.client_for(ws, retries=0, **options)


def test_the_same_upload_twice_and_at_once_is_stored_once_with_one_receipt(relay: Relay, online: County) -> None:
    v = online.villages[0]
    path, bid = export(v.ws, v.user, online.dir / "a.pvb")
    receipts: list[dict[str, object]] = []
    clients = [client(v.ws) for _ in range(6)]  # made here: the workspace stays in this thread

    def put(cl: rc.RelayClient) -> None:
        with cl:
            receipts.append(cl.upload(path, bid).receipt)

    threads = [threading.Thread(target=put, args=(cl,)) for cl in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with client(v.ws) as cl:
        receipts.append(cl.upload(path, bid).receipt)
    assert len(receipts) == 7 and all(r == receipts[0] for r in receipts)
    with client(online.county.ws) as cl:
        inbox = cl.inbox()["bundles"]
    assert [b["bundle_id"] for b in inbox] == [bid]


def test_the_same_id_with_other_bytes_is_a_409_naming_both_digests(relay: Relay, online: County) -> None:
    v = online.villages[0]
    path, bid = export(v.ws, v.user, online.dir / "a.pvb")
    with client(v.ws) as cl:
        first = cl.upload(path, bid)
        other = online.dir / "other.pvb"
        data = path.read_bytes()
        other.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # another last byte, whatever it was
        with pytest.raises(rc.RelayRefused) as err:
            cl.upload(other, bid)
    assert err.value.status == 409 and err.value.code == "different_bytes"
    assert err.value.body["stored"] == first.receipt["sha256"] == rc.file_digest(path)[0]
    assert err.value.body["sent"] == rc.file_digest(other)[0]
    assert "already stored with other bytes" in err.value.message("en")


def _raw(relay: Relay, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> httpx.Response:
    return httpx.request(method, relay.url + target, headers=headers, content=body or None)


def test_unknown_forged_replayed_stale_and_revoked_requests_are_refused(relay: Relay, online: County,
                                                                        tmp_path: Path) -> None:
    v = online.villages[0]
    with client(v.ws) as cl:
        ok = cl.signed_headers("GET", "/v1/inbox?after=0&limit=10")
        assert _raw(relay, "GET", "/v1/inbox?after=0&limit=10", ok).status_code == 200
        replay = _raw(relay, "GET", "/v1/inbox?after=0&limit=10", ok)
        assert replay.status_code == 401 and replay.json()["error"] == "replayed"
        assert set(replay.json()["message"]) == {"zh", "en"}
        stale = cl.signed_headers("GET", "/v1/inbox?after=0&limit=10", now=CLOCK.now().timestamp() - 3600)
        assert _raw(relay, "GET", "/v1/inbox?after=0&limit=10", stale).json()["error"] == "stale"
        other_target = cl.signed_headers("GET", "/v1/inbox?after=0&limit=10")
        assert _raw(relay, "GET", "/v1/inbox?after=5&limit=10", other_target).json()["error"] == "bad_signature"
    # Another workspace's key claiming this device's id: a forgery.
    stranger = Workspace.create(tmp_path / "stranger.db", region_code="522634100209", name="x", level="village",
                                admin_user="admin", admin_password=PW, clock=CLOCK)
    forged = sig.sign_request(stranger.device_keys()["sign"][0], v.ws.device_id, "GET", "/v1/inbox", sig.EMPTY_SHA256,
                              CLOCK.now().timestamp())
    assert _raw(relay, "GET", "/v1/inbox", forged).json()["error"] == "bad_signature"
    unknown = sig.sign_request(stranger.device_keys()["sign"][0], stranger.device_id, "GET", "/v1/inbox",
                               sig.EMPTY_SHA256, CLOCK.now().timestamp())
    r = _raw(relay, "GET", "/v1/inbox", unknown)
    assert r.status_code == 401 and r.json()["error"] == "unknown_device"
    stranger.close()
    # The county revokes the device: a newer list, loaded on the relay.
    load_devices(relay, online, revoke=[v.ws.device_id])
    with client(v.ws) as cl, pytest.raises(rc.RelayRefused) as err:
        cl.inbox()
    assert err.value.status == 403 and err.value.code == "revoked"
    # An older list than the one loaded is refused.
    assert _no_older_list(relay, online)


def _no_older_list(relay: Relay, c: County) -> bool:
    import subprocess
    import sys

    old = c.dir / "devices.json"
    newer = exchange.device_list(c.county.ws, c.county.admin)
    with exchange.client_for(c.county.ws, retries=0) as cl:
        assert cl.put_devices(newer.encode())["devices"] == 3  # the county sends a newer list online
        with pytest.raises(rc.RelayRefused) as err:
            cl.put_devices(old.read_bytes())
    assert err.value.code == "old_list"
    result = subprocess.run([sys.executable, "-m", "povdesk", "relay", "devices", "load", "--database", relay.database,
                             str(old)], capture_output=True, text=True)
    return result.returncode == 2 and "not newer" in result.stderr and "Traceback" not in result.stderr


def test_an_oversized_body_is_refused_before_it_is_read(relay: Relay, online: County) -> None:
    v = online.villages[0]
    with client(v.ws) as cl:
        headers = cl.signed_headers("PUT", "/v1/bundles/big", b"")
    lines = ["PUT /v1/bundles/big HTTP/1.1", f"Host: 127.0.0.1:{relay.port}", "Content-Length: 1073741824",
             f"x-povdesk-bundle-sha256: {'0' * 64}", "x-povdesk-bundle-size: 1073741824",
             *(f"{k}: {val}" for k, val in headers.items())]
    with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"x" * 1000)
        got = b""
        while not got.rstrip().endswith(b"}"):  # the relay answers (and closes) without reading on
            piece = s.recv(65536)
            if not piece:
                break
            got += piece
        answer = got.decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 413")
    body = json.loads(answer.split("\r\n\r\n", 1)[1])
    assert body["error"] == "too_large" and "in parts" in body["message"]["en"]


def test_a_village_fetches_only_what_is_addressed_to_it(relay: Relay, online: County) -> None:
    a, b = online.villages[0], online.villages[1]
    path, bid = export(a.ws, a.user, online.dir / "a.pvb")
    with client(a.ws) as cl:
        cl.upload(path, bid)
    with client(b.ws) as cl:
        assert cl.inbox()["bundles"] == []
        with pytest.raises(rc.RelayRefused) as err:
            cl.download(bid, online.dir / "stolen.pvb", hashlib.sha256(path.read_bytes()).hexdigest())
        assert err.value.status == 404
        assert cl.status(bid) == {"state": "absent", "offset": 0}  # neither sender nor recipient: as if not there
    assert not (online.dir / "stolen.pvb").exists()
    with client(a.ws) as cl, pytest.raises(rc.RelayRefused):  # nor its sender: it is addressed to the county
        cl.download(bid, online.dir / "again.pvb", "0" * 64)


def test_a_gap_is_held_then_filled(relay: Relay, online: County) -> None:
    v = online.villages[0]
    first, first_id = export(v.ws, v.user, online.dir / "1.pvb")
    hh = v.ws.save_household(valid_household(), v.user)
    second, second_id = export(v.ws, v.user, online.dir / "2.pvb")
    with client(v.ws) as cl:
        held = cl.upload(second, second_id)
        assert held.state == "held" and held.receipt["expected_next_seq"] == 1
    with client(online.county.ws) as cl:
        listing = cl.inbox()
        assert listing["bundles"] == [] and listing["held"] == 1
    with client(v.ws) as cl:
        filled = cl.upload(first, first_id)
        assert filled.state == "received" and filled.receipt["expected_next_seq"] > held.receipt["seq"]["last"]
        assert cl.status(second_id)["state"] == "received"
    got = exchange.fetch(online.county.ws, online.county.user)
    assert len(got.fetched) == 2 and not got.refused and got.held == 0
    assert online.county.ws.load_household(hh.id).household_no == hh.household_no
