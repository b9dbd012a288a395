"""What goes wrong on real networks and machines: cut connections, a relay killed mid-write, no network,
and what a stolen relay database would give away."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from povdesk.relay import client as rc
from povdesk.relay import db, exchange
from povdesk.sync import service
from tests.relay.conftest import PW, ROOT, County, Relay, free_port
from tests.relay.test_prune import relay_rows

CHUNK = 2048


class CuttingProxy:
    """127.0.0.1 TCP proxy to the relay that drops each connection after `cut` bytes from the client."""

    def __init__(self, target_port: int, cut: int) -> None:
        self.target, self.cut = target_port, cut
        self.port = free_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._server.accept()
            except OSError:
                continue
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target))

        def back() -> None:
            try:
                while data := upstream.recv(65536):
                    client.sendall(data)
            except OSError:
                pass

        threading.Thread(target=back, daemon=True).start()
        sent = 0
        try:
            while data := client.recv(4096):
                room = self.cut - sent
                upstream.sendall(data[:room])
                sent += min(len(data), room)
                if sent >= self.cut:
                    break
        except OSError:
            pass
        for s in (client, upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._stop = True
        self._server.close()


def full_bundle(c: County, n: int, village: int = 0) -> tuple[Path, str]:
    v = c.villages[village]
    path = c.dir / f"full-{village}-{n}.pvb"
    res = service.export_bundle(v.ws, v.user, path, full=True)
    return path, str(res.manifest["bundle_id"])


def test_a_connection_cut_in_the_middle_resumes_where_the_committed_parts_end(relay: Relay, online: County) -> None:
    v = online.villages[0]
    for n, cut in enumerate((700, 3500, 9000, 14000)):
        path, bid = full_bundle(online, n)
        size = path.stat().st_size
        proxy = CuttingProxy(relay.port, cut)
        try:
            cut_client = rc.RelayClient(proxy.url, v.ws.device_id, v.ws.device_keys()["sign"][0],
                                        exchange.link(v.ws).relay_public, retries=0, chunk=CHUNK)  # type: ignore[union-attr]
            with cut_client, pytest.raises(rc.RelayUnreachable):
                cut_client.upload(path, bid)
        finally:
            proxy.close()
        with exchange.client_for(v.ws, retries=0, chunk=CHUNK) as cl:
            st = cl.status(bid, rc.file_digest(path)[0])
            assert st["state"] in ("absent", "uploading") and st["offset"] % CHUNK == 0 and st["offset"] < size
            done = cl.upload(path, bid)
        assert done.state == "received" and done.receipt["size"] == size
    got = exchange.fetch(online.county.ws, online.county.user, prune_files=False)
    assert len(got.fetched) == 4 and not got.refused
    assert all(p.read_bytes() == (online.dir / f"full-0-{n}.pvb").read_bytes() for n, p in enumerate(got.fetched))


def test_a_relay_killed_during_writes_never_serves_half_a_bundle(relay: Relay, online: County) -> None:
    files = [full_bundle(online, n, village=n % 3) for n in range(6)]
    clients = [exchange.client_for(online.villages[n % 3].ws, retries=0, chunk=1024) for n in range(6)]
    outcomes: list[object] = []

    def put(cl: rc.RelayClient, path: Path, bid: str) -> None:
        try:
            outcomes.append(cl.upload(path, bid).state)
        except (rc.RelayUnreachable, rc.RelayRefused) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=put, args=(cl, p, b)) for cl, (p, b) in zip(clients, files, strict=True)]
    for t in threads:
        t.start()
    time.sleep(0.4)
    relay.kill()
    for t in threads:
        t.join()
    for cl in clients:
        cl.close()
    # Every part a row names is a whole file of its length; every stored bundle's parts are all its bytes.
    folder = Path(relay_rows(relay, select(db.settings.c.value).where(db.settings.c.name == "store"))[0][0])
    named = relay_rows(relay, select(db.parts.c.upload_id, db.parts.c.length, db.parts.c.file))
    assert named, "the kill should come after some parts were stored"
    for _upload, length, name in named:
        assert (folder / "parts" / name).stat().st_size == length
    for upload_id, size in relay_rows(relay, select(db.bundles.c.upload_id, db.bundles.c.size)):
        assert sum(n for u, n, _f in named if u == upload_id) == size
    # A file no row names (as a kill between its rename and its commit leaves) is removed at start once old.
    orphan = folder / "parts" / "orphan.0.0123456789abcdef"
    orphan.write_bytes(b"x" * 100)
    os.utime(orphan, (time.time() - 7200, time.time() - 7200))
    relay.start(same_port=True)
    assert not orphan.exists() and all((folder / "parts" / name).exists() for _u, _n, name in named)
    digests = {bid: rc.file_digest(p)[0] for p, bid in files}
    with exchange.client_for(online.county.ws, retries=0) as cl:
        for item in cl.inbox()["bundles"]:  # whatever was stored before the kill is whole
            dest = online.dir / f"served-{item['bundle_id']}.pvb"
            cl.download(item["bundle_id"], dest, item["sha256"])
            assert item["sha256"] == digests[item["bundle_id"]]
    for n, (path, bid) in enumerate(files):  # the rest resumes
        with exchange.client_for(online.villages[n % 3].ws, retries=0, chunk=1024) as cl:
            assert cl.upload(path, bid).state == "received"
    got = exchange.fetch(online.county.ws, online.county.user)
    assert len(got.fetched) == 6 and not got.refused


def test_the_relay_holds_no_name_id_number_or_phone_in_clear(tmp_path: Path, county: County) -> None:
    relay = Relay(f"sqlite:///{tmp_path / 'relay.db'}", tmp_path / "relay-key.pem", tmp_path / "relay.log").start()
    try:
        from tests.relay.conftest import connect_all, load_devices

        load_devices(relay, county)
        connect_all(relay, county)
        for v in county.villages:
            assert exchange.upload(v.ws, v.user).uploaded == 1
        assert exchange.upload(county.county.ws, county.county.user).error is None
        assert len(exchange.fetch(county.county.ws, county.county.user).fetched) == 3
    finally:
        relay.kill()  # as a thief would find it: the WAL not yet checkpointed
    # The database, its WAL and the folder of bundle files beside it.
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.relative_to(tmp_path).parts[0].startswith("relay")]
    assert any("relay.db-bundles" in str(p) for p in files)
    stored = b"".join(p.read_bytes() for p in files)
    secrets: set[str] = set()
    for v in county.villages:
        for hh in v.ws.iter_households():
            if hh.fields.get("phone"):
                secrets.add(str(hh.fields["phone"]))
            for m in hh.members:
                secrets.update(str(m.fields[k]) for k in ("name", "id_number") if m.fields.get(k))
    assert len(secrets) > 50
    leaked = sorted(s for s in secrets if s.encode("utf-8") in stored)
    assert leaked == []


def test_a_laptop_with_no_network_keeps_working_and_loses_nothing(relay: Relay, online: County) -> None:
    v = online.villages[0]
    relay.stop()
    report = exchange.upload(v.ws, v.user, client=exchange.client_for(v.ws, retries=1, backoff=0.01))
    assert report.error is not None and "cannot reach the relay" in report.error.en
    (item,) = report.items
    assert item.state == "queued" and Path(item.file).is_file()
    from tests.factories import valid_household

    saved = v.ws.save_household(valid_household(), v.user)  # the registry works on as before
    env = dict(os.environ, POVDESK_LANG="en", POVDESK_USER="worker", POVDESK_PASSWORD=PW)
    cli = subprocess.run([sys.executable, "-m", "povdesk", "upload", str(v.ws.path)], capture_output=True, text=True,
                         env=env, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=120)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    assert cli.stderr.strip().count("\n") == 0 and "cannot reach the relay" in cli.stderr
    relay.start(same_port=True)
    again = exchange.upload(v.ws, v.user)
    assert again.error is None and [i.state for i in again.items] == ["at_relay"] * len(again.items)
    assert len(again.items) == 2  # the first bundle, and the one the command made with the new household
    got = exchange.fetch(online.county.ws, online.county.user)
    assert not got.refused and online.county.ws.load_household(saved.id).household_no == saved.household_no
